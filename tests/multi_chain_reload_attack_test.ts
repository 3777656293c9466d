/**
 * Reload (SIGHUP) attacked as a stranger would, against a daemon subprocess running three
 * chains: SIGHUP storms while the config file is being rewritten (half-written, invalid TOML
 * mid-way), SIGHUP during start-up and during stop, a reload adding a chain whose port is taken,
 * a reload pointing a chain's node_key_file at a missing file (generated) or an unreadable one
 * (refused), and a reload that removes the default chain's settings or the whole file. Each
 * reload must apply a complete valid config or refuse it: the daemon never exits, every chain
 * it lists is running and listening, nothing leaks (fd count back to its baseline). Every loop
 * is bounded in count.
 */
import { assert, assertEquals, assertRejects } from "./util/assert.ts";
import { ConfigError, loadConfig } from "../config/mod.ts";
import { loadForReload } from "../cmd/node.ts";
import { ReloadSignal } from "../node/reload.ts";
import { createLogger } from "../libs/log.ts";
import { withTempDir } from "./util/temp_dir.ts";
import {
  type Daemon,
  fdCount,
  launchDaemon,
  spawnDaemon,
  START_TIMEOUT_MS,
  waitFor,
} from "./util/daemon.ts";
import { multiChainConfig, type TestChain, writeConfig } from "./util/multi_chain.ts";
import { rawConnect } from "./util/hostile.ts";

const ALPHA: TestChain = { name: "default", chainId: "alpha-1" };
const BETA: TestChain = { name: "beta", chainId: "beta-1" };
const GAMMA: TestChain = { name: "gamma", chainId: "gamma-1" };
const DELTA: TestChain = { name: "delta", chainId: "delta-1" };
const LOG_FLAGS = ["--log_level", "main:debug,*:info", "--log_format", "json"];
/** Add/remove reload cycles. */
const CYCLES = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ChainEntry {
  name: string;
  chain_id: string;
  state: string;
  listen_addr: string;
  node_id: string;
}

async function chainsOf(d: Daemon): Promise<ChainEntry[]> {
  return ((await d.rpc.call("chains")) as { chains: ChainEntry[] }).chains;
}

