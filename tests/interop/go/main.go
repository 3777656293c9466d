// Command interop-peer is the Go side of switchyard's interop tests and
// benchmarks. It assembles a real CometBFT v0.38.25 p2p stack (NodeKey,
// DefaultNodeInfo, MultiplexTransport, Switch, optional PEX) the way a node
// does, and adds an ECHO reactor on configurable test channels.
//
// Subcommands:
//
//	interop-peer serve [flags]   run a node; JSON-lines events on stdout,
//	                             JSON-lines commands on stdin
//	interop-peer bench [flags]   Go↔Go benchmark client (--mode echo|addrbook-bench)
//
// Every line written to stdout is one JSON object. Logs go to stderr.
//
// Echo channel wire encoding (what a TypeScript peer must send/expect): each
// message on a test channel is a protobuf google.protobuf.BytesValue
// (gogoproto types.BytesValue), i.e. field 1, wire type 2:
//
//	0x0a <uvarint(len(payload))> <payload bytes>
//
// An empty payload encodes as a zero-length message (proto3 omits the empty
// field). That message is then carried by MConnection like any other: split
// into PacketMsg frames of at most --max-packet-msg-payload-size bytes.
package main

import (
	"fmt"
	"os"
)

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  interop-peer serve [flags]    run an echo node (see: interop-peer serve -h)
  interop-peer bench [flags]    benchmark client (see: interop-peer bench -h)
  interop-peer sc-bench [flags] Go SecretConnection bulk/handshake bench (see: sc_bench.go)`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = runServe(os.Args[2:])
	case "bench":
		err = runBench(os.Args[2:])
	case "sc-bench":
		err = runSCBench(os.Args[2:])
	case "-h", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown subcommand %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		emit(event{"event": "error", "error": err.Error()})
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
