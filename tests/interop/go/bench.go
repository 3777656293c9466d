package main

import (
	"errors"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cometbft/cometbft/p2p"
	gogotypes "github.com/cosmos/gogoproto/types"
)

// benchRate effectively disables MConnection's flowrate limiter (bytes/s).
const benchRate = 1 << 40

type benchFlags struct {
	nodeFlags
	mode       string
	target     string
	channel    string
	smallSize  int
	smallCount int
	largeSize  int
	largeCount int
	rttSize    int
	rttCount   int
	warmup     int
	timeout    time.Duration
	ab         addrBookBenchFlags
}

func runBench(args []string) error {
	var f benchFlags
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	f.register(fs, "go-bench")
	// Benchmarks measure the stack, not the rate limiter.
	for _, name := range []string{"send-rate", "recv-rate"} {
		if err := fs.Set(name, strconv.Itoa(benchRate)); err != nil {
			return err
		}
		fs.Lookup(name).DefValue = strconv.Itoa(benchRate)
	}
	if err := fs.Set("log-level", "error"); err != nil {
		return err
	}
	fs.Lookup("log-level").DefValue = "error"
	fs.StringVar(&f.mode, "mode", "echo", "echo (Go client against a serve instance's echo reactor) | addrbook-bench")
	fs.StringVar(&f.target, "dial", "", "echo mode: the serve instance, id@host:port")
	fs.StringVar(&f.channel, "channel", "0x70", "echo mode: test channel to use (must be in --channels and on the target)")
	fs.IntVar(&f.smallSize, "small-size", 256, "echo mode: small message payload size, bytes")
	fs.IntVar(&f.smallCount, "small-count", 20000, "echo mode: small messages to send")
	fs.IntVar(&f.largeSize, "large-size", 1<<20, "echo mode: large message payload size, bytes")
	fs.IntVar(&f.largeCount, "large-count", 64, "echo mode: large messages to send")
	fs.IntVar(&f.rttSize, "rtt-size", 1, "echo mode: ping-pong payload size, bytes")
	fs.IntVar(&f.rttCount, "rtt-count", 200, "echo mode: ping-pong round trips")
	fs.IntVar(&f.warmup, "warmup", 100, "echo mode: small messages echoed before measuring")
	fs.DurationVar(&f.timeout, "timeout", 300*time.Second, "echo mode: give up on a phase after this long")
	f.ab.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch f.mode {
	case "echo":
		return runEchoBench(&f)
	case "addrbook-bench":
		return runAddrBookBench(&f.ab)
	default:
		return fmt.Errorf("unknown --mode %q", f.mode)
	}
}

// echoSink counts echoed messages for the current phase and signals when the
// expected number has arrived.
type echoSink struct {
	count  atomic.Int64
	bytes  atomic.Int64
	target atomic.Int64
	done   atomic.Pointer[chan struct{}]
}

func (s *echoSink) reset(target int) chan struct{} {
	ch := make(chan struct{})
	s.count.Store(0)
	s.bytes.Store(0)
	s.target.Store(int64(target))
	s.done.Store(&ch)
	return ch
}

func (s *echoSink) onMessage(_ byte, payload []byte) {
	s.bytes.Add(int64(len(payload)))
	if s.count.Add(1) == s.target.Load() {
		if ch := s.done.Load(); ch != nil {
			close(*ch)
		}
	}
}