function portOf(c: ChainEntry): number {
  return Number(new URL(c.listen_addr.replace(/^tcp:/, "http:")).port);
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
async function listening(port: number): Promise<boolean> {
  try {
    (await rawConnect(port)).close();
    return true;
  } catch {
    return false;
  }
}

/** Every listed chain is running and accepts connections; returns the names in order. */
async function allRunning(d: Daemon, when: string): Promise<string[]> {
  assert(!d.hasExited, `${when}: the daemon exited:\n${d.output.slice(-3000)}`);
  const chains = await chainsOf(d);
  for (const c of chains) {
    assertEquals(c.state, "running", `${when}: chain ${c.name} state`);
    assert(await listening(portOf(c)), `${when}: chain ${c.name} listens on ${c.listen_addr}`);
  }
  return chains.map((c) => c.name);
}

/** The daemon's resident set (VmRSS, KiB), for the report only. */
async function rssKiB(d: Daemon): Promise<number> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${d.child.pid}/status`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const m = /VmRSS:\s+(\d+)/.exec(new TextDecoder().decode(out.stdout));
  return m ? Number(m[1]) : NaN;
}

function logLines(d: Daemon): string[] {
  return d.stdoutLines().filter((l) => l.startsWith("{"));
}

/** Log lines containing every one of `parts`. */
function linesWith(d: Daemon, ...parts: string[]): string[] {
  return logLines(d).filter((l) => parts.every((p) => l.includes(p)));
}

/** Sends SIGHUP and waits (bounded) until the daemon logged one more reload outcome. */
async function hup(d: Daemon): Promise<void> {
  const before = outcomes(d);
  d.child.kill("SIGHUP");
  await waitFor("the reload's outcome", () => outcomes(d) > before || undefined);
}

/** Reload outcomes logged so far (applied or refused). */
function outcomes(d: Daemon): number {
  return linesWith(d, "Config reloaded").length + linesWith(d, "Config reload refused").length;
}

/** The daemon settles: no reload outcome for a while after the last one (bounded). */
async function settle(d: Daemon): Promise<void> {
  let last = -1;
  await waitFor("reloads to settle", async () => {
    const n = outcomes(d);
    if (n === last) return true;
    last = n;
    await sleep(700);
    return undefined;
  }, 30_000);
}

/** Writes `text` the way a non-atomic editor does: truncate, first part, pause, the rest. */
async function writeSlowly(path: string, text: string, cut: number, pauseMs: number) {
  const f = await Deno.open(path, { write: true, truncate: true, create: true });
  try {
    const bytes = new TextEncoder().encode(text);
    await f.write(bytes.subarray(0, cut));
    await sleep(pauseMs);
    let at = cut;
    while (at < bytes.length) at += await f.write(bytes.subarray(at));
  } finally {
    f.close();
  }
}

const FLAGS = LOG_FLAGS;

Deno.test("reload attacks: storms on a half-written file, a taken port, key files, removed settings", async (t) => {
  await withTempDir(async (home) => {
    const path = await writeConfig(home, multiChainConfig([ALPHA, BETA, GAMMA]));
    const d = await spawnDaemon(home, { flags: FLAGS });
    try {
      // RPC answers before the chains start: wait for the last one.
      await d.waitForLine(/"Node started".*"chain":"gamma"/);
      assertEquals(await allRunning(d, "start"), ["default", "beta", "gamma"]);
      await sleep(300);
      const baselineFds = await fdCount(d);
      const fdsBack = (what: string) =>
        waitFor(`${what}: fds back to ${baselineFds}`, async () => {
          const n = await fdCount(d);
          return n <= baselineFds ? n : undefined;
        }, 20_000);

      await t.step("20 SIGHUPs while the file is rewritten half-way, invalid mid-way", async () => {
        const valid = [
          multiChainConfig([ALPHA, BETA, GAMMA]),
          multiChainConfig([ALPHA, BETA, GAMMA, DELTA]),
          multiChainConfig([ALPHA, GAMMA]),
        ];
        const applied0 = linesWith(d, "Config reloaded").length;
        const refused0 = linesWith(d, "Config reload refused").length;
        for (let i = 0; i < 20; i++) {
          const text = valid[i % valid.length];
          const writing = i % 4 === 3
            ? Deno.writeTextFile(path, text.replace("[chains", "[chains.=broken\n[chains"))
            : writeSlowly(path, text, Math.floor(text.length * ((i * 7) % 10) / 10), 30);
          await sleep(i % 3 === 0 ? 0 : 10);
          d.child.kill("SIGHUP");
          await writing;
          if (i % 5 === 0) await allRunning(d, `storm ${i}`);
        }
        await Deno.writeTextFile(path, valid[0]);
        await hup(d);
        await settle(d);
        const applied = linesWith(d, "Config reloaded").length - applied0;
        const refused = linesWith(d, "Config reload refused").length - refused0;
        console.log(`21 SIGHUPs in the storm: ${applied} reloads applied, ${refused} refused`);
        assertEquals(await allRunning(d, "after the storm"), ["default", "beta", "gamma"]);
        assertEquals(linesWith(d, "Chain failed to start"), [], "no chain failed to start");
        assert(linesWith(d, "Config reload refused").length > 0, "the broken file was refused");
        await fdsBack("after the storm");
        // 20 back to back on an unchanged file: coalesced, nothing restarts.
        const ids = (await chainsOf(d)).map((c) => c.node_id);
        const n0 = outcomes(d);
        for (let i = 0; i < 20; i++) d.child.kill("SIGHUP");
        await waitFor("a reload after the burst", () => outcomes(d) > n0 || undefined);
        await settle(d);
        console.log(`20 back-to-back SIGHUPs: ${outcomes(d) - n0} reloads`);
        assertEquals((await chainsOf(d)).map((c) => c.node_id), ids, "no chain restarted");
        assertEquals(linesWith(d, "Config reload refused").length - refused0, refused);
      });

      await t.step("a chain added on a taken port fails alone; freed, it starts", async () => {
        const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = (taken.addr as Deno.NetAddr).port;
        const onTaken = { ...DELTA, laddr: `tcp://127.0.0.1:${port}` };
        try {
          await Deno.writeTextFile(path, multiChainConfig([ALPHA, BETA, GAMMA, onTaken]));
          await hup(d);
          await waitFor(
            "delta's failure logged",
            () => linesWith(d, "Chain failed to start on reload", "delta").length > 0 || undefined,
          );
          assertEquals(await allRunning(d, "taken port"), ["default", "beta", "gamma"]);
          await fdsBack("after the failed start");
        } finally {
          taken.close();
        }
        await hup(d); // the same config again: delta is retried
        assertEquals(await allRunning(d, "port freed"), ["default", "beta", "gamma", "delta"]);
        await Deno.writeTextFile(path, multiChainConfig([ALPHA, BETA, GAMMA]));
        await hup(d);
        assertEquals(await allRunning(d, "delta removed"), ["default", "beta", "gamma"]);
        await fdsBack("after delta left");
      });

      await t.step(
        "a changed chain whose new port is taken goes on with its old config",
        async () => {
          const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
          const port = (taken.addr as Deno.NetAddr).port;
          try {
            const failed = linesWith(d, "Chain failed to start on reload", "beta").length;
            const moved = { ...BETA, laddr: `tcp://127.0.0.1:${port}` };
            await Deno.writeTextFile(path, multiChainConfig([ALPHA, moved, GAMMA]));
            await hup(d);
            assertEquals(
              linesWith(d, "Chain failed to start on reload", "beta").length,
              failed + 1,
              "beta's failure logged",
            );
            assertEquals(await allRunning(d, "beta's port taken"), ["default", "beta", "gamma"]);
            const beta = (await chainsOf(d)).find((c) => c.name === "beta")!;
            assert(portOf(beta) !== port, "beta listens elsewhere, with its previous config");
            assert(
              linesWith(d, "Config reloaded", '"restored":"beta"').length > 0,
              "restored=beta",
            );
          } finally {
            taken.close();
          }
          await Deno.writeTextFile(path, multiChainConfig([ALPHA, BETA, GAMMA]));
          await hup(d);
          assertEquals(await allRunning(d, "beta back"), ["default", "beta", "gamma"]);
          await fdsBack("after beta's failed move");
        },
      );

      await t.step(`${CYCLES} add/remove cycles by SIGHUP leak no descriptor`, async () => {
        const rss0 = await rssKiB(d);
        for (let i = 0; i < CYCLES; i++) {
          const extra = { name: `e${i}`, chainId: `e-${i}` };
          await Deno.writeTextFile(path, multiChainConfig([ALPHA, BETA, GAMMA, extra]));
          await hup(d);
          assertEquals((await allRunning(d, `cycle ${i}`)).at(-1), extra.name);
          await Deno.writeTextFile(path, multiChainConfig([ALPHA, BETA, GAMMA]));
          await hup(d);
        }
        assertEquals(await allRunning(d, "after the cycles"), ["default", "beta", "gamma"]);
        const fds = await fdsBack(`after ${CYCLES} cycles`);
        console.log(
          `${CYCLES} add/remove cycles: fds ${fds} (baseline ${baselineFds}), ` +
            `RSS ${rss0} -> ${await rssKiB(d)} KiB`,
        );
      });

      await t.step(
        "node_key_file: a missing file is generated, an unreadable one refused",
        async () => {
          const betaId = () => chainsOf(d).then((cs) => cs.find((c) => c.name === "beta")!.node_id);
          const before = await betaId();
          const withKey = (file: string) =>
            multiChainConfig([ALPHA, { ...BETA, top: [`node_key_file = "${file}"`] }, GAMMA]);
          await Deno.writeTextFile(path, withKey(`${home}/config/beta_new_key.json`));
          await hup(d);
          const generated = await betaId();
          assert(generated !== before, "beta restarted with a new key");
          const key = JSON.parse(await Deno.readTextFile(`${home}/config/beta_new_key.json`));
          assertEquals(key.priv_key.type, "tendermint/PrivKeyEd25519");
          for (const bad of ["dir_key", "garbage_key.json"]) {
            if (bad === "dir_key") await Deno.mkdir(`${home}/config/${bad}`);
            else await Deno.writeTextFile(`${home}/config/${bad}`, "{ not a key");
            const refused = linesWith(d, "Config reload refused").length;
            await Deno.writeTextFile(path, withKey(`${home}/config/${bad}`));
            await hup(d);
            assertEquals(
              linesWith(d, "Config reload refused").length,
              refused + 1,
              `${bad} refused`,
            );
            const why = linesWith(d, "Config reload refused").at(-1)!;
            assert(why.includes(bad) && why.includes("beta"), `the reason names the file: ${why}`);
            assertEquals(await betaId(), generated, `${bad}: beta untouched`);
            await allRunning(d, bad);
          }
        },
      );

      await t.step(
        "removing the default chain's settings or the whole file is refused",
        async () => {
          const ids = async () => (await chainsOf(d)).map((c) => c.node_id).join(",");
          const running = await ids();
          const full = multiChainConfig([ALPHA, BETA, GAMMA]);
          const variants: [string, () => Promise<void>][] = [
            ["no chain_id", () => Deno.writeTextFile(path, full.replace(/^chain_id = .*\n/, ""))],
            ["empty file", () => Deno.writeTextFile(path, "")],
            ["no file", () => Deno.remove(path)],
          ];
          for (const [what, write] of variants) {
            const refused = linesWith(d, "Config reload refused").length;
            await write();
            await hup(d);
            assertEquals(
              linesWith(d, "Config reload refused").length,
              refused + 1,
              `${what} refused`,
            );
            assertEquals(await ids(), running, `${what}: every chain untouched`);
            assertEquals(await allRunning(d, what), ["default", "beta", "gamma"]);
          }
          await Deno.writeTextFile(path, full);
        },
      );
      assertEquals(await d.stop(), 0);
    } finally {
      await d.stop();
    }
  }, "sy_reload_attack_");
});

