/**
 * The documented install (`deno install -g ...` in docs/operating.md, taken from the doc itself)
 * into a temporary root, then the installed `switchyard` run from an unrelated folder:
 * `version`, `init`, and a short `start` on loopback that answers RPC and stops on SIGTERM.
 */
import { assert, assertEquals, assertStringIncludes } from "./util/assert.ts";
import { childEnv, ROOT } from "./util/daemon.ts";
import { freePort } from "./interop/cometbft.ts";
import { RpcClient } from "../rpc/client.ts";
import { withTempDir } from "./util/temp_dir.ts";

/** The install command of docs/operating.md, as argv, for `checkout`. */
async function documentedInstall(checkout: string): Promise<string[]> {
  const doc = await Deno.readTextFile(`${ROOT}docs/operating.md`);
  const line = doc.split("\n").find((l) => l.startsWith("deno install -g "));
  assert(line !== undefined, "docs/operating.md has a `deno install -g` line");
  const words = line.replaceAll("<checkout>", checkout.replace(/\/$/, "")).match(/'[^']*'|\S+/g)!;
  return words.map((w) => w.replace(/^'(.*)'$/, "$1"));
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

Deno.test("deno install -g as documented gives a switchyard command that works anywhere", async () => {
  await withTempDir(async (dir) => {
    const [deno, ...args] = await documentedInstall(ROOT);
    assertEquals(deno, "deno");
    const root = `${dir}/root`;
    const elsewhere = `${dir}/elsewhere`;
    await Deno.mkdir(elsewhere);
    const inst = await run(
      Deno.execPath(),
      [...args.slice(0, 2), "--root", root, ...args.slice(2)],
      elsewhere,
    );
    assertEquals(inst.code, 0, inst.stderr);
    const bin = `${root}/bin/switchyard`;
    const script = await Deno.readTextFile(bin);
    assertStringIncludes(script, "--no-prompt");
    assertStringIncludes(script, "'--allow-env=HOME,SWITCHYARD_*,CMTHOME,CMT_*'");

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
