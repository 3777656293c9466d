/**
 * Address-book benchmark: addAddress, pickAddress, getSelection and getSelectionWithBias ops/s with
 * 100,000 addresses, and save/load time of a 100,000-address book. Plain result lines.
 *
 * Run: deno run --allow-all bench/addrbook.ts [addresses]
 */

import { NetAddress } from "../p2p/netaddress.ts";
import { AddrBook } from "../p2p/pex/addrbook.ts";
import { saveAddrBookFile } from "../p2p/pex/addrbook_file.ts";
import { KnownAddress } from "../p2p/pex/known_address.ts";

const N = Number(Deno.args[0] ?? 100_000);

function idOf(n: number): string {
  return n.toString(16).padStart(40, "0");
}

/** Distinct routable IPv4 per index (first octet 11..110 avoids private/loopback ranges). */
function addrOf(i: number): NetAddress {
  const ip = `${11 + (i % 100)}.${Math.floor(i / 100) % 256}.${Math.floor(i / 25600) % 256}.1`;
  return NetAddress.fromIPPort(ip, 26656, idOf(i + 1));
}

function line(name: string, ops: number, ms: number): void {
  console.log(
    `addrbook ${name}: ${Math.round(ops / (ms / 1000))} ops/s (${ops} ops, ${ms.toFixed(1)} ms)`,
  );
}

// Prebuild inputs so the measurement is the book, not address parsing.
const addrs = Array.from({ length: N }, (_, i) => addrOf(i));
const srcs = Array.from({ length: 1000 }, (_, i) => addrOf(N + i));

const dir = await Deno.makeTempDir();
try {
  const path = `${dir}/addrbook.json`;
  const book = new AddrBook({ filePath: path });
  let t = performance.now();
  let rejected = 0;
  for (let i = 0; i < N; i++) {
    try {
      book.addAddress(addrs[i], srcs[i % srcs.length]);
    } catch {
      rejected++;
    }
  }
  line("add", N, performance.now() - t);
  console.log(`addrbook size after ${N} adds: ${book.size()} (rejected ${rejected})`);
  // Promote 10% so picks and biased selections see both classes.
  for (let i = 0; i < N; i += 10) book.markGood(addrs[i].id);
  console.log(`addrbook new/old: ${book.nNew}/${book.nOld}`);

  const picks = 200_000;
  t = performance.now();
  let hits = 0;
  for (let i = 0; i < picks; i++) if (book.pickAddress(i % 100)) hits++;
  line("pickAddress", picks, performance.now() - t);

  const sels = 2000;
  t = performance.now();
  let total = 0;
  for (let i = 0; i < sels; i++) total += book.getSelection().length;
  line(`getSelection (${total / sels} addrs each)`, sels, performance.now() - t);

  t = performance.now();
  for (let i = 0; i < sels; i++) book.getSelectionWithBias(30);
  line("getSelectionWithBias(30)", sels, performance.now() - t);

  t = performance.now();
  await book.save();
  const saveMs = performance.now() - t;
  const bytes = (await Deno.stat(path)).size;
  console.log(`addrbook save ${book.size()} addrs: ${saveMs.toFixed(1)} ms (${bytes} bytes)`);

  const loaded = new AddrBook({ filePath: path });
  t = performance.now();
  await loaded.start();
  const loadMs = performance.now() - t;
  console.log(`addrbook load ${loaded.size()} addrs: ${loadMs.toFixed(1)} ms`);
  await loaded.stop();
  if (hits === 0) console.log("addrbook warning: no picks succeeded");

  // Bucket capacity caps a live book at 256×65 + 64×65 entries, so the N-address file for the
  // save/load figures is synthetic (valid bucket indices, capacity ignored, as Go's loader does).
  const now = Date.now();
  const entries = addrs.map((a, i) =>
    i % 5 === 0
      ? new KnownAddress(a, srcs[i % srcs.length], { kind: "old", bucket: i % 64 }, now)
      : new KnownAddress(a, srcs[i % srcs.length], { kind: "new", buckets: [i % 256] }, now)
  );
  const bigPath = `${dir}/big.json`;
  await saveAddrBookFile(bigPath, { key: "0123456789abcdef01234567", addrs: entries, banned: [] });
  const big = new AddrBook({ filePath: bigPath });
  t = performance.now();
  await big.start();
  const bigLoadMs = performance.now() - t;
  console.log(`addrbook load ${big.size()} addrs (synthetic file): ${bigLoadMs.toFixed(1)} ms`);
  t = performance.now();
  await big.save();
  const bigSaveMs = performance.now() - t;
  const bigBytes = (await Deno.stat(bigPath)).size;
  console.log(
    `addrbook save ${big.size()} addrs (synthetic file): ${
      bigSaveMs.toFixed(1)
    } ms (${bigBytes} bytes)`,
  );
  await big.stop();
} finally {
  await Deno.remove(dir, { recursive: true });
}