/** Extra chains of the start-up case: enough that building and starting them takes a while. */
const MANY = 40;

Deno.test("SIGHUP during start-up and during stop neither kills nor wedges the daemon", async () => {
  await withTempDir(async (home) => {
    const extra = Array.from({ length: MANY }, (_, i) => ({ name: `c${i}`, chainId: `c-${i}` }));
    await writeConfig(home, multiChainConfig([ALPHA, ...extra]));
    const d = launchDaemon(home, { flags: FLAGS });
    try {
      // From the first output (our code runs) until every chain has started: a SIGHUP every
      // 5 ms.
      for (let i = 0; i < START_TIMEOUT_MS / 5 && d.output.length === 0; i++) await sleep(5);
      assert(d.output.length > 0, "the daemon printed something");
      const started = () => d.stdoutLines().some((l) => l.includes("Node started"));
      let sent = 0;
      for (; sent < 1_000 && !started(); sent++) {
        assert(!d.hasExited, `the daemon exited during start-up:\n${d.output.slice(-3000)}`);
        d.child.kill("SIGHUP");
        await sleep(5);
      }
      assert(sent > 0 && started(), `${sent} SIGHUPs during start-up, then started`);
      console.log(`SIGHUPs during start-up: ${sent}`);
      await waitFor(
        "the reload held back until start-up ended",
        () =>
          d.stdoutLines().some((l) => l.includes("Signal received during start-up")) || undefined,
      );
      await settle(d);
      assertEquals(await allRunning(d, "after start-up"), ["default", ...extra.map((c) => c.name)]);

      // SIGTERM, then SIGHUPs until the process is gone: it stops cleanly (exit 0).
      d.child.kill("SIGTERM");
      for (let i = 0; i < 200 && !d.hasExited; i++) {
        try {
          d.child.kill("SIGHUP");
        } catch { /* exited meanwhile */ }
        await sleep(10);
      }
      assertEquals(await d.exited(), 0, `exit code; output:\n${d.output.slice(-3000)}`);
      const ignored = d.stdoutLines().filter((l) => l.includes("while stopping; ignored")).length;
      console.log(`SIGHUPs ignored while stopping: ${ignored}`);
      const book = await Deno.readTextFile(`${home}/config/chains/c0/addrbook.json`);
      assert(JSON.parse(book).key, "c0's book saved");
    } finally {
      await d.stop();
    }
  }, "sy_reload_hup_");
});

