package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/pex"
	gogotypes "github.com/cosmos/gogoproto/types"
)

// maxCommandLine bounds one stdin command line (an 8 MiB payload in hex is
// 16 MiB).
const maxCommandLine = 64 << 20

// stringList is a repeatable, comma-splitting string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

type serveFlags struct {
	nodeFlags
	dial        stringList
	persistent  bool
	pex         bool
	seedMode    bool
	seeds       string
	addrBook    string
	echo        bool
	quiet       bool
	exitOnEOF   bool
	maxInbound  int
	maxOutbound int
}

func runServe(args []string) error {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f.register(fs, "go-interop")
	fs.Var(&f.dial, "dial", "peer to dial, id@host:port (repeatable or comma-separated)")
	fs.BoolVar(&f.persistent, "persistent", false, "treat --dial peers as persistent peers (redialed on failure)")
	fs.BoolVar(&f.pex, "pex", false, "add a PEX reactor with an address book (addr_book_strict=false)")
	fs.BoolVar(&f.seedMode, "seed-mode", false, "PEX seed mode (requires --pex)")
	fs.StringVar(&f.seeds, "seeds", "", "PEX seeds, comma-separated id@host:port")
	fs.StringVar(&f.addrBook, "addr-book", "", "address book file (default: a fresh temp file)")
	fs.BoolVar(&f.echo, "echo", true, "echo every test-channel message back to its sender")
	fs.BoolVar(&f.quiet, "quiet", false, "do not print received/echo_failed events (benchmarks)")
	fs.BoolVar(&f.exitOnEOF, "exit-on-eof", false, "shut down when stdin reaches EOF (parent went away)")
	fs.IntVar(&f.maxInbound, "max-inbound", 40, "max inbound peers")
	fs.IntVar(&f.maxOutbound, "max-outbound", 10, "max outbound peers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.seedMode && !f.pex {
		return errors.New("--seed-mode requires --pex")
	}
	specs, err := parseChannels(f.channels)
	if err != nil {
		return err
	}

	echo := newEchoReactor(echoChannelDescriptors(specs), f.echo, f.quiet)
	reactors := []reactorEntry{{"ECHO", echo}}

	var book pex.AddrBook
	var tmpDir string
	if f.pex {
		path := f.addrBook
		if path == "" {
			tmpDir, err = os.MkdirTemp("", "interop-peer-addrbook-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmpDir)
			path = filepath.Join(tmpDir, "addrbook.json")
		}
		book = pex.NewAddrBook(path, false)
		pexR := pex.NewReactor(book, &pex.ReactorConfig{
			Seeds:                    splitNonEmpty(f.seeds),
			SeedMode:                 f.seedMode,
			SeedDisconnectWaitPeriod: 28 * time.Hour,
		})
		reactors = append(reactors, reactorEntry{"PEX", pexR})
	}

	n, err := buildNode(&f.nodeFlags, reactors)
	if err != nil {
		return err
	}
	n.cfg.MaxNumInboundPeers = f.maxInbound
	n.cfg.MaxNumOutboundPeers = f.maxOutbound
	n.cfg.PexReactor = f.pex
	n.cfg.SeedMode = f.seedMode
	n.cfg.Seeds = f.seeds
	if book != nil {
		book.SetLogger(n.logger.With("module", "book"))
		if ours, err := p2p.NewNetAddressString(n.addr()); err == nil {
			book.AddOurAddress(ours)
		}
		n.sw.SetAddrBook(book)
		for _, r := range reactors {
			if r.name == "PEX" {
				r.reactor.SetLogger(n.logger.With("module", "pex"))
			}
		}
	}
	if len(f.dial) > 0 && f.persistent {
		if err := n.sw.AddPersistentPeers(f.dial); err != nil {
			n.stop()
			return err
		}
	}
	if err := n.sw.Start(); err != nil {
		n.stop()
		return err
	}

	emit(event{
		"event":       "ready",
		"id":          string(n.key.ID()),
		"addr":        n.addr(),
		"port":        n.port,
		"listen_addr": n.nodeInfo.ListenAddr,
		"chain_id":    n.nodeInfo.Network,
		"moniker":     n.nodeInfo.Moniker,
		"channels":    channelsToInts(n.nodeInfo.Channels),
	})

	for _, a := range f.dial {
		go dial(n, a, "")
	}

	quit := make(chan struct{}, 1)
	requestQuit := func() {
		select {
		case quit <- struct{}{}:
		default:
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		requestQuit()
	}()
	go readCommands(n, echo, f.exitOnEOF, requestQuit)

	<-quit
	n.stop()
	emit(event{"event": "stopped"})
	return nil
}

func splitNonEmpty(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// dial dials one address and reports the outcome as a "dial" event.
func dial(n *node, addrStr string, tag string) {
	ev := event{"event": "dial", "addr": addrStr}
	if tag != "" {
		ev["tag"] = tag
	}
	addr, err := p2p.NewNetAddressString(addrStr)
	if err == nil {
		err = n.sw.DialPeerWithAddress(addr)
	}
	ev["ok"] = err == nil
	if err != nil {
		ev["error"] = err.Error()
	}
	emit(ev)
}

// command is one JSON line on stdin.
type command struct {
	Cmd        string `json:"cmd"`
	Tag        string `json:"tag,omitempty"`
	Peer       string `json:"peer,omitempty"`
	Channel    int    `json:"channel,omitempty"`
	Hex        string `json:"hex,omitempty"`
	Len        int    `json:"len,omitempty"`
	Count      int    `json:"count,omitempty"`
	Try        bool   `json:"try,omitempty"`
	Addr       string `json:"addr,omitempty"`
	Persistent bool   `json:"persistent,omitempty"`
	Error      string `json:"error,omitempty"`
}

func readCommands(n *node, echo *echoReactor, exitOnEOF bool, requestQuit func()) {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64*1024), maxCommandLine)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var c command
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			emit(event{"event": "error", "error": "bad command: " + err.Error()})
			continue
		}
		if c.Cmd == "quit" {
			requestQuit()
			return
		}
		handleCommand(n, echo, &c)
	}
	if exitOnEOF {
		requestQuit()
	}
}

