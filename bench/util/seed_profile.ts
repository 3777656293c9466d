/**
 * Profiles our seed under crawl load: runs bench/util/seed_child.ts with `--cpu-prof`, drives
 * it with crawl clients (bench/util/seed_clients.ts) at one concurrency level, stops it, and
 * prints the seed's CPU ms per client and the functions with the most self time.
 *
 * Run: deno run --allow-all bench/util/seed_profile.ts [levels, e.g. 64,1] [seconds] [book-size] [top]
 * The `.cpuprofile` is kept when SEED_PROFILE_KEEP=<dir> is set.
 * @module
 */
import { NetAddress } from "../../p2p/netaddress.ts";
import { readProcCpuMs, readProcCpuSplitMs, spawnReadyChild } from "./proc.ts";
import { runClients, writeBook } from "./seed_clients.ts";

const NETWORK = "seed-bench";
/** Concurrency levels, run in this order (`64,1` warms the JIT up before the level of interest). */
const LEVELS = (Deno.args[0] ?? "1").split(",").map(Number);
const SECONDS = Number(Deno.args[1] ?? 5);
const BOOK_SIZE = Number(Deno.args[2] ?? 1000);
const TOP = Number(Deno.args[3] ?? 40);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time in ms per `function url:line`, and per file, largest first. */
function summarise(profile: CpuProfile): { fns: [string, number][]; files: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const fns = new Map<string, number>(), files = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i])!;
    // The delta after a sample is the time attributed to it.
    const us = profile.timeDeltas[i + 1] ?? 0;
    const f = n.callFrame;
    const file = f.url.replace(/^.*\/work\/main\//, "").replace(/^.*\/deps\//, "deps/");
    const key = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us / 1000);
    files.set(file || f.functionName, (files.get(file || f.functionName) ?? 0) + us / 1000);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { fns: sorted(fns), files: sorted(files) };
}

/** CPU ms per thread name of `pid` (`/proc/<pid>/task/<tid>/stat`; same-named threads summed). */
function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/stat`);
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/[0-9]+$/, "#");
      const ms = readProcCpuMs(pid, Number(t.name));
      out.set(comm, (out.get(comm) ?? 0) + ms);
    } catch {
      // The thread exited in between.
    }
  }
  return out;
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "seed-profile-" });
  try {
    await writeBook(`${dir}/book.json`, BOOK_SIZE);
    const profDir = Deno.env.get("SEED_PROFILE_KEEP") ?? `${dir}/prof`;
    const child = await spawnReadyChild("switchyard seed", Deno.execPath(), [
      "run",
      "--allow-all",
      "--cpu-prof",
      `--cpu-prof-dir=${profDir}`,
      new URL("./seed_child.ts", import.meta.url).pathname,
      `${dir}/book.json`,
      NETWORK,
    ], { inheritStderr: true });
    const seed = NetAddress.parseNoLookup(String(child.ready.addr));
    let served = 0;
    for (const level of LEVELS) {
      const cpu0 = readProcCpuMs(child.pid), threads0 = threadCpuMs(child.pid);
      const sys0 = readProcCpuSplitMs(child.pid).sysMs;
      const run = await runClients(seed, NETWORK, level, SECONDS);
      const cpu = readProcCpuMs(child.pid) - cpu0, threads1 = threadCpuMs(child.pid);
      const sys = readProcCpuSplitMs(child.pid).sysMs - sys0;
      served += run.served;
      const perThread = [...threads1].map(([k, v]) => [k, v - (threads0.get(k) ?? 0)] as const)
        .filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
      console.log(
        `concurrency ${level}: served ${run.served} (failed ${run.failed}), ` +
          `${(run.served / (run.ms / 1000)).toFixed(0)} clients/s, seed CPU ` +
          `${(cpu / Math.max(1, run.served)).toFixed(2)} ms/client ` +
          `(kernel ${(sys / Math.max(1, run.served)).toFixed(2)}); by thread: ` +
          perThread.map(([k, v]) => `${k} ${(v / Math.max(1, run.served)).toFixed(2)}`).join(", "),
      );
      await new Promise((r) => setTimeout(r, 300));
    }
    await child.stop(20_000);
    const name = [...Deno.readDirSync(profDir)].find((e) => e.name.endsWith(".cpuprofile"));
    if (!name) throw new Error(`no .cpuprofile in ${profDir}`);
    const profile = JSON.parse(await Deno.readTextFile(`${profDir}/${name.name}`)) as CpuProfile;
    const { fns, files } = summarise(profile);
    const total = fns.reduce((s, [, ms]) => s + ms, 0);
    const per = (ms: number) => (ms / Math.max(1, served) * 1000).toFixed(1);
    console.log(`profile: ${total.toFixed(0)} ms sampled (whole child life); µs/client shown`);
    for (const [k, ms] of fns.slice(0, TOP)) {
      console.log(`${ms.toFixed(1).padStart(8)} ms ${per(ms).padStart(7)} µs  ${k}`);
    }
    console.log("by file:");
    for (const [k, ms] of files.slice(0, 25)) {
      console.log(`${ms.toFixed(1).padStart(8)} ms ${per(ms).padStart(7)} µs  ${k}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

await main();
