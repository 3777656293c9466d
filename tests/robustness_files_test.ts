/**
 * Bad files in the daemon's home: a truncated or garbage `addrbook.json` is moved aside and the
 * node starts (and later saves a fresh book); a garbage or unreadable `node_key.json` stops
 * start-up with one line naming the file, exit 1, and the file is left exactly as it was; a bad
 * value in `config.toml` stops start-up with one line naming the key, the value and what is
 * allowed, exit 2.
 */
import { assert, assertEquals, assertStringIncludes } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { cli, type CliRun, runCli, spawnDaemon } from "./util/daemon.ts";
import { freePort } from "./interop/cometbft.ts";
import { randomBytes } from "./util/hostile.ts";

/** How long a run that must fail to start may take before it is killed (and the test fails). */
const RUN_TIMEOUT_MS = 20_000;

/**
 * `node --home` on free loopback ports, for runs that must fail to start; a node that starts
 * anyway is stopped after {@link RUN_TIMEOUT_MS} (its exit code then fails the assertion).
 */
function runNode(home: string, ...extra: string[]): Promise<CliRun> {
  return runCli([
    "node",
    "--home",
    home,
    "--p2p.laddr",
    `tcp://127.0.0.1:${freePort()}`,
    "--rpc.laddr",
    `tcp://127.0.0.1:${freePort()}`,
    ...extra,
  ], { timeoutMs: RUN_TIMEOUT_MS });
}

async function init(home: string): Promise<void> {
  const r = await cli("init", "--home", home);
  assertEquals(r.code, 0, r.stderr);
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assertEquals(lines.length, 1, stderr);
  return lines[0];
}

const BAD_BOOKS: [string, Uint8Array][] = [
  [
    "truncated",
    new TextEncoder().encode('{"key":"0123456789abcdef01234567","addrs":[{"addr":{"id"'),
  ],
  ["garbage", randomBytes(3000)],
  ["wrong shape", new TextEncoder().encode('{"key":5,"addrs":"none"}')],
];

for (const [name, bytes] of BAD_BOOKS) {
  Deno.test(`a ${name} addrbook.json is moved aside and the node starts`, async () => {
    await withTempDir(async (dir) => {
      const home = `${dir}/home`;
      await init(home);
      const book = `${home}/config/addrbook.json`;
      await Deno.writeFile(book, bytes);
      const d = await spawnDaemon(home);
      try {
        assertEquals(await d.rpc.call("health"), {});
        const aside = [...Deno.readDirSync(`${home}/config`)].map((e) => e.name)
          .filter((n) => n.startsWith("addrbook.json.corrupt"));
        assertEquals(aside.length, 1, `moved aside: ${aside}`);
        assertEquals(await Deno.readFile(`${home}/config/${aside[0]}`), bytes, "kept as it was");
        assertStringIncludes(d.output, aside[0]);
      } finally {
        assertEquals(await d.stop("SIGTERM"), 0, d.output);
      }
      const saved = JSON.parse(await Deno.readTextFile(book));
      assertEquals(typeof saved.key, "string", "a fresh book was saved at stop");
    });
  });
}

const BAD_KEYS: [string, string | Uint8Array][] = [
  ["not JSON", "{not json"],
  ["binary garbage", randomBytes(200)],
  ["empty", ""],
  ["a wrong key type", '{"priv_key":{"type":"tendermint/PrivKeySecp256k1","value":"AAAA"}}'],
  ["a short key", '{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"AAAA"}}'],
];

for (const [name, content] of BAD_KEYS) {
  Deno.test(`node_key.json with ${name}: one line naming the file, exit 1, file untouched`, async () => {
    await withTempDir(async (dir) => {
      const home = `${dir}/home`;
      await init(home);
      const path = `${home}/config/node_key.json`;
      if (typeof content === "string") await Deno.writeTextFile(path, content);
      else await Deno.writeFile(path, content);
      await Deno.chmod(path, 0o600);
      const before = await Deno.readFile(path);
      const r = await runNode(home);
      assertEquals(r.code, 1, r.stderr);
      const line = oneLine(r.stderr);
      assertStringIncludes(line, path);
      assert(line.startsWith("error: "), line);
      assertEquals(await Deno.readFile(path), before, "the key file is untouched");
      assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
      const made = [...Deno.readDirSync(`${home}/config`)].map((e) => e.name).sort();
      assertEquals(made, ["config.toml", "node_key.json"], "nothing else written");
    });
  });
}

Deno.test("node_key.json that cannot be read: one line naming the file, exit 1", async () => {
  await withTempDir(async (dir) => {
    const home = `${dir}/home`;
    await init(home);
    const path = `${home}/config/node_key.json`;
    // A directory where the file should be (unreadable as a file even for root).
    await Deno.remove(path);
    await Deno.mkdir(path);
    const r = await runNode(home);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(oneLine(r.stderr), path);
    assert((await Deno.stat(path)).isDirectory, "left as it was");
    await Deno.remove(path);
    if (Deno.uid() !== 0) {
      // Mode 000 stops a non-root user from reading it.
      await Deno.writeTextFile(path, "{}", { mode: 0o000 });
      await Deno.chmod(path, 0o000);
      const r2 = await runNode(home);
      assertEquals(r2.code, 1, r2.stderr);
      assertStringIncludes(oneLine(r2.stderr), "cannot be read");
      assertEquals((await Deno.stat(path)).mode! & 0o777, 0o000);
    }
  });
});

const BAD_VALUES: [string, string, string][] = [
  ["[p2p]", "send_rate = -5", "p2p.send_rate"],
  ["[p2p]", 'flush_throttle_timeout = "soon"', "p2p.flush_throttle_timeout"],
  ["[p2p]", 'max_num_inbound_peers = "1.5"', "p2p.max_num_inbound_peers"],
  ["[p2p]", 'pex = "maybe"', "p2p.pex"],
  ["[rpc]", "max_body_bytes = 0", "rpc.max_body_bytes"],
  ["", 'log_format = "xml"', "log_format"],
];

Deno.test("a bad value in config.toml: one line naming key, value and what is allowed; exit 2", async () => {
  await withTempDir(async (dir) => {
    const home = `${dir}/home`;
    await init(home);
    const path = `${home}/config/config.toml`;
    const good = await Deno.readTextFile(path);
    const keyBefore = await Deno.readFile(`${home}/config/node_key.json`);
    for (const [table, line, key] of BAD_VALUES) {
      const lines = good.split("\n");
      const bare = line.split(" = ")[0];
      const start = table === "" ? 0 : lines.indexOf(table) + 1;
      assert(table === "" || start > 0, `${table} in the default config`);
      const at = lines.findIndex((l, i) => i >= start && l.startsWith(`${bare} = `));
      assert(at >= 0, `${key} in the default config`);
      lines[at] = line;
      const text = lines.join("\n");
      await Deno.writeTextFile(path, text);
      const r = await runNode(home);
      assertEquals(r.code, 2, `${key}: ${r.stderr}`);
      const msg = oneLine(r.stderr);
      assertStringIncludes(msg, key);
      assertStringIncludes(msg, line.split(" = ")[1].replace(/^"|"$/g, ""));
      assert(/must|expected|one of|allowed/.test(msg), `says what is allowed: ${msg}`);
      assertEquals(await Deno.readTextFile(path), text, "config.toml untouched");
    }
    assertEquals(await Deno.readFile(`${home}/config/node_key.json`), keyBefore);
  });
});