func withTag(ev event, tag string) event {
	if tag != "" {
		ev["tag"] = tag
	}
	return ev
}

func handleCommand(n *node, echo *echoReactor, c *command) {
	switch c.Cmd {
	case "send":
		emit(withTag(sendCommand(n, c), c.Tag))
	case "dial":
		if c.Persistent {
			if err := n.sw.AddPersistentPeers([]string{c.Addr}); err != nil {
				emit(withTag(event{"event": "dial", "addr": c.Addr, "ok": false, "error": err.Error()}, c.Tag))
				return
			}
		}
		go dial(n, c.Addr, c.Tag)
	case "stop_peer":
		p := n.sw.Peers().Get(p2p.ID(c.Peer))
		if p == nil {
			emit(withTag(event{"event": "error", "error": "no such peer " + c.Peer}, c.Tag))
			return
		}
		if c.Error != "" {
			n.sw.StopPeerForError(p, errors.New(c.Error))
		} else {
			n.sw.StopPeerGracefully(p)
		}
		emit(withTag(event{"event": "peer_stopped", "id": c.Peer}, c.Tag))
	case "peers":
		var list []event
		for _, p := range n.sw.Peers().List() {
			pe := event{"id": string(p.ID()), "outbound": p.IsOutbound(), "persistent": p.IsPersistent()}
			if ni, ok := p.NodeInfo().(p2p.DefaultNodeInfo); ok {
				pe["moniker"] = ni.Moniker
			}
			list = append(list, pe)
		}
		if list == nil {
			list = []event{}
		}
		emit(withTag(event{"event": "peers", "peers": list}, c.Tag))
	case "gc":
		// Benchmarks: the same GC treatment on both sides. runtime.GC is a plain full
		// collection (what V8's gc() is); "free" also returns memory to the OS, the analogue
		// of V8's memory-reducing GC.
		runtime.GC()
		runtime.GC()
		if c.Error == "free" {
			debug.FreeOSMemory()
		}
		emit(withTag(event{"event": "gc"}, c.Tag))
	case "stats":
		ev := echo.stats()
		out, in, dialing := n.sw.NumPeers()
		ev["outbound"], ev["inbound"], ev["dialing"] = out, in, dialing
		emit(withTag(ev, c.Tag))
	default:
		emit(withTag(event{"event": "error", "error": "unknown command " + c.Cmd}, c.Tag))
	}
}

// sendCommand sends a payload (hex, or len bytes with byte i = i mod 256)
// count times to one peer, or to every peer when "peer" is empty.
func sendCommand(n *node, c *command) event {
	var payload []byte
	if c.Hex != "" {
		b, err := hex.DecodeString(c.Hex)
		if err != nil {
			return event{"event": "error", "error": "bad hex: " + err.Error()}
		}
		payload = b
	} else {
		payload = patternPayload(c.Len)
	}
	count := c.Count
	if count <= 0 {
		count = 1
	}
	var peers []p2p.Peer
	if c.Peer != "" {
		p := n.sw.Peers().Get(p2p.ID(c.Peer))
		if p == nil {
			return event{"event": "error", "error": "no such peer " + c.Peer}
		}
		peers = []p2p.Peer{p}
	} else {
		peers = n.sw.Peers().List()
	}
	msg := &gogotypes.BytesValue{Value: payload}
	sent := 0
	for _, p := range peers {
		for i := 0; i < count; i++ {
			env := p2p.Envelope{ChannelID: byte(c.Channel), Message: msg}
			var ok bool
			if c.Try {
				ok = p.TrySend(env)
			} else {
				ok = p.Send(env)
			}
			if ok {
				sent++
			}
		}
	}
	return event{
		"event":   "sent",
		"peer":    c.Peer,
		"channel": c.Channel,
		"len":     len(payload),
		"count":   count,
		"peers":   len(peers),
		"sent":    sent,
		"ok":      len(peers) > 0 && sent == count*len(peers),
	}
}

// patternPayload returns n bytes with byte i = i mod 256 (deterministic, so
// both sides can compute the sha256 without shipping the bytes).
func patternPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}
