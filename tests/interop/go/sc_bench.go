package main

// sc-bench: Go's own SecretConnection (cometbft v0.38.25 p2p/conn, used as a library) measured
// the way bench/secret_connection.ts measures switchyard's: two processes over loopback, a
// dialer and a server.
//
//	interop-peer sc-bench --role serve --mode bulk|hs|hs-ni
//	    prints {"event":"ready","port":N}; serves until stdin closes
//	interop-peer sc-bench --role dial --mode bulk --addr 127.0.0.1:N --bytes B
//	    one connection, 1 MiB writes after an 8-byte LE total; {"event":"result","mb_per_s":X}
//	interop-peer sc-bench --role dial --mode hs --addr 127.0.0.1:N --count C --concurrency K --rounds R
//	    full handshakes; {"event":"result","per_s":[...one per round]}

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtconn "github.com/cometbft/cometbft/p2p/conn"
)

const scBenchWrite = 1 << 20

func runSCBench(args []string) error {
	fs := flag.NewFlagSet("sc-bench", flag.ContinueOnError)
	role := fs.String("role", "serve", "serve | dial")
	mode := fs.String("mode", "bulk", "bulk | hs")
	addr := fs.String("addr", "", "dial: the server, 127.0.0.1:port")
	total := fs.Int64("bytes", 256<<20, "dial bulk: payload bytes to send")
	count := fs.Int("count", 1000, "dial hs: handshakes per round")
	conc := fs.Int("concurrency", 1, "dial hs: handshakes in flight")
	rounds := fs.Int("rounds", 5, "dial hs: rounds")
	warmup := fs.Int("warmup", 200, "dial hs: handshakes before measuring")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key := ed25519.GenPrivKey()
	switch *role {
	case "serve":
		return scServe(*mode, key)
	case "dial":
		if *mode == "bulk" {
			return scDialBulk(*addr, *total, key)
		}
		return scDialHandshakes(*addr, *count, *conc, *rounds, *warmup, key)
	}
	return fmt.Errorf("unknown --role %q", *role)
}

func scServe(mode string, key ed25519.PrivKey) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	emit(event{"event": "ready", "port": ln.Addr().(*net.TCPAddr).Port})
	go func() {
		// The parent closes our stdin to stop us.
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil
		}
		go func() {
			defer c.Close()
			_ = c.(*net.TCPConn).SetNoDelay(true)
			sc, err := cmtconn.MakeSecretConnection(c, key)
			if err != nil {
				return
			}
			if mode != "bulk" {
				// Wait for the dialer to close, so its last read never sees our EOF early.
				_, _ = sc.Read(make([]byte, 1))
				return
			}
			buf := make([]byte, 256<<10)
			var got, want int64 = 0, -1
			for want < 0 || got < want {
				n, err := sc.Read(buf)
				if want < 0 && got+int64(n) >= 8 {
					want = int64(binary.LittleEndian.Uint64(buf[:8]))
				}
				got += int64(n)
				if err != nil {
					return
				}
			}
			_, _ = sc.Write([]byte{1})
		}()
	}
}

func scDialBulk(addr string, total int64, key ed25519.PrivKey) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetNoDelay(true)
	sc, err := cmtconn.MakeSecretConnection(c, key)
	if err != nil {
		return err
	}
	data := make([]byte, scBenchWrite)
	header := make([]byte, 8)
	binary.LittleEndian.PutUint64(header, uint64(total+8))
	cpu0 := cpuMs()
	t0 := time.Now()
	if _, err := sc.Write(header); err != nil {
		return err
	}
	for sent := int64(0); sent < total; sent += scBenchWrite {
		if _, err := sc.Write(data); err != nil {
			return err
		}
	}
	ack := make([]byte, 1)
	if _, err := io.ReadFull(sc, ack); err != nil {
		return err
	}
	dt := time.Since(t0).Seconds()
	emit(event{"event": "result", "mb_per_s": float64(total) / dt / 1e6, "cpu_ms": cpuMs() - cpu0})
	return nil
}

// cpuMs is this process's user + system CPU time so far, in ms.
func cpuMs() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec)*1e3 + float64(t.Usec)/1e3 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func scDialHandshakes(addr string, count, conc, rounds, warmup int, key ed25519.PrivKey) error {
	one := func() error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.(*net.TCPConn).SetNoDelay(true)
		_, err = cmtconn.MakeSecretConnection(c, key)
		return err
	}
	for i := 0; i < warmup; i++ {
		if err := one(); err != nil {
			return err
		}
	}
	rates := make([]float64, 0, rounds)
	for r := 0; r < rounds; r++ {
		var next atomic.Int64
		var firstErr error
		var mu sync.Mutex
		var wg sync.WaitGroup
		t0 := time.Now()
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(count) {
					if err := one(); err != nil {
						mu.Lock()
						firstErr = errors.Join(firstErr, err)
						mu.Unlock()
						return
					}
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
		rates = append(rates, float64(count)/time.Since(t0).Seconds())
	}
	// CPU since process start: warm-up and measured handshakes (the parent divides by both).
	emit(event{"event": "result", "per_s": rates, "cpu_ms": cpuMs()})
	return nil
}
