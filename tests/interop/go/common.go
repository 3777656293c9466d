package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/conn"
	"github.com/cometbft/cometbft/version"
	gogotypes "github.com/cosmos/gogoproto/types"
)

// Test-channel defaults. The receive capacity must hold an 8 MiB payload
// plus its BytesValue framing (1 tag byte + up to 5 length bytes), so we
// leave a little slack on top of 8 MiB.
const (
	defaultChannels            = "0x70:1,0x71:5,0x72:10"
	echoRecvMessageCapacity    = 8*1024*1024 + 1024
	echoSendQueueCapacity      = 100
	echoRecvBufferCapacity     = 4096
	defaultChainID             = "test-chain"
	defaultFlushThrottle       = 100 * time.Millisecond // CometBFT p2p.flush_throttle_timeout
	defaultPingInterval        = 60 * time.Second       // conn.defaultPingInterval
	defaultPongTimeout         = 45 * time.Second       // conn.defaultPongTimeout
	defaultRate                = 5120000                // CometBFT p2p.send_rate / recv_rate
	defaultMaxPacketMsgPayload = 1024                   // CometBFT p2p.max_packet_msg_payload_size
)

// event is one JSON line on stdout.
type event map[string]any

var stdoutMu sync.Mutex

// emit writes one JSON object as one line to stdout. Lines are written whole
// under a mutex so concurrent reactors never interleave output.
func emit(e event) {
	b, err := json.Marshal(e)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"event":"error","error":%q}`, err.Error()))
	}
	b = append(b, '\n')
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	_, _ = os.Stdout.Write(b)
}

// nodeFlags are shared by serve and bench: everything needed to assemble a
// switch.
type nodeFlags struct {
	laddr            string
	externalAddr     string
	chainID          string
	moniker          string
	nodeKeyFile      string
	channels         string
	allowDuplicateIP bool
	flushThrottle    time.Duration
	pingInterval     time.Duration
	pongTimeout      time.Duration
	sendRate         int64
	recvRate         int64
	maxPacketPayload int
	handshakeTimeout time.Duration
	dialTimeout      time.Duration
	logLevel         string
}

func (f *nodeFlags) register(fs *flag.FlagSet, defaultMoniker string) {
	fs.StringVar(&f.laddr, "laddr", "127.0.0.1:0", "listen address host:port (port 0 = pick a free port)")
	fs.StringVar(&f.externalAddr, "external-address", "", "address advertised in NodeInfo.listen_addr (default tcp://<laddr with actual port>)")
	fs.StringVar(&f.chainID, "chain-id", defaultChainID, "network (chain id) in NodeInfo")
	fs.StringVar(&f.moniker, "moniker", defaultMoniker, "moniker in NodeInfo")
	fs.StringVar(&f.nodeKeyFile, "node-key", "", "node_key.json path (loaded, or generated and saved if missing); empty = fresh in-memory key")
	fs.StringVar(&f.channels, "channels", defaultChannels, "echo channels as id:priority[,id:priority...]; ids decimal or 0x hex")
	fs.BoolVar(&f.allowDuplicateIP, "allow-duplicate-ip", true, "do not install the duplicate-IP connection filter")
	fs.DurationVar(&f.flushThrottle, "flush-throttle", defaultFlushThrottle, "MConnection flush throttle")
	fs.DurationVar(&f.pingInterval, "ping-interval", defaultPingInterval, "MConnection ping interval")
	fs.DurationVar(&f.pongTimeout, "pong-timeout", 0, "MConnection pong timeout (default 45s, or ping-interval/2 if that is smaller)")
	fs.Int64Var(&f.sendRate, "send-rate", defaultRate, "MConnection send rate, bytes/s")
	fs.Int64Var(&f.recvRate, "recv-rate", defaultRate, "MConnection recv rate, bytes/s")
	fs.IntVar(&f.maxPacketPayload, "max-packet-msg-payload-size", defaultMaxPacketMsgPayload, "MConnection max PacketMsg payload size")
	fs.DurationVar(&f.handshakeTimeout, "handshake-timeout", 20*time.Second, "secret-connection + NodeInfo handshake timeout")
	fs.DurationVar(&f.dialTimeout, "dial-timeout", 3*time.Second, "TCP dial timeout")
	fs.StringVar(&f.logLevel, "log-level", "info", "CometBFT log level on stderr: debug|info|error|none")
}

// channelSpec is one parsed --channels entry.
type channelSpec struct {
	id       byte
	priority int
}

func parseChannels(s string) ([]channelSpec, error) {
	var out []channelSpec
	seen := map[byte]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		idStr, prioStr, ok := strings.Cut(part, ":")
		if !ok {
			prioStr = "1"
		}
		id, err := strconv.ParseUint(strings.TrimSpace(idStr), 0, 8)
		if err != nil {
			return nil, fmt.Errorf("bad channel id %q: %w", idStr, err)
		}
		prio, err := strconv.Atoi(strings.TrimSpace(prioStr))
		if err != nil || prio < 1 {
			return nil, fmt.Errorf("bad channel priority %q", prioStr)
		}
		if seen[byte(id)] {
			return nil, fmt.Errorf("duplicate channel %#x", id)
		}
		seen[byte(id)] = true
		out = append(out, channelSpec{id: byte(id), priority: prio})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no channels in %q", s)
	}
	return out, nil
}

// echoChannelDescriptors builds the MConnection channel descriptors of the
// test channels. MessageType is BytesValue, see the wire note in main.go.
func echoChannelDescriptors(specs []channelSpec) []*conn.ChannelDescriptor {
	descs := make([]*conn.ChannelDescriptor, 0, len(specs))
	for _, s := range specs {
		descs = append(descs, &conn.ChannelDescriptor{
			ID:                  s.id,
			Priority:            s.priority,
			SendQueueCapacity:   echoSendQueueCapacity,
			RecvBufferCapacity:  echoRecvBufferCapacity,
			RecvMessageCapacity: echoRecvMessageCapacity,
			MessageType:         &gogotypes.BytesValue{},
		})
	}
	return descs
}

func (f *nodeFlags) logger() (log.Logger, error) {
	if f.logLevel == "none" {
		return log.NewNopLogger(), nil
	}
	opt, err := log.AllowLevel(f.logLevel)
	if err != nil {
		return nil, err
	}
	return log.NewFilter(log.NewTMLogger(log.NewSyncWriter(os.Stderr)), opt), nil
}

// p2pConfig maps the flags onto a CometBFT P2PConfig, as a node's config
// file would.
func (f *nodeFlags) p2pConfig() *config.P2PConfig {
	cfg := config.DefaultP2PConfig()
	cfg.ListenAddress = "tcp://" + f.laddr
	cfg.ExternalAddress = f.externalAddr
	cfg.AllowDuplicateIP = f.allowDuplicateIP
	cfg.FlushThrottleTimeout = f.flushThrottle
	cfg.SendRate = f.sendRate
	cfg.RecvRate = f.recvRate
	cfg.MaxPacketMsgPayloadSize = f.maxPacketPayload
	cfg.HandshakeTimeout = f.handshakeTimeout
	cfg.DialTimeout = f.dialTimeout
	cfg.AddrBookStrict = false
	return cfg
}

// mconnConfig is p2p.MConnConfig(cfg) plus the ping/pong settings that a
// node's config file cannot change (tests shorten them).
func (f *nodeFlags) mconnConfig(cfg *config.P2PConfig) conn.MConnConfig {
	mc := p2p.MConnConfig(cfg)
	mc.PingInterval = f.pingInterval
	pong := f.pongTimeout
	if pong == 0 {
		pong = defaultPongTimeout
		if pong >= f.pingInterval {
			pong = f.pingInterval / 2
		}
	}
	mc.PongTimeout = pong
	return mc
}

func (f *nodeFlags) loadNodeKey() (*p2p.NodeKey, error) {
	if f.nodeKeyFile == "" {
		return &p2p.NodeKey{PrivKey: ed25519.GenPrivKey()}, nil
	}
	return p2p.LoadOrGenNodeKey(f.nodeKeyFile)
}

// resolveListenAddr turns a host:0 into host:<free port>. MultiplexTransport
// keeps the address it was given rather than the bound one, and NodeInfo must
// advertise the real port, so we pick the port first. The tiny race between
// closing the probe listener and re-binding is retried by the caller.
func resolveListenAddr(laddr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(laddr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return "", 0, err
	}
	if port != 0 {
		return host, port, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", 0, err
	}
	port = ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return "", 0, err
	}
	return host, port, nil
}

// node is an assembled, not yet started, p2p stack.
type node struct {
	key       *p2p.NodeKey
	nodeInfo  p2p.DefaultNodeInfo
	transport *p2p.MultiplexTransport
	sw        *p2p.Switch
	cfg       *config.P2PConfig
	host      string
	port      int
	logger    log.Logger
}

// addr is our dialable id@host:port.
func (n *node) addr() string {
	return p2p.IDAddressString(n.key.ID(), net.JoinHostPort(n.host, strconv.Itoa(n.port)))
}

// reactorEntry is a named reactor to add to the switch.
type reactorEntry struct {
	name    string
	reactor p2p.Reactor
}

// buildNode assembles key, NodeInfo, transport (listening) and switch in the
// order node.NewNode + node.OnStart use, with the given reactors. NodeInfo
// advertises exactly the reactors' channels.
func buildNode(f *nodeFlags, reactors []reactorEntry) (*node, error) {
	logger, err := f.logger()
	if err != nil {
		return nil, err
	}
	key, err := f.loadNodeKey()
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	cfg := f.p2pConfig()
	mconf := f.mconnConfig(cfg)

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		host, port, err := resolveListenAddr(f.laddr)
		if err != nil {
			return nil, fmt.Errorf("laddr: %w", err)
		}
		hostPort := net.JoinHostPort(host, strconv.Itoa(port))
		cfg.ListenAddress = "tcp://" + hostPort

		var channels []byte
		for _, r := range reactors {
			for _, d := range r.reactor.GetChannels() {
				channels = append(channels, d.ID)
			}
		}
		listenAddr := f.externalAddr
		if listenAddr == "" {
			listenAddr = cfg.ListenAddress
		}
		ni := p2p.DefaultNodeInfo{
			ProtocolVersion: p2p.NewProtocolVersion(version.P2PProtocol, version.BlockProtocol, 0),
			DefaultNodeID:   key.ID(),
			ListenAddr:      listenAddr,
			Network:         f.chainID,
			Version:         version.TMCoreSemVer,
			Channels:        channels,
			Moniker:         f.moniker,
			Other: p2p.DefaultNodeInfoOther{
				TxIndex:    "off",
				RPCAddress: "",
			},
		}
		if err := ni.Validate(); err != nil {
			return nil, fmt.Errorf("node info: %w", err)
		}

		transport := p2p.NewMultiplexTransport(ni, *key, mconf)
		if !cfg.AllowDuplicateIP {
			p2p.MultiplexTransportConnFilters(p2p.ConnDuplicateIPFilter())(transport)
		}
		na, err := p2p.NewNetAddressString(p2p.IDAddressString(key.ID(), hostPort))
		if err != nil {
			return nil, err
		}
		if err := transport.Listen(*na); err != nil {
			lastErr = err
			continue
		}

		sw := p2p.NewSwitch(cfg, transport)
		sw.SetLogger(logger.With("module", "p2p"))
		for _, r := range reactors {
			sw.AddReactor(r.name, r.reactor)
		}
		sw.SetNodeInfo(ni)
		sw.SetNodeKey(key)
		return &node{
			key: key, nodeInfo: ni, transport: transport, sw: sw, cfg: cfg,
			host: host, port: port, logger: logger,
		}, nil
	}
	return nil, fmt.Errorf("listen: %w", lastErr)
}

// stop stops the switch (peers, reactors) and closes the listener, as
// node.OnStop does.
func (n *node) stop() {
	if n.sw.IsRunning() {
		_ = n.sw.Stop()
	}
	_ = n.transport.Close()
}

func channelsToInts(b []byte) []int {
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}
