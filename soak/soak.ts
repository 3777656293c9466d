/**
 * The soak run: a switchyard seed, N switchyard daemons and (when installed) cometbft nodes on
 * distinct 127.0.0.x addresses, meshed through the seed, under continuous perturbation (kill -9
 * and restart, SIGSTOP/SIGCONT pauses, connections cut, seed restarts, graceful restarts),
 * sampled every few seconds. It fails on: an unexpected exit, a listener that stops answering
 * the handshake probe, a long-lived node whose RSS or fds keep growing after warm-up
 * ({@link growth}), or a network not re-meshed 30 s after a perturbation. Every loop is
 * bounded by the run's deadline; every child is killed by PID when the run ends, however it
 * ends.
 * @module
 */
import { findCometbft } from "../tests/interop/cometbft.ts";
import { asciiChart, FD_LIMIT, growth, RSS_LIMIT, type Sample } from "./analysis.ts";
import { type ConnectionCutter, resetConnects, SsKillCutter } from "./cut.ts";
import {
  cometbftIp,
  cometbftNode,
  MAX_COMETBFT,
  MAX_NODES,
  type NetworkSettings,
  nodeIp,
  SEED_IP,
  switchyardNode,
} from "./nodes.ts";
import { netInfoPeers, probeListener, procStats } from "./probe.ts";
import { Prng } from "../fuzz/prng.ts";
import type { SoakProcess } from "./procs.ts";

/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** Length of the perturbation phase. */
  minutes: number;
  /** Switchyard nodes besides the seed. */
  nodes: number;
  /** cometbft nodes (0 when no binary is found). */
  cometbft: number;
  /** Seed of the perturbation schedule. */
  seed: number;
  /** Sampling period (default 5 s). */
  sampleMs?: number;
  /** Pause between perturbation rounds (default 15 s). */
  perturbEveryMs?: number;
  /** Nodes perturbed at once per round (default: a tenth of the perturbable ones, at least 1). */
  perturbBatch?: number;
  /** Switchyard nodes never perturbed, watched for growth (default: a quarter, at least 1). */
  longLived?: number;
  /** Keep `p2p.allow_duplicate_ip = false` (default: allow, see README). */
  strictIp?: boolean;
  /** Keep the node homes (default: removed unless the run failed). */
  keepHomes?: boolean;
  /**
   * Add "rst" perturbations: connections reset before the node reads them (issue 9's deaf
   * accept loop, caught at once by a probe). Needs python3. Default true.
   */
  resets?: boolean;
  /** Replaces `ss -K` (e.g. by the fault proxy). */
  cutter?: ConnectionCutter;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** One perturbation and how the network took it. */
export interface PerturbRecord {
  at: number;
  kind: PerturbKind;
  nodes: string[];
  /** ms from the end of the perturbation to a re-meshed network; undefined if it never was. */
  remeshMs?: number;
  detail?: string;
}

/** Perturbation kinds. */
export type PerturbKind = "kill9" | "pause" | "cut" | "seed-restart" | "restart" | "rst";

/** Result of a soak. */
export interface SoakReport {
  ok: boolean;
  failures: string[];
  perturbations: PerturbRecord[];
  durationMs: number;
  summary: string;
  root: string;
}

