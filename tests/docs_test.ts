/**
 * The docs hold: no inline code span broken across lines, every subcommand in daemon.md's table,
 * and every `curl` line of README.md and docs/*.md runs against a daemon (with the test's ports:
 * 127.0.0.1:26657 → its RPC, 127.0.0.1:26660 → its metrics, 127.0.0.1:26656 → a closed loopback
 * port, `<id>` → a node ID) and gets an answer that is not an error.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { ROOT, runCli, spawnDaemon } from "./util/daemon.ts";
import { freePort } from "./interop/cometbft.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { COMMANDS } from "../main.ts";

async function docs(): Promise<{ path: string; text: string }[]> {
  const out = [{ path: "README.md", text: await Deno.readTextFile(`${ROOT}README.md`) }];
  for await (const e of Deno.readDir(`${ROOT}docs`)) {
    if (e.isFile && e.name.endsWith(".md")) {
      out.push({ path: `docs/${e.name}`, text: await Deno.readTextFile(`${ROOT}docs/${e.name}`) });
    }
  }
  return out;
}

/** Lines outside fenced code blocks, with their line numbers. */
function proseLines(text: string): [number, string][] {
  let fenced = false;
  const out: [number, string][] = [];
  text.split("\n").forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) out.push([i + 1, line]);
  });
  return out;
}

/** `curl` command lines inside fenced blocks. */
function curlLines(text: string): string[] {
  let fenced = false;
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (fenced && /^curl\s/.test(line.trim())) out.push(line.trim());
  }
  return out;
}

Deno.test("docs: no inline code span is broken across lines", async () => {
  const broken: string[] = [];
  for (const { path, text } of await docs()) {
    for (const [n, line] of proseLines(text)) {
      const ticks = line.replace(/\\`/g, "").match(/`+/g) ?? [];
      if (ticks.length % 2 !== 0) broken.push(`${path}:${n}: ${line}`);
    }
  }
  assertEquals(broken, []);
});

Deno.test("docs: daemon.md's command table names every subcommand and alias", async () => {
  const text = await Deno.readTextFile(`${ROOT}docs/daemon.md`);
  const rows = text.split("\n").filter((l) => l.startsWith("| `"));
  for (const c of COMMANDS) {
    for (const name of [c.name, ...(c.aliases ?? [])]) {
      assert(rows.some((r) => r.includes(`\`${name}`)), `${name} missing from the table`);
    }
  }
});

Deno.test("docs: every curl example runs against a daemon", async () => {
  const lines = (await docs()).flatMap((d) => curlLines(d.text).map((l) => ({ doc: d.path, l })));
  assert(lines.length >= 5, `only ${lines.length} curl lines found`);
  const hasJq = (await new Deno.Command("bash", { args: ["-c", "command -v jq"] }).output())
    .success;
  await withTempDir(async (dir) => {
    const metricsPort = freePort();
    // The docs' examples need a seed with a crawl schedule (`peers`) and an extra chain named
    // `osmosis` (the multi-chain examples).
    const home = `${dir}/home`;
    assertEquals((await runCli(["init", "--home", home])).code, 0);
    await Deno.writeTextFile(
      `${home}/config/config.toml`,
      `\n[chains.osmosis]\nchain_id = "osmosis-1"\n[chains.osmosis.p2p]\n` +
        `laddr = "tcp://127.0.0.1:${freePort()}"\n`,
      { append: true },
    );
    const d = await spawnDaemon(home, {
      flags: ["--rpc.unsafe", "--p2p.seed_mode", "--p2p.seed.crawl_interval=30s"],
      prometheusPort: metricsPort,
    });
    try {
      for (const { doc, l } of lines) {
        let cmd = l.replaceAll("127.0.0.1:26657", `127.0.0.1:${d.rpcPort}`)
          .replaceAll("127.0.0.1:26660", `127.0.0.1:${metricsPort}`)
          .replaceAll("127.0.0.1:26656", `127.0.0.1:${freePort()}`)
          .replaceAll("<id>", "a".repeat(40));
        // Without jq, run the curl part alone (still checked for an answer).
        if (!hasJq) cmd = cmd.replace(/\s*\|\s*jq\b.*$/, "");
        const r = await new Deno.Command("bash", {
          args: [
            "-o",
            "pipefail",
            "-c",
            cmd,
          ],
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(30_000),
        }).output();
        const out = new TextDecoder().decode(r.stdout).trim();
        const where = `${doc}: ${l}\n${out}\n${new TextDecoder().decode(r.stderr)}`;
        assertEquals(r.code, 0, where);
        // `jq -r .field` of an empty string prints nothing (e.g. `peers` before a first crawl):
        // jq's exit 0 has checked the field is there.
        if (!/\|\s*jq -r\b/.test(cmd)) assert(out !== "", where);
        assert(!out.includes("404 page not found"), where);
        if (out.startsWith("{")) assert(!("error" in JSON.parse(out)), where);
      }
    } finally {
      assertEquals(await d.stop("SIGTERM"), 0, d.output);
    }
  }, "sy_docs_");
});
