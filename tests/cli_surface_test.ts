/**
 * The command line as a CometBFT operator types it: `start`/`run` aliases, global flags before
 * the subcommand, cometbft's flag spellings and CMT_* / CMTHOME environment, "did you mean",
 * `gen-node-key`, shell completion, and invalid TOML with line and column. Subprocesses run with
 * the cli task's permissions (`tests/util/daemon.ts`).
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./util/assert.ts";
import { childEnv, cli, CLI_PERMS, type CliRun, ROOT } from "./util/daemon.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { hoistGlobalFlags, loadConfig, parseConfigArgs, UsageError } from "../config/mod.ts";
import { NodeKey } from "../p2p/key.ts";

/** `main.ts <args>` with extra environment variables. */
async function cliEnv(env: Record<string, string>, ...args: string[]): Promise<CliRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...CLI_PERMS, "main.ts", ...args],
    cwd: ROOT,
    env: { ...childEnv(), ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("parser: hyphenated spellings, ignored cometbft flags, did you mean", () => {
  const p = parseConfigArgs([
    "--p2p.external-address",
    "127.0.0.9:26656",
    "--log-level=debug",
    "--p2p.max-num-inbound-peers",
    "7",
    "--proxy_app=kvstore",
    "--db_backend",
    "goleveldb",
  ]);
  assertEquals(p.flags, {
    "p2p.external_address": "127.0.0.9:26656",
    log_level: "debug",
    "p2p.max_num_inbound_peers": "7",
  });
  assertEquals(p.warnings.length, 2);
  assertStringIncludes(p.warnings[0], "--proxy_app ignored");
  assertThrows(() => parseConfigArgs(["--p2p.ladr", "x"]), UsageError, "did you mean --p2p.laddr?");
  assertThrows(() => parseConfigArgs(["--laddr", "x"]), UsageError, "did you mean --");
  assertThrows(() => parseConfigArgs(["--zzzzzzzz"]), UsageError, "unknown flag --zzzzzzzz");
  assertThrows(() => parseConfigArgs(["-x"]), UsageError, "unknown flag -x");
  assertThrows(() => parseConfigArgs(["--constructor"]), UsageError, "unknown flag");
  assertThrows(() => hoistGlobalFlags(["--__proto__", "start"]), UsageError, "unknown flag");
});

Deno.test("parser: config flags before the subcommand move after it", () => {
  assertEquals(hoistGlobalFlags(["--home", "/h", "start", "--moniker", "m"]), [
    "start",
    "--home",
    "/h",
    "--moniker",
    "m",
  ]);
  assertEquals(hoistGlobalFlags(["--p2p.pex", "--log_level=info", "run"]), [
    "run",
    "--p2p.pex",
    "--log_level=info",
  ]);
  assertEquals(hoistGlobalFlags(["init", "--home", "/h"]), ["init", "--home", "/h"]);
  assertThrows(() => hoistGlobalFlags(["--hom", "/h", "init"]), UsageError, "--home");
});

Deno.test("start and run are the node command; --home before the subcommand works", async () => {
  for (const name of ["start", "run"]) {
    const r = await cli(name, "--help");
    assertEquals(r.code, 0);
    assertStringIncludes(r.stdout, "Usage: switchyard start");
  }
  await withTempDir(async (dir) => {
    const home = `${dir}/h`;
    const r = await cli("--home", home, "init", "--p2p.external-address", "127.0.0.9:26656");
    assertEquals(r.code, 0, r.stderr);
    const { config } = await loadConfig({ home });
    assertEquals(config.p2p.externalAddress, "127.0.0.9:26656");
    const typo = await cli("strat");
    assertEquals(typo.code, 2);
    assertStringIncludes(typo.stderr, 'did you mean "start"?');
  }, "sy_cli_");
});

Deno.test("CMTHOME and CMT_* are read as cometbft names them; SWITCHYARD_* wins", async () => {
  await withTempDir(async (dir) => {
    const home = `${dir}/cmt`;
    const init = await cliEnv({ CMTHOME: home }, "init");
    assertEquals(init.code, 0, init.stderr);
    assertStringIncludes(init.stdout, `${home}/config/config.toml`);
    const id = (await NodeKey.load(`${home}/config/node_key.json`)).id;
    const show = await cliEnv({ CMTHOME: home }, "show-node-id");
    assertEquals(show.stdout.trim(), id);
    // status reads rpc.laddr from the config: CMT_RPC_LADDR names an address nothing serves.
    const st = await cliEnv({ CMTHOME: home, CMT_RPC_LADDR: "tcp://127.0.0.1:9" }, "status");
    assertEquals(st.code, 7, st.stderr);
    assertStringIncludes(st.stderr, "tcp://127.0.0.1:9");
    const both = await cliEnv(
      {
        CMTHOME: home,
        CMT_RPC_LADDR: "tcp://127.0.0.1:9",
        SWITCHYARD_RPC_LADDR: "tcp://127.0.0.1:7",
      },
      "status",
    );
    assertStringIncludes(both.stderr, "tcp://127.0.0.1:7");
  }, "sy_cli_");
});

Deno.test("gen-node-key writes a key and prints its ID once; refuses to replace it", async () => {
  await withTempDir(async (dir) => {
    const home = `${dir}/h`;
    const r = await cli("gen-node-key", "--home", home);
    assertEquals(r.code, 0, r.stderr);
    const key = await NodeKey.load(`${home}/config/node_key.json`);
    assertEquals(r.stdout, `${key.id}\n`);
    const again = await cli("gen_node_key", "--home", home);
    assertEquals(again.code, 1);
    assertStringIncludes(again.stderr, "already exists");
    assertEquals((await NodeKey.load(`${home}/config/node_key.json`)).id, key.id);
  }, "sy_cli_");
});

Deno.test("invalid TOML is reported with line and column", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/c.toml`, 'moniker = "a"\n[p2p]\nladdr = "tcp://x\n');
    const r = await cli("show-node-id", "--config", `${dir}/c.toml`, "--home", dir);
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, `${dir}/c.toml:3:`);
    assertStringIncludes(r.stderr, "invalid TOML at line 3, column");
  }, "sy_cli_");
});

Deno.test("completion scripts list subcommands, aliases and flags; bash completes them", async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    const r = await cli("completion", shell);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "gen-node-key");
    assertStringIncludes(r.stdout, "p2p.external-address");
  }
  assertEquals((await cli("completion", "tcsh")).code, 2);
  const script = (await cli("completion", "bash")).stdout;
  const probe = async (words: string[]) => {
    const cmd = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); ` +
      `COMP_CWORD=${words.length - 1}; _switchyard; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = await new Deno.Command("bash", { args: ["-c", cmd], stdout: "piped" }).output();
    return new TextDecoder().decode(out.stdout).trim().split("\n");
  };
  assertEquals((await probe(["switchyard", "sta"])).sort(), ["start", "status"]);
  const flags = await probe(["switchyard", "--home", "/h", "start", "--p2p.ext"]);
  assert(flags.includes("--p2p.external-address"), flags.join(" "));
  assert(flags.includes("--p2p.external_address"), flags.join(" "));
});
