/**
 * Address-book benchmark: addAddress, pickAddress, getSelection and getSelectionWithBias ops/s
 * with 100,000 addresses, and save/load time of a 100,000-address book, for our book and, in
 * the same run when a Go toolchain is present, for CometBFT v0.38.25's book (the interop
 * program's `bench --mode addrbook-bench`, given the same parameters). Plain result lines, each
 * with the ratio ours/Go.
 *
 * Both books go through the same steps: N adds of distinct routable IPv4 addresses from 1000
 * sources (bucket capacity keeps 256×65 of them), MarkGood on every 10th added address, picks
 * with bias 30, selections, a save of what the adds left; then load and save of a synthetic
 * N-address file (valid bucket indices, every 10th old), the only way to get N addresses into
 * either book since loading, as in Go, does not enforce bucket sizes. The address sets differ
 * (ours deterministic, Go's seeded random), their shape does not.
 *
 * Run: deno run --allow-all bench/addrbook.ts [addresses]
 * @module
 */

import { NetAddress } from "../p2p/netaddress.ts";
import { AddrBook } from "../p2p/pex/addrbook.ts";
import { saveAddrBookFile } from "../p2p/pex/addrbook_file.ts";
import { KnownAddress } from "../p2p/pex/known_address.ts";
import { hasGo, MISSING_GO_MESSAGE, runGoBench } from "../tests/interop/go_peer.ts";
import { compareLine } from "./util/compare.ts";

const N = Number(Deno.args[0] ?? 100_000);
const SOURCES = 1000;
const PICKS = 200_000;
const SELECTIONS = 2000;
const GOOD_EVERY = 10;
const PICK_BIAS = 30;
const SELECTION_BIAS = 30;

/** One book's figures (rates in ops/s, times in ms). */
interface Figures {
  add: number;
  sizeAfterAdd: number;
  pick: number;
  selection: number;
  selectionBias: number;
  saveAfterAddMs: number;
  fileLoadMs: number;
  fileSaveMs: number;
  fileBytes: number;
  loadedSize: number;
}

function idOf(n: number): string {
  return n.toString(16).padStart(40, "0");
}

/** Distinct routable IPv4 per index (first octet 11..110 avoids private/loopback ranges). */
function addrOf(i: number): NetAddress {
  const ip = `${11 + (i % 100)}.${Math.floor(i / 100) % 256}.${Math.floor(i / 25600) % 256}.1`;
  return NetAddress.fromIPPort(ip, 26656, idOf(i + 1));
}

function rate(ops: number, ms: number): number {
  return ops / (ms / 1000);
}

async function measureOurs(dir: string): Promise<Figures> {
  // Prebuild inputs so the measurement is the book, not address parsing.
  const addrs = Array.from({ length: N }, (_, i) => addrOf(i));
  const srcs = Array.from({ length: SOURCES }, (_, i) => addrOf(N + i));

  const path = `${dir}/added.json`;
  const book = new AddrBook({ filePath: path });
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    try {
      book.addAddress(addrs[i], srcs[i % srcs.length]);
    } catch {
      // Rejections count as ops, as Go's AddAddress errors do.
    }
  }
  const add = rate(N, performance.now() - t);
  const sizeAfterAdd = book.size();
  for (let i = 0; i < N; i += GOOD_EVERY) book.markGood(addrs[i].id);
  console.log(`addrbook ours after adds: ${sizeAfterAdd} kept, new/old ${book.nNew}/${book.nOld}`);

  t = performance.now();
  let hits = 0;
  for (let i = 0; i < PICKS; i++) if (book.pickAddress(PICK_BIAS)) hits++;
  const pick = rate(PICKS, performance.now() - t);
  if (hits === 0) console.log("addrbook warning: no picks succeeded");

  t = performance.now();
  let total = 0;
  for (let i = 0; i < SELECTIONS; i++) total += book.getSelection().length;
  const selection = rate(SELECTIONS, performance.now() - t);
  console.log(`addrbook ours getSelection size: ${total / SELECTIONS} addrs`);

  t = performance.now();
  for (let i = 0; i < SELECTIONS; i++) book.getSelectionWithBias(SELECTION_BIAS);
  const selectionBias = rate(SELECTIONS, performance.now() - t);

  t = performance.now();
  await book.save();
  const saveAfterAddMs = performance.now() - t;

  const loaded = new AddrBook({ filePath: path });
  t = performance.now();
  await loaded.start();
  console.log(
    `addrbook ours load of the saved ${loaded.size()} addrs: ${
      (performance.now() - t).toFixed(1)
    } ms`,
  );
  await loaded.stop();

  const now = Date.now();
  const entries = addrs.map((a, i) =>
    i % 10 === 0
      ? new KnownAddress(a, srcs[0], { kind: "old", bucket: i % 64 }, now)
      : new KnownAddress(a, srcs[0], { kind: "new", buckets: [i % 256] }, now)
  );
  const bigPath = `${dir}/big.json`;
  await saveAddrBookFile(bigPath, { key: "0123456789abcdef01234567", addrs: entries, banned: [] });
  const fileBytes = (await Deno.stat(bigPath)).size;
  const big = new AddrBook({ filePath: bigPath });
  t = performance.now();
  await big.start();
  const fileLoadMs = performance.now() - t;
  const loadedSize = big.size();
  t = performance.now();
  await big.save();
  const fileSaveMs = performance.now() - t;
  await big.stop();
  return {
    add,
    sizeAfterAdd,
    pick,
    selection,
    selectionBias,
    saveAfterAddMs,
    fileLoadMs,
    fileSaveMs,
    fileBytes,
    loadedSize,
  };
}

