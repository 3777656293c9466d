import { assert, assertEquals } from "./util/assert.ts";
import { FlowMonitor, flowStatusToJSON, goTimeString, msToNsString } from "../p2p/conn/flowrate.ts";
import { sleep } from "../libs/sleep.ts";

function fakeClock() {
  const c = { t: 1000, now: () => c.t };
  return c;
}

Deno.test("flowrate: samples, EMA, peak and average from an injected clock", () => {
  const clock = fakeClock();
  const m = new FlowMonitor({ now: clock.now });
  m.update(500);
  assertEquals(m.status().bytes, 0, "bytes count once the sample completes");
  clock.t += 100;
  let s = m.status();
  assertEquals([s.bytes, s.samples, s.instRate, s.curRate, s.peakRate], [500, 1, 5000, 5000, 5000]);
  assertEquals([s.durationMs, s.avgRate, s.active], [100, 5000, true]);
  clock.t += 100; // an empty sample: the EMA decays with weight exp(-0.1 s / 1 s)
  s = m.status();
  assertEquals(s.instRate, 0);
  assertEquals(s.curRate, Math.round(5000 * Math.exp(-0.1)));
  assertEquals(s.peakRate, 5000);
  assertEquals(s.avgRate, 2500);
  assertEquals(s.idleMs, 200);
});

Deno.test("flowrate: limit budget is round(rate x 100 ms) per sample", () => {
  const clock = fakeClock();
  const m = new FlowMonitor({ now: clock.now });
  assertEquals(m.limitDelayMs(10_000), 0);
  m.update(999);
  assertEquals(m.limitDelayMs(10_000), 0, "below the 1000-byte budget");
  m.update(1);
  clock.t += 40;
  assertEquals(m.limitDelayMs(10_000), 60, "budget used: wait for the next sample");
  assertEquals(m.limitDelayMs(0), 0, "rate 0 means unlimited");
  assertEquals(m.limitDelayMs(1e12), 0, "a huge rate never blocks");
  clock.t += 60;
  assertEquals(m.limitDelayMs(10_000), 0, "new sample, new budget");
  m.update(5);
  assertEquals(m.limitDelayMs(1), 100, "minimum budget is one byte");
});

Deno.test("flowrate: transfer size gives progress, remaining bytes and time", () => {
  const clock = fakeClock();
  const m = new FlowMonitor({ now: clock.now });
  m.setTransferSize(2000);
  m.update(1000);
  clock.t += 100;
  const s = m.status();
  assertEquals([s.bytesRem, s.progress], [1000, 50000]);
  assertEquals(s.timeRemMs, 100); // 1000 B at 10000 B/s
  m.done();
  const d = m.status();
  assertEquals([d.active, d.instRate, d.curRate], [false, 0, 0]);
  assertEquals(m.limitDelayMs(1), 0, "a finished transfer is not limited");
});

Deno.test("flowrate: limit() waits for the next sample and resolves; abort ends it", async () => {
  const m = new FlowMonitor();
  m.update(10_000);
  await m.limit(1000); // budget 100 B: must wait at least one sample, then proceed
  assertEquals(m.limitDelayMs(1000), 0);
  m.update(10_000);
  const ac = new AbortController();
  const p = m.limit(1, ac.signal);
  ac.abort();
  await p;
  await sleep(5, ac.signal);
});

Deno.test("flowrate: Go JSON shape of the status (§16.6)", () => {
  const clock = fakeClock();
  const m = new FlowMonitor({ now: clock.now });
  m.update(5120);
  clock.t += 100;
  const j = flowStatusToJSON(m.status());
  assertEquals(Object.keys(j), [
    "Start",
    "Bytes",
    "Samples",
    "InstRate",
    "CurRate",
    "AvgRate",
    "PeakRate",
    "BytesRem",
    "Duration",
    "Idle",
    "TimeRem",
    "Progress",
    "Active",
  ]);
  assertEquals(j.Bytes, "5120");
  assertEquals(j.Duration, "100000000");
  assertEquals(j.Progress, 0);
  assertEquals(j.Active, true);
  assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(j.Start), j.Start);
  assertEquals(goTimeString(new Date("2025-01-15T10:00:01.900Z")), "2025-01-15T10:00:01.9Z");
  assertEquals(goTimeString(new Date("2025-01-15T10:00:00.000Z")), "2025-01-15T10:00:00Z");
  assertEquals(msToNsString(61234.56789), "61234568000");
});
