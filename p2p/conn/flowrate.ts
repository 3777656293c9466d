/**
 * Flow-rate monitor and limiter, the behaviour of CometBFT's `libs/flowrate` (spec §5.6):
 * bytes are accumulated into samples of {@link DEFAULT_SAMPLE_MS}; each finished sample updates
 * the instantaneous rate, its exponential moving average over {@link DEFAULT_WINDOW_MS}, and the
 * peak. The limiter lets a transfer proceed while the bytes of the current sample are below
 * `round(rate × sample period)`, and otherwise waits for the next sample.
 * @module
 */
import { sleep } from "../../libs/sleep.ts";

/** Resolution of the monitor clock (Go: `clockRate`). */
export const CLOCK_RESOLUTION_MS = 20;
/** Sampling period (Go: 5 × clockRate). */
export const DEFAULT_SAMPLE_MS = 100;
/** EMA window (Go: 1 s). */
export const DEFAULT_WINDOW_MS = 1000;
/** Shortest sleep while waiting for the next sample (Go: `minWait`). */
const MIN_WAIT_MS = 5;
/** Upper bound of `timeRemMs` (Go: 999h59m59s). */
const TIME_REM_LIMIT_MS = (999 * 3600 + 59 * 60 + 59) * 1000;

/** Snapshot of a monitor (Go `flowrate.Status`); rates in B/s, durations in ms. */
export interface FlowStatus {
  /** Transfer start time. */
  start: Date;
  /** Total bytes transferred (completed samples). */
  bytes: number;
  /** Number of samples taken. */
  samples: number;
  /** Rate of the most recent sample. */
  instRate: number;
  /** EMA of the sample rates. */
  curRate: number;
  /** bytes / duration. */
  avgRate: number;
  /** Highest sample rate. */
  peakRate: number;
  /** Bytes remaining of a declared transfer size (0 without one). */
  bytesRem: number;
  /** Time covered by the statistics, ms. */
  durationMs: number;
  /** Time since the last transfer of at least one byte, ms. */
  idleMs: number;
  /** Estimated time to completion, ms. */
  timeRemMs: number;
  /** Progress in thousandths of a percent (0 without a declared transfer size). */
  progress: number;
  /** Whether the transfer is active. */
  active: boolean;
}

/** Options of {@link FlowMonitor}: periods and an injectable clock for tests. */
export interface FlowMonitorOptions {
  sampleMs?: number;
  windowMs?: number;
  /** Monotonic milliseconds; default `performance.now()`. */
  now?: () => number;
}

/** Rounds half up, as Go's `round` for non-negative values. */
function roundRate(x: number): number {
  return Math.floor(x + 0.5);
}

function clockRound(ms: number): number {
  return Math.round(ms / CLOCK_RESOLUTION_MS) * CLOCK_RESOLUTION_MS;
}

/** The default clock, shared by every monitor (no per-monitor closures). */
const defaultClock = () => clockRound(performance.now());

/** Monitors and limits the rate of one data stream (send or receive side of a connection). */
export class FlowMonitor {
  readonly #now: () => number;
  readonly #sampleMs: number;
  readonly #windowSec: number;
  readonly #startWall: number;
  #active = true;
  readonly #start: number;
  #bytes = 0;
  #samples = 0;
  #rSample = 0;
  #rEMA = 0;
  #rPeak = 0;
  #sBytes = 0;
  #sLast: number;
  #tBytes = 0;
  #tLast: number;

  constructor(opts: FlowMonitorOptions = {}) {
    const custom = opts.now;
    const now = custom ?? (() => performance.now());
    this.#now = custom ? () => clockRound(custom()) : defaultClock;
    const sample = clockRound(opts.sampleMs ?? DEFAULT_SAMPLE_MS);
    this.#sampleMs = sample > 0 ? sample : DEFAULT_SAMPLE_MS;
    this.#windowSec = (opts.windowMs && opts.windowMs > 0 ? opts.windowMs : DEFAULT_WINDOW_MS) /
      1000;
    const t = this.#now();
    this.#start = t;
    this.#sLast = t;
    this.#tLast = t;
    this.#startWall = Date.now() - (now() - t);
  }

  /** Records `n` transferred bytes (call after every read/write, even with 0). */
  update(n: number): void {
    this.#update(n);
  }

  /** Declares the size of the whole transfer (for `bytesRem`, `progress`, `timeRemMs`). */
  setTransferSize(bytes: number): void {
    this.#tBytes = Math.max(0, bytes);
  }

