package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	mrand "math/rand"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/pex"
)

// Bucket counts of CometBFT's address book (pex/params.go), used to give the
// synthetic save/load file valid bucket indices.
const (
	abNewBucketCount = 256
	abOldBucketCount = 64
)

type addrBookBenchFlags struct {
	addrs      int
	sources    int
	picks      int
	selections int
	fileAddrs  int
	goodEvery  int
	pickBias   int
	dir        string
}

func (f *addrBookBenchFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.addrs, "ab-addrs", 100000, "addrbook-bench: distinct addresses to AddAddress")
	fs.IntVar(&f.sources, "ab-sources", 1000, "addrbook-bench: distinct source addresses")
	fs.IntVar(&f.picks, "ab-picks", 100000, "addrbook-bench: PickAddress calls")
	fs.IntVar(&f.selections, "ab-selections", 1000, "addrbook-bench: GetSelection and GetSelectionWithBias calls (each)")
	fs.IntVar(&f.fileAddrs, "ab-file-addrs", 100000, "addrbook-bench: addresses in the synthetic book for save/load")
	fs.IntVar(&f.goodEvery, "ab-good-every", 0, "addrbook-bench: after the adds, MarkGood every n-th added address (0 = none), so picks and selections see old addresses too")
	fs.IntVar(&f.pickBias, "ab-pick-bias", 30, "addrbook-bench: PickAddress bias towards new addresses (0..100)")
	fs.StringVar(&f.dir, "ab-dir", "", "addrbook-bench: directory for book files (default: temp dir, removed)")
}

// randomRoutable returns a random routable IPv4 address with a random ID.
func randomRoutable(rng *mrand.Rand) *p2p.NetAddress {
	for {
		id := make([]byte, 20)
		_, _ = rand.Read(id)
		ip := net.IPv4(byte(1+rng.Intn(222)), byte(rng.Intn(256)), byte(rng.Intn(256)), byte(1+rng.Intn(254)))
		a := p2p.NewNetAddressIPPort(ip, uint16(1024+rng.Intn(60000)))
		a.ID = p2p.ID(hex.EncodeToString(id))
		if a.Routable() && a.Valid() == nil {
			return a
		}
	}
}

func opsPerSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// runAddrBookBench times Go's pex.AddrBook. Adds go through the real
// bucket logic, so the book ends up holding only what its 256 new buckets of
// 64 can keep; save/load uses a synthetic file of --ab-file-addrs entries
// (loadFromFile does not enforce bucket sizes), which is the only way to get
// a 100,000-address book into Go's implementation.
func runAddrBookBench(f *addrBookBenchFlags) error {
	dir := f.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "interop-addrbook-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	rng := mrand.New(mrand.NewSource(1))
	addrs := make([]*p2p.NetAddress, f.addrs)
	for i := range addrs {
		addrs[i] = randomRoutable(rng)
	}
	srcs := make([]*p2p.NetAddress, f.sources)
	for i := range srcs {
		srcs[i] = randomRoutable(rng)
	}

	book := pex.NewAddrBook(filepath.Join(dir, "added.json"), false)
	if err := book.Start(); err != nil {
		return err
	}
	start := time.Now()
	for i, a := range addrs {
		_ = book.AddAddress(a, srcs[i%len(srcs)])
	}
	addDur := time.Since(start)
	sizeAfterAdd := book.Size()
	if f.goodEvery > 0 {
		for i := 0; i < len(addrs); i += f.goodEvery {
			book.MarkGood(addrs[i].ID)
		}
	}

	start = time.Now()
	for i := 0; i < f.picks; i++ {
		book.PickAddress(f.pickBias)
	}
	pickDur := time.Since(start)

	start = time.Now()
	for i := 0; i < f.selections; i++ {
		book.GetSelection()
	}
	selDur := time.Since(start)

	start = time.Now()
	for i := 0; i < f.selections; i++ {
		book.GetSelectionWithBias(30)
	}
	selBiasDur := time.Since(start)

	start = time.Now()
	book.Save()
	saveAddedDur := time.Since(start)
	stopBook(book)

	// Synthetic large book for save/load.
	bigPath := filepath.Join(dir, "big.json")
	fileBytes, err := writeSyntheticBook(bigPath, f.fileAddrs, rng)
	if err != nil {
		return err
	}
	big := pex.NewAddrBook(bigPath, false)
	start = time.Now()
	if err := big.Start(); err != nil { // OnStart = loadFromFile
		return err
	}
	loadDur := time.Since(start)
	loadedSize := big.Size()
	start = time.Now()
	big.Save()
	saveDur := time.Since(start)
	stopBook(big)

	emit(event{
		"mode":                     "addrbook-bench",
		"addrs":                    f.addrs,
		"sources":                  f.sources,
		"add_ops_per_sec":          opsPerSec(f.addrs, addDur),
		"book_size_after_add":      sizeAfterAdd,
		"good_every":               f.goodEvery,
		"pick_bias":                f.pickBias,
		"pick_ops_per_sec":         opsPerSec(f.picks, pickDur),
		"selection_ops_per_sec":    opsPerSec(f.selections, selDur),
		"selection_bias_per_sec":   opsPerSec(f.selections, selBiasDur),
		"save_after_add_ms":        ms(saveAddedDur),
		"file_addrs":               f.fileAddrs,
		"file_bytes":               fileBytes,
		"loaded_size":              loadedSize,
		"load_ms":                  ms(loadDur),
		"save_ms":                  ms(saveDur),
		"note_book_size_after_add": "Go's book caps new addresses at 256 buckets x 64",
	})
	return nil
}

// syntheticKnownAddress mirrors the JSON shape of pex's knownAddress (its
// addrbook.json schema): addr, src, buckets, attempts, bucket_type,
// last_attempt, last_success, last_ban_time.
type syntheticKnownAddress struct {
	Addr        *p2p.NetAddress `json:"addr"`
	Src         *p2p.NetAddress `json:"src"`
	Buckets     []int           `json:"buckets"`
	Attempts    int32           `json:"attempts"`
	BucketType  byte            `json:"bucket_type"`
	LastAttempt time.Time       `json:"last_attempt"`
	LastSuccess time.Time       `json:"last_success"`
	LastBanTime time.Time       `json:"last_ban_time"`
}

// writeSyntheticBook writes an addrbook.json with n entries: every 10th is
// "old" (one old bucket), the rest "new" (one new bucket). Bucket indices are
// spread round-robin; they are valid but not the keyed-hash placement.
func writeSyntheticBook(path string, n int, rng *mrand.Rand) (int, error) {
	key := make([]byte, 12)
	_, _ = rand.Read(key)
	now := time.Now().UTC()
	entries := make([]syntheticKnownAddress, n)
	src := randomRoutable(rng)
	for i := range entries {
		e := syntheticKnownAddress{Addr: randomRoutable(rng), Src: src, LastAttempt: now}
		if i%10 == 0 {
			e.BucketType = 0x02
			e.Buckets = []int{i % abOldBucketCount}
			e.LastSuccess = now
		} else {
			e.BucketType = 0x01
			e.Buckets = []int{i % abNewBucketCount}
		}
		entries[i] = e
	}
	b, err := json.MarshalIndent(struct {
		Key   string                  `json:"key"`
		Addrs []syntheticKnownAddress `json:"addrs"`
	}{hex.EncodeToString(key), entries}, "", "\t")
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return 0, fmt.Errorf("write synthetic book: %w", err)
	}
	return len(b), nil
}

// stopBook stops a book and waits for its save routine's final write, so the
// temp directory is not removed under it.
func stopBook(b pex.AddrBook) {
	_ = b.Stop()
	if w, ok := b.(interface{ Wait() }); ok {
		w.Wait()
	}
}
