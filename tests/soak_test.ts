/**
 * The soak's judgement (growth criterion, listener probe, chart) on synthetic input, and a short
 * soak as CI runs it: a seed, 5 switchyard daemons and a cometbft node when one is installed,
 * 2 minutes of perturbation (SWITCHYARD_SOAK_MINUTES overrides), which must end with no
 * failure: no unexpected exit, no deaf listener, no growth, re-meshed after every perturbation.
 */
import { assert, assertEquals, assertStringIncludes } from "./util/assert.ts";
import { asciiChart, FD_LIMIT, growth, RSS_LIMIT, slope } from "../soak/analysis.ts";
import { probeListener, procStats } from "../soak/probe.ts";
import { runSoak } from "../soak/soak.ts";

const MIN = 60_000;
const MiB = 2 ** 20;

Deno.test("soak growth: a steady leak is growing, a GC sawtooth and a one-off step are not", () => {
  const dur = 60 * MIN;
  const t = Array.from({ length: 720 }, (_, i) => i * 5_000);
  // 2 MiB/min on top of an 80 MiB base, with ±5 MiB of sawtooth.
  const leak = t.map((x, i) => ({
    t: x,
    v: 80 * MiB + (x / MIN) * 2 * MiB + (i % 12) * MiB - 5 * MiB,
  }));
  const saw = t.map((x, i) => ({ t: x, v: 80 * MiB + (i % 24) * 2 * MiB }));
  // A cache filling once in the second half: up 20 MiB, then flat.
  const step = t.map((x) => ({ t: x, v: 80 * MiB + (x > 0.6 * dur ? 20 * MiB : 0) }));
  assertEquals(growth(leak, dur, RSS_LIMIT).growing, true);
  assertEquals(growth(saw, dur, RSS_LIMIT).growing, false);
  assertEquals(growth(step, dur, RSS_LIMIT).growing, false);
  // fds: one leaked socket every 20 s is caught; peers coming and going (±10) is not.
  const fdLeak = t.map((x) => ({ t: x, v: 30 + Math.floor(x / 20_000) }));
  const fdChurn = t.map((_, i) => ({ t: t[i], v: 30 + ((i * 7) % 11) }));
  assertEquals(growth(fdLeak, dur, FD_LIMIT).growing, true);
  assertEquals(growth(fdChurn, dur, FD_LIMIT).growing, false);
  // Too few samples after warm-up: no verdict either way.
  assertEquals(growth(leak.slice(0, 5), dur, RSS_LIMIT).points, 0);
  assertEquals(slope([0, 1, 2], [1, 3, 5]), 2);
});

Deno.test("soak chart: one column per sampling round at most, min and max labelled", () => {
  const pts = [0, 1, 2, 3].map((i) => ({ t: i * 1000, v: i * 10 }));
  const chart = asciiChart("x", pts, 3000, (v) => v.toFixed(0), 60, 4);
  const rows = chart.split("\n");
  assertEquals(rows[0], "x");
  assertEquals(rows[1], "30 |   *");
  assertEquals(rows[4], " 0 |*:::"); // filled below each point
});

Deno.test("soak probe: a listener that never accepts is deaf, one that answers is not", async () => {
  // Deaf: listening (so the kernel completes the TCP handshake) but never accepting.
  const deaf = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const live = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serve = (async () => {
    const c = await live.accept();
    await c.write(Uint8Array.of(0x22)); // what a SecretConnection sends first
    await c.read(new Uint8Array(1)).catch(() => null);
    c.close();
  })();
  try {
    const ok = await probeListener("127.0.0.1", (live.addr as Deno.NetAddr).port);
    assertEquals(ok.ok, true);
    const bad = await probeListener("127.0.0.1", (deaf.addr as Deno.NetAddr).port);
    assertEquals(bad.ok, false);
    if (!bad.ok) assertStringIncludes(bad.why, "no handshake byte");
  } finally {
    deaf.close();
    live.close();
    await serve;
  }
});

Deno.test("soak procStats: reads RSS and fds of a live PID, skips a gone one", async () => {
  const st = await procStats([Deno.pid, 0x7ffffff0]);
  const me = st.get(Deno.pid);
  assert(me !== undefined, "own PID missing");
  assert(me.rss > MiB && me.fds > 2, `implausible ${JSON.stringify(me)}`);
  assertEquals(st.has(0x7ffffff0), false);
});

Deno.test({
  name: "soak: 2 minutes, seed + 5 switchyard (+ cometbft) under perturbation, no failure",
  // Child-process output streams and fetch keep-alive sockets are closed by the run itself.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const minutes = Number(Deno.env.get("SWITCHYARD_SOAK_MINUTES") ?? 2);
    const lines: string[] = [];
    const report = await runSoak({
      minutes,
      nodes: 5,
      cometbft: 1,
      seed: 1,
      perturbEveryMs: 10_000,
      log: (l) => lines.push(l),
    });
    if (!report.ok) console.log(lines.join("\n") + "\n" + report.summary);
    assertEquals(report.failures, []);
    assert(report.perturbations.length >= 3, `only ${report.perturbations.length} perturbations`);
    assert(report.perturbations.every((p) => p.remeshMs !== undefined));
  },
});