async function measureGo(): Promise<Figures> {
  const r = await runGoBench([
    "--mode=addrbook-bench",
    `--ab-addrs=${N}`,
    `--ab-sources=${SOURCES}`,
    `--ab-picks=${PICKS}`,
    `--ab-selections=${SELECTIONS}`,
    `--ab-good-every=${GOOD_EVERY}`,
    `--ab-pick-bias=${PICK_BIAS}`,
    `--ab-file-addrs=${N}`,
  ]);
  const num = (k: string) => Number(r[k]);
  return {
    add: num("add_ops_per_sec"),
    sizeAfterAdd: num("book_size_after_add"),
    pick: num("pick_ops_per_sec"),
    selection: num("selection_ops_per_sec"),
    selectionBias: num("selection_bias_per_sec"),
    saveAfterAddMs: num("save_after_add_ms"),
    fileLoadMs: num("load_ms"),
    fileSaveMs: num("save_ms"),
    fileBytes: num("file_bytes"),
    loadedSize: num("loaded_size"),
  };
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "addrbook-bench-" });
  let ours: Figures;
  try {
    ours = await measureOurs(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  let go: Figures | undefined;
  if (!hasGo()) {
    console.log(`addrbook go: not measured (${MISSING_GO_MESSAGE})`);
  } else {
    try {
      go = await measureGo();
      console.log(`addrbook go after adds: ${go.sizeAfterAdd} kept`);
    } catch (err) {
      console.log(`addrbook go: not measured (${(err as Error).message.split("\n")[0]})`);
    }
  }
  const ops = (name: string, pick: (f: Figures) => number) =>
    console.log(compareLine(`addrbook ${name}`, pick(ours), go && pick(go), "ops/s", "higher"));
  const ms = (name: string, pick: (f: Figures) => number) =>
    console.log(compareLine(`addrbook ${name}`, pick(ours), go && pick(go), "ms", "lower"));
  ops(`add (${N} addresses, ${SOURCES} sources)`, (f) => f.add);
  ops(`pickAddress(${PICK_BIAS})`, (f) => f.pick);
  ops("getSelection", (f) => f.selection);
  ops(`getSelectionWithBias(${SELECTION_BIAS})`, (f) => f.selectionBias);
  ms(`save after adds (${ours.sizeAfterAdd} addrs)`, (f) => f.saveAfterAddMs);
  ms(`load ${ours.loadedSize}-address file`, (f) => f.fileLoadMs);
  ms(`save ${ours.loadedSize}-address book`, (f) => f.fileSaveMs);
  console.log(
    `addrbook ${N}-address file size: ours ${ours.fileBytes} bytes` +
      (go ? `, go ${go.fileBytes} bytes (go loaded ${go.loadedSize})` : ""),
  );
}

await main();
