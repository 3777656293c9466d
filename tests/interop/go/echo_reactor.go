package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"

	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/conn"
	gogotypes "github.com/cosmos/gogoproto/types"
)

// maxHexInEvent bounds the payload echoed verbatim in "received" events;
// larger payloads are identified by length and sha256 only.
const maxHexInEvent = 64

// echoReactor owns the test channels. On every message it (optionally)
// prints a "received" event and (optionally) sends the same payload back to
// the sender on the same channel with the blocking Peer.Send, exactly like a
// reactor that answers a request.
//
// A hook lets the bench client observe messages instead of printing them.
type echoReactor struct {
	p2p.BaseReactor

	descs      []*conn.ChannelDescriptor
	echo       bool
	quiet      bool // no "received" / "echo_failed" events
	peerEvents bool // "peer_added" / "peer_removed" events

	// onMessage, when set, is called for every received payload (bench).
	onMessage func(chID byte, payload []byte)

	received      atomic.Uint64
	receivedBytes atomic.Uint64
	echoed        atomic.Uint64
	echoFailed    atomic.Uint64
}

func newEchoReactor(descs []*conn.ChannelDescriptor, echo, quiet bool) *echoReactor {
	r := &echoReactor{descs: descs, echo: echo, quiet: quiet, peerEvents: true}
	r.BaseReactor = *p2p.NewBaseReactor("Echo", r)
	return r
}

// GetChannels implements p2p.Reactor.
func (r *echoReactor) GetChannels() []*conn.ChannelDescriptor { return r.descs }

// AddPeer implements p2p.Reactor: reports the peer and what it advertised.
func (r *echoReactor) AddPeer(peer p2p.Peer) {
	if !r.peerEvents {
		return
	}
	ev := event{
		"event":      "peer_added",
		"id":         string(peer.ID()),
		"outbound":   peer.IsOutbound(),
		"persistent": peer.IsPersistent(),
		"remote":     peer.RemoteAddr().String(),
	}
	if ni, ok := peer.NodeInfo().(p2p.DefaultNodeInfo); ok {
		ev["moniker"] = ni.Moniker
		ev["channels"] = channelsToInts(ni.Channels)
		ev["network"] = ni.Network
		ev["version"] = ni.Version
		ev["listen_addr"] = ni.ListenAddr
	}
	emit(ev)
}

// RemovePeer implements p2p.Reactor. reason is whatever the switch was given:
// an error for StopPeerForError, nil for graceful stops and shutdown.
func (r *echoReactor) RemovePeer(peer p2p.Peer, reason interface{}) {
	if !r.peerEvents {
		return
	}
	reasonStr := ""
	if reason != nil {
		reasonStr = fmt.Sprint(reason)
	}
	emit(event{"event": "peer_removed", "id": string(peer.ID()), "reason": reasonStr})
}

// Receive implements p2p.Reactor.
func (r *echoReactor) Receive(e p2p.Envelope) {
	msg, ok := e.Message.(*gogotypes.BytesValue)
	if !ok {
		r.Switch.StopPeerForError(e.Src, fmt.Errorf("echo: unexpected message type %T", e.Message))
		return
	}
	payload := msg.Value
	r.received.Add(1)
	r.receivedBytes.Add(uint64(len(payload)))
	if r.onMessage != nil {
		r.onMessage(e.ChannelID, payload)
	}
	if !r.quiet {
		sum := sha256.Sum256(payload)
		ev := event{
			"event":   "received",
			"peer":    string(e.Src.ID()),
			"channel": int(e.ChannelID),
			"len":     len(payload),
			"sha256":  hex.EncodeToString(sum[:]),
		}
		if len(payload) <= maxHexInEvent {
			ev["hex"] = hex.EncodeToString(payload)
		}
		emit(ev)
	}
	if r.echo {
		if e.Src.Send(p2p.Envelope{ChannelID: e.ChannelID, Message: &gogotypes.BytesValue{Value: payload}}) {
			r.echoed.Add(1)
		} else {
			r.echoFailed.Add(1)
			if !r.quiet {
				emit(event{"event": "echo_failed", "peer": string(e.Src.ID()), "channel": int(e.ChannelID), "len": len(payload)})
			}
		}
	}
}

func (r *echoReactor) stats() event {
	return event{
		"event":          "stats",
		"received":       r.received.Load(),
		"received_bytes": r.receivedBytes.Load(),
		"echoed":         r.echoed.Load(),
		"echo_failed":    r.echoFailed.Load(),
	}
}