/** The network must be whole again this long after a perturbation ends. */
export const REMESH_DEADLINE_MS = 30_000;
/** Wait this long after a perturbation before the first mesh check. */
export const REMESH_SETTLE_MS = 2_000;
/** Probe every node's listener this often. */
export const PROBE_EVERY_MS = 30_000;
/** Start-up bound of one node (loaded machine). */
const START_TIMEOUT_MS = 90_000;
/** Initial mesh bound. */
const INITIAL_MESH_MS = 120_000;
/** Nodes started at once. */
const START_BATCH = 4;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)}M`;

/** Runs a soak; never throws for what the nodes do (that is in the report), only for set-up. */
export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => {});
  const signal = opts.signal ?? new AbortController().signal;
  if (opts.nodes < 2 || opts.nodes > MAX_NODES) {
    throw new RangeError(`--nodes must be 2..${MAX_NODES}`);
  }
  const bin = findCometbft();
  const nComet = bin === null ? 0 : Math.min(opts.cometbft, MAX_COMETBFT);
  const rng = new Prng(opts.seed);
  const root = await Deno.makeTempDir({ prefix: "switchyard-soak-" });
  const failures: string[] = [];
  const perturbations: PerturbRecord[] = [];
  const samples = new Map<string, Sample[]>();
  const all: SoakProcess[] = [];
  const t0 = Date.now();
  const now = () => Date.now() - t0;
  const fail = (msg: string) => {
    failures.push(`[${(now() / 1000).toFixed(0)}s] ${msg}`);
    log(`FAIL ${msg}`);
  };
  let cutter: ConnectionCutter | undefined = opts.cutter;
  if (!cutter && await SsKillCutter.available()) cutter = new SsKillCutter();
  if (!cutter) log("connection cuts disabled: ss -K needs root (or pass a cutter)");

  try {
    const chainId = `soak-${rng.u32().toString(16)}`;
    const seedNet: NetworkSettings = { chainId, seedAddress: "", strictIp: opts.strictIp ?? false };
    const seed = await switchyardNode("seed", "seed", SEED_IP, root, seedNet, false);
    const net = { ...seedNet, seedAddress: seed.address };
    const longLived = Math.max(
      1,
      Math.min(opts.nodes - 1, opts.longLived ?? Math.ceil(opts.nodes / 4)),
    );
    const nodes: SoakProcess[] = [];
    for (let i = 0; i < opts.nodes; i++) {
      nodes.push(await switchyardNode(`n${i}`, "switchyard", nodeIp(i), root, net, i >= longLived));
    }
    for (let j = 0; j < nComet; j++) {
      nodes.push(await cometbftNode(bin!, `comet${j}`, cometbftIp(j), root, net));
    }
    all.push(seed, ...nodes);
    log(
      `soak: seed + ${opts.nodes} switchyard (${longLived} long-lived) + ${nComet} cometbft, ` +
        `chain ${chainId}, ${opts.minutes} min, homes in ${root}`,
    );
    await seed.start(START_TIMEOUT_MS, signal);
    for (let i = 0; i < nodes.length; i += START_BATCH) {
      await Promise.all(
        nodes.slice(i, i + START_BATCH).map((n) => n.start(START_TIMEOUT_MS, signal)),
      );
    }
    log(`soak: all ${all.length} processes up after ${(now() / 1000).toFixed(0)} s`);

    const members = () => nodes.filter((n) => n.state.code === "running");
    /** Whether every running non-seed node has a non-seed peer and they form one component. */
    const meshed = async (): Promise<{ ok: boolean; why?: string }> => {
      const live = members();
      const ids = new Set(live.map((n) => n.id));
      const parent = new Map<string, string>(live.map((n) => [n.id, n.id]));
      const find = (x: string): string => {
        while (parent.get(x) !== x) x = parent.get(x)!;
        return x;
      };
      const peerLists = await Promise.all(live.map((n) => netInfoPeers(n.rpcPort, signal)));
      const lonely: string[] = [];
      live.forEach((n, i) => {
        const peers = peerLists[i];
        if (peers === undefined) return lonely.push(`${n.name}(no rpc)`);
        const mesh = peers.filter((p) => ids.has(p));
        if (mesh.length === 0) lonely.push(n.name);
        for (const p of mesh) parent.set(find(p), find(n.id));
      });
      if (lonely.length > 0) return { ok: false, why: `no peers: ${lonely.join(",")}` };
      const comps = new Set(live.map((n) => find(n.id))).size;
      return comps === 1 ? { ok: true } : { ok: false, why: `${comps} components` };
    };
    const waitMeshed = async (deadlineMs: number): Promise<{ ms?: number; why?: string }> => {
      const start = Date.now();
      let why = "";
      while (Date.now() - start < deadlineMs && !signal.aborted) {
        const m = await meshed();
        if (m.ok) return { ms: Date.now() - start };
        why = m.why ?? "";
        await sleep(1000, signal);
      }
      return { why };
    };

    const first = await waitMeshed(INITIAL_MESH_MS);
    if (first.ms === undefined) {
      fail(`initial mesh not formed in ${INITIAL_MESH_MS / 1000} s: ${first.why}`);
    } else log(`soak: meshed after ${((now()) / 1000).toFixed(0)} s`);

    // ---- sampling loop (runs beside the perturbations) -------------------------------------
    const phaseStart = now();
    const deadline = Date.now() + opts.minutes * 60_000;
    const sampleMs = opts.sampleMs ?? 5_000;
    const checkCrashes = async () => {
      for (const n of all) {
        if (n.state.code !== "crashed") continue;
        const c = n.crashes[n.crashes.length - 1];
        fail(
          `${n.name} exited unexpectedly (code ${c.exitCode}${c.signal ? `, ${c.signal}` : ""}); ` +
            `log tail:\n${c.logTail.split("\n").slice(-8).join("\n")}`,
        );
        // Keep the run going: restart it (bounded by the node's own start timeout).
        try {
          await n.start(START_TIMEOUT_MS, signal);
        } catch (e) {
          fail(`${n.name} could not be restarted after its crash: ${(e as Error).message}`);
        }
      }
    };
    const sampler = (async () => {
      let lastProbe = Date.now();
      while (Date.now() < deadline && !signal.aborted) {
        const round = now() - phaseStart;
        const live = all.filter((n) => n.pid !== undefined && n.state.code === "running");
        const [stats, peerLists] = await Promise.all([
          procStats(live.map((n) => n.pid!)),
          Promise.all(live.map((n) => netInfoPeers(n.rpcPort, signal))),
        ]);
        live.forEach((n, i) => {
          const st = n.pid === undefined ? undefined : stats.get(n.pid);
          const list = samples.get(n.name) ?? [];
          list.push({ t: round, rss: st?.rss, fds: st?.fds, peers: peerLists[i]?.length });
          samples.set(n.name, list);
        });
        if (Date.now() - lastProbe >= PROBE_EVERY_MS) {
          lastProbe = Date.now();
          await Promise.all(all.map(async (n) => {
            if (n.state.code !== "running") return;
            let r = await probeListener(n.ip, n.p2pPort);
            // One retry: a node just restarted or starved of CPU by the others gets a second chance.
            if (!r.ok && n.state.code === "running") {
              await sleep(3000, signal);
              if (n.state.code !== "running") return;
              r = await probeListener(n.ip, n.p2pPort);
            }
            if (!r.ok && n.state.code === "running") fail(`${n.name} listener is deaf: ${r.why}`);
          }));
        }
        await sleep(sampleMs, signal);
      }
    })();

    // ---- perturbation loop ------------------------------------------------------------------
    const every = opts.perturbEveryMs ?? 15_000;
    const kinds: Array<[PerturbKind, number]> = [
      ["kill9", 30],
      ["pause", 25],
      ["cut", cutter ? 20 : 0],
      ["seed-restart", 10],
      ["restart", 15],
      ["rst", (opts.resets ?? true) ? 20 : 0],
    ];
    const totalW = kinds.reduce((s, [, w]) => s + w, 0);
    const pickKind = (): PerturbKind => {
      let x = rng.int(totalW);
      for (const [k, w] of kinds) {
        if (x < w) return k;
        x -= w;
      }
      return "kill9";
    };
    const perturbable = nodes.filter((n) => n.perturbable);
    const batch = Math.max(1, opts.perturbBatch ?? Math.floor(perturbable.length / 10));
    while (Date.now() + every < deadline && !signal.aborted) {
      await sleep(every, signal);
      await checkCrashes();
      if (signal.aborted) break;
      const kind = pickKind();
      const targets: SoakProcess[] = [];
      if (kind === "seed-restart") targets.push(seed);
      else {
        const pool = perturbable.filter((n) => n.state.code === "running");
        while (targets.length < batch && pool.length > 0) {
          targets.push(pool.splice(rng.int(pool.length), 1)[0]);
        }
      }
      if (targets.length === 0) continue;
      const rec: PerturbRecord = { at: now(), kind, nodes: targets.map((n) => n.name) };
      const details: string[] = [];
      await Promise.all(targets.map(async (n) => {
        try {
          switch (kind) {
            case "kill9":
            case "seed-restart":
              await n.kill9();
              await sleep(1000 + rng.int(2000), signal);
              await n.start(START_TIMEOUT_MS, signal);
              break;
            case "restart": {
              const code = await n.stop();
              // SIGTERM is a graceful stop: exit 0 (docs/daemon.md), or it is a failure.
              if (code !== 0 && n.kind !== "cometbft") {
                fail(`${n.name} exited with code ${code} on SIGTERM (expected 0)`);
              }
              await sleep(500 + rng.int(1500), signal);
              await n.start(START_TIMEOUT_MS, signal);
              break;
            }
            case "pause":
              n.pause();
              await sleep(2000 + rng.int(6000), signal);
              n.resume();
              break;
            case "cut":
              details.push(`${n.name}: ${await cutter!.cut(n.ip, n.p2pPort, n.pid)} sockets`);
              break;
            case "rst": {
              if (!(await resetConnects(n.ip, n.p2pPort, 5))) {
                details.push(`${n.name}: python3 missing, nothing sent`);
                break;
              }
              // A deaf listener shows at once: probe now rather than at the next round.
              await sleep(1000, signal);
              const r = await probeListener(n.ip, n.p2pPort);
              if (!r.ok && n.state.code === "running") {
                fail(`${n.name} listener is deaf after connection resets: ${r.why}`);
              }
              break;
            }
          }
        } catch (e) {
          fail(`${kind} of ${n.name} failed: ${(e as Error).message}`);
        }
      }));
      if (details.length > 0) rec.detail = details.join(", ");
      // Let the nodes notice what happened (resets, a peer back) before judging the mesh; the
      // settle time counts towards the re-mesh time and the deadline.
      await sleep(REMESH_SETTLE_MS, signal);
      const m = await waitMeshed(REMESH_DEADLINE_MS - REMESH_SETTLE_MS);
      if (m.ms !== undefined) m.ms += REMESH_SETTLE_MS;
      rec.remeshMs = m.ms;
      perturbations.push(rec);
      log(
        `[${(now() / 1000).toFixed(0)}s] ${kind} ${rec.nodes.join(",")}${
          rec.detail ? ` (${rec.detail})` : ""
        }: ` +
          (m.ms === undefined ? "NOT re-meshed" : `re-meshed in ${(m.ms / 1000).toFixed(1)} s`),
      );
      if (m.ms === undefined) {
        fail(
          `network not re-meshed ${REMESH_DEADLINE_MS / 1000} s after ${kind} of ${
            rec.nodes.join(",")
          }: ${m.why}`,
        );
      }
    }
    await sampler;
    await checkCrashes();
    const durationMs = now() - phaseStart;

    // ---- verdicts and summary ---------------------------------------------------------------
    const lines: string[] = [];
    const watched = nodes.filter((n) => !n.perturbable);
    lines.push(
      "node      kind        starts crashes  rss first->last (max)   fds first->last (max)  peers min/avg/last",
    );
    for (const n of all) {
      const s = samples.get(n.name) ?? [];
      const rss = s.filter((x) => x.rss !== undefined).map((x) => x.rss!);
      const fds = s.filter((x) => x.fds !== undefined).map((x) => x.fds!);
      const peers = s.filter((x) => x.peers !== undefined).map((x) => x.peers!);
      const avg = peers.length ? (peers.reduce((a, b) => a + b, 0) / peers.length).toFixed(1) : "-";
      lines.push(
        `${(n.name + (watched.includes(n) ? "*" : "")).padEnd(9)} ${n.kind.padEnd(11)} ${
          String(n.starts).padStart(6)
        } ` +
          `${String(n.crashes.length).padStart(7)}  ` +
          (rss.length
            ? `${mib(rss[0])}->${mib(rss[rss.length - 1])} (${mib(Math.max(...rss))})`
            : "-").padEnd(22) +
          (fds.length ? `${fds[0]}->${fds[fds.length - 1]} (${Math.max(...fds)})` : "-").padEnd(
            23,
          ) +
          (peers.length ? `${Math.min(...peers)}/${avg}/${peers[peers.length - 1]}` : "-"),
      );
    }
    lines.push("(* long-lived: never perturbed, judged for growth)");
    for (const n of watched) {
      const s = samples.get(n.name) ?? [];
      const rssV = growth(
        s.filter((x) => x.rss !== undefined).map((x) => ({ t: x.t, v: x.rss! })),
        durationMs,
        RSS_LIMIT,
      );
      const fdV = growth(
        s.filter((x) => x.fds !== undefined).map((x) => ({ t: x.t, v: x.fds! })),
        durationMs,
        FD_LIMIT,
      );
      lines.push(
        `${n.name}: RSS ${(rssV.perMinute / 2 ** 20).toFixed(2)} MiB/min, floor ${
          (rssV.floorRise / 2 ** 20).toFixed(1)
        } MiB; ` +
          `fds ${
            fdV.perMinute.toFixed(2)
          }/min, floor ${fdV.floorRise} (${rssV.points} samples after warm-up)`,
      );
      if (rssV.growing) {
        fail(
          `${n.name} RSS keeps growing: ${(rssV.perMinute / 2 ** 20).toFixed(2)} MiB/min, floor +${
            (rssV.floorRise / 2 ** 20).toFixed(1)
          } MiB`,
        );
      }
      if (fdV.growing) {
        fail(
          `${n.name} fds keep growing: ${fdV.perMinute.toFixed(2)}/min, floor +${fdV.floorRise}`,
        );
      }
    }
    const series = (pick: (x: Sample) => number | undefined) => {
      const pts: Array<{ t: number; v: number }> = [];
      for (const n of watched) {
        for (const x of samples.get(n.name) ?? []) {
          const v = pick(x);
          if (v !== undefined) pts.push({ t: x.t, v });
        }
      }
      return pts;
    };
    lines.push(
      asciiChart(
        "RSS of long-lived nodes (mean per column)",
        series((x) => x.rss),
        durationMs,
        (v) => `${(v / 2 ** 20).toFixed(0)} MiB`,
      ),
    );
    lines.push(
      asciiChart(
        "fds of long-lived nodes (mean per column)",
        series((x) => x.fds),
        durationMs,
        (v) => v.toFixed(0),
      ),
    );
    const remesh = perturbations.filter((p) => p.remeshMs !== undefined).map((p) => p.remeshMs!);
    remesh.sort((a, b) => a - b);
    const byKind = new Map<string, number>();
    for (const p of perturbations) byKind.set(p.kind, (byKind.get(p.kind) ?? 0) + 1);
    lines.push(
      `perturbations: ${perturbations.length} (${
        [...byKind].map(([k, v]) => `${k} ${v}`).join(", ")
      }); ` +
        `re-mesh median ${
          remesh.length ? (remesh[Math.floor(remesh.length / 2)] / 1000).toFixed(1) : "-"
        } s, ` +
        `max ${remesh.length ? (remesh[remesh.length - 1] / 1000).toFixed(1) : "-"} s`,
    );
    lines.push(`failures: ${failures.length}`);
    return {
      ok: failures.length === 0,
      failures,
      perturbations,
      durationMs,
      summary: lines.join("\n"),
      root,
    };
  } finally {
    // Every child, by PID, however we got here.
    await Promise.all(all.map((n) => n.stop().catch(() => n.kill9())));
    for (const n of all) n.close();
    if (!(opts.keepHomes ?? false) && failures.length === 0) {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  }
}
