/**
 * No crash debris (issue 9 item 3): `kill -9` in the middle of address-book saves can leave
 * `addrbook.json.tmp-*` files (the atomic write's temp file, before its rename); the next start
 * removes them. A child process (tests/util/addrbook_saver.ts) re-saves a ~3,000-address book in
 * a loop through the node's own save path and is killed at a random moment, {@link KILLS} times;
 * then the daemon starts once on that home, and afterwards `config/` holds exactly
 * `addrbook.json` (loadable, every address still there), `config.toml` and `node_key.json`.
 * Bounded: each child waits at most 20 s for its kill.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { cli, ROOT, spawnDaemon } from "./util/daemon.ts";
import { AddrBook } from "../p2p/pex/addrbook.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { NodeKey } from "../p2p/key.ts";
import { loadAddrBookFile } from "../p2p/pex/addrbook_file.ts";
import { nopLogger } from "../libs/log.ts";
import { isTempFileOf } from "../libs/tempfile.ts";

/** How many times the saver is killed. */
const KILLS = 100;
const BOOK_SIZE = 3_000;
const SAVER = `${ROOT}tests/util/addrbook_saver.ts`;

async function writeBook(path: string): Promise<number> {
  const book = new AddrBook({ filePath: path, routabilityStrict: false });
  const id = NodeKey.generate().id; // one ID for all: only the bytes' size matters here
  for (let i = 0; i < BOOK_SIZE; i++) {
    const addr = NetAddress.fromIPPort(`127.${i & 0xff}.${(i >> 8) & 0xff}.1`, 9, id);
    book.addAddress(addr, addr);
  }
  await book.save();
  return book.size();
}

/** Starts the saver, waits until it is saving, lets it run 0-40 ms, and kills it (-9). */
async function killMidSave(path: string): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", SAVER, path],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    while (!text.includes("saving")) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
    }
    await new Promise((r) => setTimeout(r, Math.random() * 40));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited on its own (time limit) */ }
    await reader.cancel().catch(() => {});
    await child.status;
  }
}

function tempFiles(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
    isTempFileOf("addrbook.json", n)
  );
}

Deno.test(`kill -9 during ${KILLS} address-book saves: the next start leaves one loadable addrbook.json and nothing else`, async () => {
  await withTempDir(async (home) => {
    assertEquals((await cli("init", "--home", home)).code, 0);
    const dir = `${home}/config`;
    const book = `${dir}/addrbook.json`;
    const size = await writeBook(book);
    for (let i = 0; i < KILLS; i++) await killMidSave(book);
    const debris = tempFiles(dir).length;
    console.log(`after ${KILLS} kills: ${debris} temp files (the node removes them at start)`);
    assert(debris > 0, "no kill landed mid-save: nothing for the start to clean up");
    const d = await spawnDaemon(home);
    assertEquals(await d.stop(), 0);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(names, ["addrbook.json", "config.toml", "node_key.json"]);
    const snap = await loadAddrBookFile(book, nopLogger);
    assert(snap !== null);
    assertEquals(snap.addrs.length, size);
  });
});