func runEchoBench(f *benchFlags) error {
	if f.target == "" {
		return errors.New("--dial is required in echo mode")
	}
	chID64, err := strconv.ParseUint(f.channel, 0, 8)
	if err != nil {
		return fmt.Errorf("--channel: %w", err)
	}
	chID := byte(chID64)
	specs, err := parseChannels(f.channels)
	if err != nil {
		return err
	}
	// The client never echoes; it only counts what comes back.
	r := newEchoReactor(echoChannelDescriptors(specs), false, true)
	r.peerEvents = false
	sink := &echoSink{}
	r.onMessage = sink.onMessage

	n, err := buildNode(&f.nodeFlags, []reactorEntry{{"ECHO", r}})
	if err != nil {
		return err
	}
	defer n.stop()
	if err := n.sw.Start(); err != nil {
		return err
	}
	addr, err := p2p.NewNetAddressString(f.target)
	if err != nil {
		return err
	}
	if err := n.sw.DialPeerWithAddress(addr); err != nil {
		return fmt.Errorf("dial %s: %w", f.target, err)
	}
	peer := n.sw.Peers().Get(addr.ID)
	if peer == nil {
		return errors.New("peer vanished right after dial")
	}
	if ni, ok := peer.NodeInfo().(p2p.DefaultNodeInfo); !ok || !ni.HasChannel(chID) {
		return fmt.Errorf("target does not advertise channel %#x", chID)
	}

	pipelined := func(size, count int) (time.Duration, error) {
		done := sink.reset(count)
		msg := &gogotypes.BytesValue{Value: patternPayload(size)}
		sendErr := make(chan error, 1)
		start := time.Now()
		go func() {
			for i := 0; i < count; i++ {
				if !peer.Send(p2p.Envelope{ChannelID: chID, Message: msg}) {
					sendErr <- fmt.Errorf("send %d/%d of %d bytes failed", i, count, size)
					return
				}
			}
			sendErr <- nil
		}()
		timer := time.NewTimer(f.timeout)
		defer timer.Stop()
		select {
		case <-done:
		case <-timer.C:
			return 0, fmt.Errorf("timeout: %d/%d echoes of %d bytes", sink.count.Load(), count, size)
		}
		elapsed := time.Since(start)
		if err := <-sendErr; err != nil {
			return 0, err
		}
		return elapsed, nil
	}

	if f.warmup > 0 {
		if _, err := pipelined(f.smallSize, f.warmup); err != nil {
			return fmt.Errorf("warmup: %w", err)
		}
	}
	res := event{
		"mode":                        "echo",
		"method":                      "echo-pipelined: client streams N messages (blocking Send), server echoes each; time from first send to last echo received",
		"target":                      f.target,
		"channel":                     int(chID),
		"flush_throttle_ms":           float64(f.flushThrottle) / float64(time.Millisecond),
		"send_rate":                   f.sendRate,
		"recv_rate":                   f.recvRate,
		"max_packet_msg_payload_size": f.maxPacketPayload,
	}
	if f.rttCount > 0 {
		rtts, err := pingPong(peer, chID, sink, f.rttSize, f.rttCount, f.timeout)
		if err != nil {
			return fmt.Errorf("rtt: %w", err)
		}
		res["rtt_size"] = f.rttSize
		res["rtt_count"] = f.rttCount
		res["rtt_p50_ms"] = ms(percentile(rtts, 50))
		res["rtt_p99_ms"] = ms(percentile(rtts, 99))
		res["rtt_min_ms"] = ms(rtts[0])
		res["rtt_max_ms"] = ms(rtts[len(rtts)-1])
	}
	if f.smallCount > 0 {
		d, err := pipelined(f.smallSize, f.smallCount)
		if err != nil {
			return fmt.Errorf("small: %w", err)
		}
		res["small_size"] = f.smallSize
		res["small_count"] = f.smallCount
		res["small_seconds"] = d.Seconds()
		res["small_msgs_per_sec"] = float64(f.smallCount) / d.Seconds()
	}
	if f.largeCount > 0 {
		d, err := pipelined(f.largeSize, f.largeCount)
		if err != nil {
			return fmt.Errorf("large: %w", err)
		}
		total := float64(f.largeSize) * float64(f.largeCount)
		res["large_size"] = f.largeSize
		res["large_count"] = f.largeCount
		res["large_seconds"] = d.Seconds()
		res["large_mb_per_sec"] = total / 1e6 / d.Seconds()
		res["large_mib_per_sec"] = total / (1 << 20) / d.Seconds()
	}
	emit(res)
	return nil
}

// pingPong sends one message, waits for its echo, and repeats; it returns
// the sorted round-trip times.
func pingPong(peer p2p.Peer, chID byte, sink *echoSink, size, count int, timeout time.Duration) ([]time.Duration, error) {
	msg := &gogotypes.BytesValue{Value: patternPayload(size)}
	rtts := make([]time.Duration, 0, count)
	for i := 0; i < count; i++ {
		done := sink.reset(1)
		start := time.Now()
		if !peer.Send(p2p.Envelope{ChannelID: chID, Message: msg}) {
			return nil, fmt.Errorf("send %d failed", i)
		}
		timer := time.NewTimer(timeout)
		select {
		case <-done:
			timer.Stop()
		case <-timer.C:
			return nil, fmt.Errorf("no echo for ping %d", i)
		}
		rtts = append(rtts, time.Since(start))
	}
	sort.Slice(rtts, func(a, b int) bool { return rtts[a] < rtts[b] })
	return rtts, nil
}

// percentile uses the nearest-rank method on sorted samples.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
