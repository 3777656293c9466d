/**
 * `deno task soak [--minutes N] [--nodes N] [--cometbft N] [--seed S] [--sample-seconds N]
 * [--perturb-seconds N] [--strict-ip] [--no-resets] [--keep-homes]`: runs {@link runSoak} and prints its
 * progress, the summary and the charts. Exit code 0 when nothing failed, 1 otherwise, 2 for a
 * bad flag. Ctrl-C ends the run early (children are stopped, the summary still printed).
 * @module
 */
import { parseArgs } from "node:util";
import { runSoak } from "./soak.ts";

const USAGE = `usage: deno task soak [--minutes N] [--nodes N] [--cometbft N] [--seed S]
                      [--sample-seconds N] [--perturb-seconds N] [--strict-ip] [--no-resets]
                      [--keep-homes]
  --minutes N          perturbation phase length (default 10)
  --nodes N            switchyard nodes besides the seed (default 10, 2..200)
  --cometbft N         cometbft nodes when a binary is found (default 1, max 5; 0: none)
  --seed S             seed of the perturbation schedule (default 1)
  --sample-seconds N   sampling period (default 5)
  --perturb-seconds N  pause between perturbation rounds (default 15)
  --strict-ip          keep p2p.allow_duplicate_ip = false (loopback dials all come from
                       127.0.0.1, so each node then accepts one inbound peer at a time)
  --no-resets          do not reset connections before the node reads them (on by default;
                       needs python3; issue 9: a listener that went deaf after one reset)
  --keep-homes         keep node homes and logs (always kept when the run fails)`;

function fail(msg: string): never {
  console.error(`soak: ${msg}\n${USAGE}`);
  Deno.exit(2);
}

function num(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) fail(`--${name} must be a number >= ${min}, got "${v}"`);
  return n;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: {
        minutes: { type: "string" },
        nodes: { type: "string" },
        cometbft: { type: "string" },
        seed: { type: "string" },
        "sample-seconds": { type: "string" },
        "perturb-seconds": { type: "string" },
        "strict-ip": { type: "boolean" },
        "no-resets": { type: "boolean" },
        "keep-homes": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    fail((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const ac = new AbortController();
  const onSig = () => {
    console.error("soak: interrupted, stopping every node");
    ac.abort();
  };
  Deno.addSignalListener("SIGINT", onSig);
  Deno.addSignalListener("SIGTERM", onSig);
  try {
    const report = await runSoak({
      minutes: num("minutes", v.minutes, 10, 0.1),
      nodes: Math.floor(num("nodes", v.nodes, 10, 2)),
      cometbft: Math.floor(num("cometbft", v.cometbft, 1, 0)),
      seed: Math.floor(num("seed", v.seed, 1, 0)),
      sampleMs: num("sample-seconds", v["sample-seconds"], 5, 1) * 1000,
      perturbEveryMs: num("perturb-seconds", v["perturb-seconds"], 15, 1) * 1000,
      strictIp: v["strict-ip"] ?? false,
      resets: !(v["no-resets"] ?? false),
      keepHomes: v["keep-homes"] ?? false,
      log: (line) => console.log(line),
      signal: ac.signal,
    });
    console.log(report.summary);
    for (const f of report.failures) console.log(`FAILURE ${f}`);
    if (!report.ok) console.log(`node homes and logs kept in ${report.root}`);
    console.log(report.ok && !ac.signal.aborted ? "soak: ok" : "soak: FAILED");
    return report.ok && !ac.signal.aborted ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSig);
    Deno.removeSignalListener("SIGTERM", onSig);
  }
}

if (import.meta.main) Deno.exit(await main());
