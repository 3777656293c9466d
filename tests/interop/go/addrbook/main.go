// Command addrbook writes and reads addrbook.json files with CometBFT v0.38.25's own address book,
// for switchyard's persistence interop tests.
//
//	addrbook write <path>   build a small book (new, old, banned entries) and Save() it
//	addrbook read <path>    Start() a book from <path> and print what it holds as JSON
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sort"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/pex"
)

func addr(id byte, ip string, port uint16) *p2p.NetAddress {
	na := p2p.NewNetAddressIPPort(net.ParseIP(ip), port)
	b := make([]byte, 20)
	for i := range b {
		b[i] = id
	}
	na.ID = p2p.ID(fmt.Sprintf("%x", b))
	return na
}

func write(path string) error {
	book := pex.NewAddrBook(path, false)
	book.SetLogger(log.NewNopLogger())
	src1 := addr(0xa1, "1.2.3.4", 26656)
	src2 := addr(0xa2, "2001:4860::1", 26656)
	entries := []*p2p.NetAddress{
		addr(0x01, "8.8.8.8", 26656),
		addr(0x02, "127.0.0.1", 26657),
		addr(0x03, "9.9.9.9", 1234),
		addr(0x04, "2a00:1450:4001:81b::200e", 26656),
		addr(0x05, "10.0.0.7", 26656),
		addr(0x06, "100.64.1.1", 26656),
	}
	for i, a := range entries {
		src := src1
		if i%2 == 1 {
			src = src2
		}
		if err := book.AddAddress(a, src); err != nil {
			return err
		}
	}
	book.MarkGood(entries[0].ID)
	book.MarkGood(entries[3].ID)
	book.MarkAttempt(entries[2])
	book.MarkAttempt(entries[2])
	book.MarkBad(entries[5], time.Hour)
	book.Save()
	return nil
}

type readResult struct {
	Size  int      `json:"size"`
	Addrs []string `json:"addrs"`
	Good  []string `json:"good"`
}

func read(path string) error {
	book := pex.NewAddrBook(path, false)
	book.SetLogger(log.NewNopLogger())
	if err := book.Start(); err != nil {
		return err
	}
	res := readResult{Size: book.Size(), Addrs: []string{}, Good: []string{}}
	for _, a := range book.GetSelection() { // the whole book while it has ≤ 32 entries
		res.Addrs = append(res.Addrs, a.String())
		if book.IsGood(a) {
			res.Good = append(res.Good, a.String())
		}
	}
	sort.Strings(res.Addrs)
	sort.Strings(res.Good)
	// Stop would save the book back; keep the file as the test wrote it.
	return json.NewEncoder(os.Stdout).Encode(res)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: addrbook write|read <path>")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "write":
		err = write(os.Args[2])
	case "read":
		err = read(os.Args[2])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