  /** Marks the transfer finished: limiting stops, rates drop to zero. */
  done(): void {
    const now = this.#update(0);
    if (this.#sBytes > 0) this.#reset(now);
    this.#active = false;
    this.#tLast = 0;
  }

  /**
   * How long to wait before transferring more under `rateBps`: 0 when the current sample is
   * still below its budget (or `rateBps` < 1, or the monitor is done), otherwise the time until
   * the next sample starts (at least 5 ms).
   */
  limitDelayMs(rateBps: number): number {
    if (rateBps < 1 || !this.#active) return 0;
    let budget = roundRate(rateBps * this.#sampleMs / 1000);
    if (budget <= 0) budget = 1;
    const now = this.#update(0);
    if (this.#sBytes < budget) return 0;
    return Math.max(MIN_WAIT_MS, this.#sLast + this.#sampleMs - now);
  }

  /**
   * Waits while the current sample has used its budget under `rateBps` (Go `Limit(.., true)`).
   * Resolves early, without error, when `signal` aborts.
   */
  async limit(rateBps: number, signal?: AbortSignal): Promise<void> {
    let d = this.limitDelayMs(rateBps);
    while (d > 0 && !signal?.aborted) {
      await sleep(d, signal);
      d = this.limitDelayMs(rateBps);
    }
  }

  /** Current status (Go `Status()`). */
  status(): FlowStatus {
    const now = this.#update(0);
    const durationMs = this.#sLast - this.#start;
    const bytesRem = Math.max(0, this.#tBytes - this.#bytes);
    const s: FlowStatus = {
      start: new Date(this.#startWall),
      bytes: this.#bytes,
      samples: this.#samples,
      instRate: 0,
      curRate: 0,
      avgRate: 0,
      peakRate: roundRate(this.#rPeak),
      bytesRem,
      durationMs,
      idleMs: now - this.#tLast,
      timeRemMs: 0,
      progress: this.#tBytes > 0
        ? Math.min(roundRate(this.#bytes / this.#tBytes * 1e5), 0xffffffff)
        : 0,
      active: this.#active,
    };
    if (durationMs > 0) {
      const rAvg = this.#bytes / (durationMs / 1000);
      s.avgRate = roundRate(rAvg);
      if (this.#active) {
        s.instRate = roundRate(this.#rSample);
        s.curRate = roundRate(this.#rEMA);
        const tRate = 0.8 * this.#rEMA + 0.2 * rAvg;
        if (bytesRem > 0 && tRate > 0) {
          s.timeRemMs = clockRound(Math.min(bytesRem / tRate * 1000, TIME_REM_LIMIT_MS));
        }
      }
    }
    return s;
  }

  #update(n: number): number {
    if (!this.#active) return 0;
    const now = this.#now();
    if (n > 0) this.#tLast = now;
    this.#sBytes += n;
    const sTime = now - this.#sLast;
    if (sTime >= this.#sampleMs) {
      const t = sTime / 1000;
      this.#rSample = this.#sBytes / t;
      if (this.#rSample > this.#rPeak) this.#rPeak = this.#rSample;
      // EMA like the Unix load average: longer samples weigh more.
      if (this.#samples > 0) {
        const w = Math.exp(-t / this.#windowSec);
        this.#rEMA = this.#rSample + w * (this.#rEMA - this.#rSample);
      } else {
        this.#rEMA = this.#rSample;
      }
      this.#reset(now);
    }
    return now;
  }

  #reset(sampleTime: number): void {
    this.#bytes += this.#sBytes;
    this.#samples++;
    this.#sBytes = 0;
    this.#sLast = sampleTime;
  }
}

/** Go-JSON shape of a {@link FlowStatus} (spec §16.6): int64s and durations (ns) as strings. */
export interface FlowStatusJSON {
  Start: string;
  Bytes: string;
  Samples: string;
  InstRate: string;
  CurRate: string;
  AvgRate: string;
  PeakRate: string;
  BytesRem: string;
  Duration: string;
  Idle: string;
  TimeRem: string;
  Progress: number;
  Active: boolean;
}

/** Milliseconds as a Go `time.Duration` JSON value (nanoseconds, decimal string). */
export function msToNsString(ms: number): string {
  return (BigInt(Math.round(ms * 1000)) * 1000n).toString();
}

/** RFC 3339 in UTC with trailing fractional zeros trimmed, as Go's `time.Time` JSON. */
export function goTimeString(d: Date): string {
  const iso = d.toISOString(); // 2025-01-15T10:00:01.900Z
  const [main, frac] = iso.slice(0, -1).split(".");
  const trimmed = (frac ?? "").replace(/0+$/, "");
  return trimmed ? `${main}.${trimmed}Z` : `${main}Z`;
}

/** Converts a {@link FlowStatus} to the CometBFT RPC JSON shape. */
export function flowStatusToJSON(s: FlowStatus): FlowStatusJSON {
  return {
    Start: goTimeString(s.start),
    Bytes: String(s.bytes),
    Samples: String(s.samples),
    InstRate: String(s.instRate),
    CurRate: String(s.curRate),
    AvgRate: String(s.avgRate),
    PeakRate: String(s.peakRate),
    BytesRem: String(s.bytesRem),
    Duration: msToNsString(s.durationMs),
    Idle: msToNsString(s.idleMs),
    TimeRem: msToNsString(s.timeRemMs),
    Progress: s.progress,
    Active: s.active,
  };
}