Deno.test("a reload reading a file that changes meanwhile, or no file, is refused", async () => {
  await withTempDir(async (home) => {
    const path = await writeConfig(home, multiChainConfig([ALPHA, BETA, GAMMA]));
    // The whole file read back when nothing changes.
    const ok = await loadForReload(() => loadConfig({ home }), path);
    assertEquals(ok.chains.map((c) => c.name), ["beta", "gamma"]);
    // An editor writes the rest of the file while the config is being read.
    const racing = async () => {
      const r = await loadConfig({ home });
      await Deno.writeTextFile(path, multiChainConfig([ALPHA, BETA, GAMMA, DELTA]));
      return r;
    };
    await assertRejects(
      () => loadForReload(racing, path),
      ConfigError,
      "changed while it was read",
    );
    await Deno.remove(path);
    await assertRejects(
      () => loadForReload(() => loadConfig({ home }), path),
      ConfigError,
      "does not exist",
    );
  }, "sy_reload_read_");
});

Deno.test("ReloadSignal: held back until armed, coalesced while a reload runs, ignored once closed", async () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", sink: (l) => lines.push(l) });
  const received = () => lines.filter((l) => l.includes("Received signal, reloading")).length;
  const sig = new ReloadSignal();
  let calls = 0;
  let gate = Promise.withResolvers<void>();
  try {
    // Before arm: remembered, one reload once armed.
    Deno.kill(Deno.pid, "SIGHUP");
    Deno.kill(Deno.pid, "SIGHUP");
    await waitFor("the signal before arm", () => sig.pending || undefined);
    sig.arm(log, async () => {
      calls++;
      await gate.promise;
    });
    await waitFor("the held-back reload", () => calls === 1 || undefined);
    assert(lines.some((l) => l.includes("Signal received during start-up")));
    // While it runs: 10 signals make exactly one more reload.
    for (let i = 0; i < 10; i++) {
      Deno.kill(Deno.pid, "SIGHUP");
      await waitFor(`signal ${i} handled`, () => received() === i + 1 || undefined);
    }
    const first = gate;
    gate = Promise.withResolvers<void>();
    first.resolve();
    await waitFor("the coalesced reload", () => calls === 2 || undefined);
    gate.resolve();
    // Closed: ignored.
    sig.close();
    Deno.kill(Deno.pid, "SIGHUP");
    await waitFor(
      "the ignored signal",
      () => lines.some((l) => l.includes("while stopping; ignored")) || undefined,
    );
    assertEquals(calls, 2);
  } finally {
    gate.resolve();
    await sig.dispose();
  }
  assertEquals(calls, 2);
});
