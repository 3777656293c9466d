/**
 * The optional CometBFT node of the demo: a single-validator kvstore chain with the demo's chain
 * ID, bound to 127.0.0.1, peered with one switchyard node (persistent peer, PEX off).
 * @module
 */
import { type DemoProcess, startProcess } from "./demo_process.ts";

/** Block interval of the demo chain (slow enough to read the heights). */
const TIMEOUT_COMMIT = "1s";

function executable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** `$COMETBFT_BIN`, `cometbft` on `$PATH`, or `$HOME/go/bin/cometbft`; null when none. */
export function findCometbft(): string | null {
  const candidates: string[] = [];
  const env = (k: string) => {
    try {
      return Deno.env.get(k);
    } catch {
      return undefined; // no env permission: skip that source
    }
  };
  const fromEnv = env("COMETBFT_BIN");
  if (fromEnv) candidates.push(fromEnv);
  for (const d of (env("PATH") ?? "").split(":")) if (d) candidates.push(`${d}/cometbft`);
  const home = env("HOME");
  if (home) candidates.push(`${home}/go/bin/cometbft`);
  return candidates.find(executable) ?? null;
}

/** Replaces `key = …` in a TOML section (top level when `section` is ""). */
function setKey(toml: string, section: string, key: string, value: string | boolean): string {
  const lines = toml.split("\n");
  let current = "";
  const v = typeof value === "string" ? JSON.stringify(value) : String(value);
  for (let i = 0; i < lines.length; i++) {
    const h = /^\s*\[([^\]]+)\]/.exec(lines[i]);
    if (h) current = h[1].trim();
    else if (current === section && new RegExp(`^\\s*${key}\\s*=`).test(lines[i])) {
      lines[i] = `${key} = ${v}`;
      return lines.join("\n");
    }
  }
  throw new Error(`cometbft config has no ${section ? section + "." : ""}${key}`);
}

async function run(bin: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`cometbft ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Initialises and starts the CometBFT node. */
export async function startDemoCometbft(
  bin: string,
  home: string,
  chainId: string,
  peer: { id: string; p2pPort: number },
  _signal: AbortSignal,
): Promise<{ proc: DemoProcess; rpc: string; id: string }> {
  await run(bin, ["init", "--home", home]);
  const gPath = `${home}/config/genesis.json`;
  const genesis = JSON.parse(await Deno.readTextFile(gPath));
  genesis.chain_id = chainId;
  await Deno.writeTextFile(gPath, JSON.stringify(genesis, null, 2));
  const rpcPort = freePort();
  const p2pPort = freePort();
  const cPath = `${home}/config/config.toml`;
  let toml = await Deno.readTextFile(cPath);
  const set = (s: string, k: string, v: string | boolean) => (toml = setKey(toml, s, k, v));
  set("", "moniker", "cometbft");
  set("", "log_level", "info");
  set("rpc", "laddr", `tcp://127.0.0.1:${rpcPort}`);
  set("p2p", "laddr", `tcp://127.0.0.1:${p2pPort}`);
  set("p2p", "persistent_peers", `${peer.id}@127.0.0.1:${peer.p2pPort}`);
  set("p2p", "pex", false);
  set("p2p", "allow_duplicate_ip", true);
  set("p2p", "addr_book_strict", false);
  set("consensus", "timeout_commit", TIMEOUT_COMMIT);
  set("instrumentation", "prometheus", false);
  await Deno.writeTextFile(cPath, toml);
  const id = await run(bin, ["show-node-id", "--home", home]);
  const proc = startProcess({
    name: id,
    cmd: bin,
    args: ["start", "--home", home, "--proxy_app=kvstore"],
    logFile: `${home}/cometbft.log`,
  });
  return { proc, rpc: `tcp://127.0.0.1:${rpcPort}`, id };
}
