/**
 * The documented install (the `sh` block under "## Install" in docs/operating.md, taken from the
 * doc itself) run from a temporary copy of the checkout into a temporary root; the copy is then
 * deleted and the installed `switchyard` run from an unrelated folder: `version`, `init`, and a
 * short `start` on loopback that answers RPC and stops on SIGTERM. Proves the command reads
 * nothing from the checkout at run time.
 */
import { assert, assertEquals, assertStringIncludes } from "./util/assert.ts";
import { childEnv, ROOT } from "./util/daemon.ts";
import { freePort } from "./interop/cometbft.ts";
import { RpcClient } from "../rpc/client.ts";
import { withTempDir } from "./util/temp_dir.ts";

/** The install lines of docs/operating.md with `ROOT=` pointed at `root`. */
async function documentedInstall(root: string): Promise<string> {
  const doc = await Deno.readTextFile(`${ROOT}docs/operating.md`);
  const section = doc.slice(doc.indexOf("## Install"));
  const block = section.match(/```sh\n([\s\S]*?)```/);
  assert(block !== null, "docs/operating.md has an sh block under ## Install");
  const lines = block[1].trimEnd().split("\n");
  assert(lines[0].startsWith("ROOT="), `first install line sets ROOT: ${lines[0]}`);
  assert(lines.some((l) => l.startsWith("deno install -g ")), "the block runs deno install -g");
  return [`ROOT='${root}'`, ...lines.slice(1)].join("\n");
}

/** Copies the checkout's own files (no node_modules, build output, git or local homes). */
async function copyCheckout(from: string, to: string): Promise<void> {
  const skip = new Set(["node_modules", "build", ".git", ".home", "tmp"]);
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (skip.has(e.name)) continue;
    if (e.isDirectory) await copyCheckout(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

async function run(cmd: string, args: string[], cwd: string, signal?: AbortSignal) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: childEnv(),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: signal ?? AbortSignal.timeout(120_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the documented install gives a switchyard command that works without the checkout", async () => {
  await withTempDir(async (dir) => {
    const root = `${dir}/root`;
    const copy = `${dir}/checkout-copy`;
    const elsewhere = `${dir}/elsewhere`;
    await Deno.mkdir(elsewhere);
    await copyCheckout(ROOT.replace(/\/$/, ""), copy);
    const inst = await run("sh", ["-eu", "-c", await documentedInstall(root)], copy);
    assertEquals(inst.code, 0, inst.stdout + inst.stderr);
    await Deno.remove(copy, { recursive: true });

    const bin = `${root}/bin/switchyard`;
    const script = await Deno.readTextFile(bin);
    assertStringIncludes(script, "--no-prompt");
    assertStringIncludes(script, "'--allow-env=HOME,SWITCHYARD_*,CMTHOME,CMT_*'");
    assertStringIncludes(script, `${root}/lib/switchyard/switchyard.js`);
    assert(!script.includes(copy), `the script names no checkout path: ${script}`);

    const version = await run(bin, ["version"], elsewhere);
    assertEquals(version, { code: 0, stdout: "0.9.0\n", stderr: "" });

    const home = `${dir}/home`;
    const init = await run(bin, ["init", "--home", home, "--chain-id", "install-test"], elsewhere);
    assertEquals(init.code, 0, init.stderr);
    assertStringIncludes(init.stdout, "Node ID ");

    const rpcPort = freePort();
    const child = new Deno.Command(bin, {
      args: [
        "start",
        "--home",
        home,
        "--p2p.laddr",
        `tcp://127.0.0.1:${freePort()}`,
        "--rpc.laddr",
        `tcp://127.0.0.1:${rpcPort}`,
      ],
      cwd: elsewhere,
      env: childEnv(),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    let status: { node_info: { network: string } } | undefined;
    try {
      const rpc = new RpcClient(`tcp://127.0.0.1:${rpcPort}`, { timeoutMs: 2_000 });
      const deadline = Date.now() + 60_000;
      while (status === undefined && Date.now() < deadline) {
        status = await rpc.call<{ node_info: { network: string } }>("status").catch(() =>
          undefined
        );
        if (status === undefined) await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      child.kill("SIGTERM");
    }
    const [{ code }, [out, err]] = await Promise.all([child.status, output]);
    assertEquals(status?.node_info.network, "install-test", out + err);
    assertEquals(code, 0, out + err);
    assertStringIncludes(out, "Version info");
  }, "sy_install_");
});
