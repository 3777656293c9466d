/**
 * Switch-level throughput and latency on one loopback connection, rate limits off, measured in
 * the same run for switchyard↔switchyard (two processes: this file re-run with `--serve` is the
 * echo side) and for Go↔Go (`tests/interop/go`'s `bench` mode against its `serve` mode):
 *   - RTT p50/p99 of a 1-byte echo (reactor message there and back, one at a time);
 *   - messages/s of 256-byte messages, pipelined (client streams N blocking sends, the server
 *     echoes each; time from the first send to the last echo);
 *   - MB/s of 1 MiB messages, the same way.
 * Both sides run the same method: the full stack (SecretConnection, MConnection with 1024-byte
 * packets, Switch, Peer.send, BytesValue codec, reactor echo). Ratios are switchyard / Go.
 *
 * Run: deno run --allow-all bench/switch.ts [--quick] [--flush-throttle-ms=N (default 0)]
 * @module
 */
import { NetAddress } from "../p2p/netaddress.ts";
import type { MConnConfig } from "../p2p/conn/mconnection.ts";
import { EchoReactor, makeEchoNode, patternPayload } from "../tests/util/echo_reactor.ts";
import { buildGoPeer, serveArgs } from "../tests/interop/go_peer.ts";
import { nodeV8Flags, v8FlagsArgs } from "./util/node_flags.ts";
import { medianRange } from "./util/compare.ts";

const quick = Deno.args.includes("--quick");
const throttleArg = Deno.args.find((a) => a.startsWith("--flush-throttle-ms="));
const FLUSH_THROTTLE_MS = throttleArg ? Number(throttleArg.split("=")[1]) : 0;
/** Go's bench flag value that turns the rate limiter off (its own default in bench mode). */
const GO_NO_LIMIT = 2 ** 40;

const P = {
  warmup: quick ? 100 : 2000,
  rttCount: quick ? 100 : 1000,
  smallSize: 256,
  smallCount: quick ? 5_000 : 50_000,
  largeSize: 1 << 20,
  largeCount: quick ? 16 : 128,
};
const CH = 0x70;

/** Rate limits off (0 = unlimited), CometBFT's packet size, the chosen flush throttle. */
const MCONN: Partial<MConnConfig> = {
  sendRate: 0,
  recvRate: 0,
  flushThrottleMs: FLUSH_THROTTLE_MS,
};

// ---- echo side (child process) --------------------------------------------------------------

async function serve(): Promise<void> {
  const node = await makeEchoNode({
    reactor: new EchoReactor({ echo: true, keep: false }),
    mconn: MCONN,
    record: false,
  });
  console.log(`READY ${node.addr.toString()}`);
  // Parent closes our stdin when done.
  for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
  await node.stop();
}

// ---- client ---------------------------------------------------------------------------------

interface Result {
  rttP50Ms: number;
  rttP99Ms: number;
  smallMsgsPerSec: number;
  largeMBPerSec: number;
}

function pct(sorted: number[], p: number): number {
  // Nearest rank, as the Go bench computes it.
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100));
  return sorted[rank - 1];
}

/** Reads `stream` until a line starting with `prefix`; the rest of the stream is discarded. */
async function readLine(stream: ReadableStream<Uint8Array>, prefix: string): Promise<string> {
  let buf = "";
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`child ended before printing ${prefix}`);
      buf += value;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith(prefix)) return line;
      }
    }
  } finally {
    // Keep draining in the background so the child never blocks on a full pipe.
    void (async () => {
      try {
        while (!(await reader.read()).done) { /* discard */ }
      } catch { /* stream closed */ }
    })();
  }
}

async function runSwitchyard(): Promise<Result> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      ...v8FlagsArgs(),
      new URL(import.meta.url).pathname,
      "--serve",
      ...Deno.args,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const ready = await readLine(child.stdout, "READY ");
  let echoes = 0;
  let target = 0;
  let done: (() => void) | undefined;
  const reactor = new EchoReactor({
    keep: false,
    onMessage: () => {
      if (++echoes === target) done?.();
    },
  });
  const node = await makeEchoNode({ reactor, mconn: MCONN, record: false });
  try {
    const addr = NetAddress.parseNoLookup(ready.slice("READY ".length));
    await node.sw.dialPeerWithAddress(addr);
    const peer = reactor.peers.get(addr.id)!;

    const phase = async (size: number, count: number): Promise<number> => {
      const message = { value: patternPayload(size) };
      echoes = 0;
      target = count;
      const all = new Promise<void>((r) => (done = r));
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        if (!(await peer.send({ channelId: CH, message }))) throw new Error(`send ${i} failed`);
      }
      await all;
      return (performance.now() - t0) / 1000;
    };
    const pingPong = async (count: number): Promise<number[]> => {
      const message = { value: patternPayload(1) };
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        echoes = 0;
        target = 1;
        const back = new Promise<void>((r) => (done = r));
        const t0 = performance.now();
        if (!(await peer.send({ channelId: CH, message }))) throw new Error("ping failed");
        await back;
        out.push(performance.now() - t0);
      }
      return out.sort((a, b) => a - b);
    };

    await phase(P.smallSize, P.warmup);
    const rtts = await pingPong(P.rttCount);
    const small = await phase(P.smallSize, P.smallCount);
    const large = await phase(P.largeSize, P.largeCount);
    return {
      rttP50Ms: pct(rtts, 50),
      rttP99Ms: pct(rtts, 99),
      smallMsgsPerSec: P.smallCount / small,
      largeMBPerSec: (P.largeSize * P.largeCount) / 1e6 / large,
    };
  } finally {
    await node.stop();
    await child.stdin.close();
    await child.status;
  }
}

/** Starts `interop-peer serve` (echo, quiet, no rate limits) and runs its `bench` against it. */
async function runGo(): Promise<Result> {
  const bin = await buildGoPeer();
  const ms = `${FLUSH_THROTTLE_MS}ms`;
  const server = new Deno.Command(bin, {
    args: serveArgs({
      quiet: true,
      echo: true,
      sendRate: GO_NO_LIMIT,
      recvRate: GO_NO_LIMIT,
      flushThrottleMs: FLUSH_THROTTLE_MS,
      logLevel: "none",
    }),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const ready = JSON.parse(await readLine(server.stdout, `{"`)) as { addr: string };
  try {
    const out = await new Deno.Command(bin, {
      args: [
        "bench",
        "--mode=echo",
        `--dial=${ready.addr}`,
        `--flush-throttle=${ms}`,
        `--warmup=${P.warmup}`,
        `--rtt-count=${P.rttCount}`,
        `--small-size=${P.smallSize}`,
        `--small-count=${P.smallCount}`,
        `--large-size=${P.largeSize}`,
        `--large-count=${P.largeCount}`,
        "--timeout=30s",
        "--log-level=none",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
    if (!out.success) {
      throw new Error(`go bench failed: ${text} ${new TextDecoder().decode(out.stderr)}`);
    }
    const r = JSON.parse(text) as Record<string, number>;
    return {
      rttP50Ms: r.rtt_p50_ms,
      rttP99Ms: r.rtt_p99_ms,
      smallMsgsPerSec: r.small_msgs_per_sec,
      largeMBPerSec: r.large_mb_per_sec,
    };
  } finally {
    await server.stdin.close();
    await server.status;
  }
}

/** Repetitions of each side; the order alternates (Go first, then switchyard first, ...). */
const REPS = 3;

/** Median [range] of both sides and of the per-repetition ratio switchyard/go. */
function line(what: string, ours: number[], go: number[], unit: string, digits: number): string {
  const ratios = ours.map((x, i) => x / go[i]);
  return `switch ${what}: switchyard ${medianRange(ours, digits)} ${unit}, go ${
    medianRange(go, digits)
  } ${unit}, switchyard/go ${medianRange(ratios, 2)}`;
}

if (import.meta.main) {
  if (Deno.args.includes("--serve")) {
    await serve();
  } else {
    const ours: Result[] = [];
    const go: Result[] = [];
    for (let r = 0; r < REPS; r++) {
      if (r % 2 === 0) {
        go.push(await runGo());
        ours.push(await runSwitchyard());
      } else {
        ours.push(await runSwitchyard());
        go.push(await runGo());
      }
    }
    const cfg = `flush_throttle=${FLUSH_THROTTLE_MS}ms, rates off, 1024-byte packets`;
    console.log(
      `switch bench (${cfg}; echo node V8 flags [${
        nodeV8Flags().join(" ")
      }]; one loopback connection; two processes each side; no recorder; ` +
        `median [range] of ${REPS} reps, order alternated)`,
    );
    const pick = (k: keyof Result) => [ours.map((x) => x[k]), go.map((x) => x[k])] as const;
    console.log(line(`rtt 1B p50 (${P.rttCount} round trips)`, ...pick("rttP50Ms"), "ms", 3));
    console.log(line(`rtt 1B p99`, ...pick("rttP99Ms"), "ms", 3));
    console.log(
      line(`256B echo msgs/s (${P.smallCount} msgs)`, ...pick("smallMsgsPerSec"), "msgs/s", 0),
    );
    console.log(
      line(`1MiB echo MB/s (${P.largeCount} msgs)`, ...pick("largeMBPerSec"), "MB/s", 1),
    );
  }
}
