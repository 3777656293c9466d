/**
 * Judging a soak's samples: whether a long-lived node's RSS or fd count keeps growing after
 * warm-up, and a small ASCII chart of a series over time.
 *
 * Growth criterion (both must hold over the second half of the run, the first half being
 * warm-up: JIT, caches, the address book and peer set filling):
 * - the least-squares slope is above a per-minute limit, and
 * - the floor rose: the minimum of the last quarter of the run exceeds the minimum of the third
 *   quarter by more than an absolute limit.
 * A garbage-collected heap saws up and down, and peers come and go, so a slope alone can be
 * fooled by where the last samples fall; a leak also lifts the floor, a sawtooth does not.
 * @module
 */

/** One measurement of one node. */
export interface Sample {
  /** ms since the soak started. */
  t: number;
  rss?: number;
  fds?: number;
  peers?: number;
}

/** Limits of the growth criterion for one quantity. */
export interface GrowthLimit {
  /** Slope limit, in units per minute. */
  perMinute: number;
  /** Floor rise limit, in units. */
  floorRise: number;
}

/** RSS: 1 MiB/min and 16 MiB of floor rise. */
export const RSS_LIMIT: GrowthLimit = { perMinute: 1024 * 1024, floorRise: 16 * 1024 * 1024 };
/** fds: 1 per minute and 8 more at the floor. */
export const FD_LIMIT: GrowthLimit = { perMinute: 1, floorRise: 8 };

/** Least-squares slope of `ys` over `xs` (units per x-unit); 0 for fewer than two points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  let sx = 0, sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i];
    sy += ys[i];
  }
  const mx = sx / n, my = sy / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The verdict on one series. */
export interface GrowthVerdict {
  growing: boolean;
  /** Units per minute over the second half. */
  perMinute: number;
  /** Floor rise from the third to the last quarter. */
  floorRise: number;
  /** Samples the verdict rests on. */
  points: number;
}

/**
 * Applies the growth criterion to `(t, value)` points of a run that lasted `durationMs`
 * (points before half of it are warm-up). Needs at least 8 points after warm-up; with fewer it
 * says "not growing" and `points` tells why.
 */
export function growth(
  points: ReadonlyArray<{ t: number; v: number }>,
  durationMs: number,
  limit: GrowthLimit,
): GrowthVerdict {
  const half = durationMs / 2;
  const late = points.filter((p) => p.t >= half);
  if (late.length < 8) return { growing: false, perMinute: 0, floorRise: 0, points: late.length };
  const perMinute = slope(late.map((p) => p.t / 60_000), late.map((p) => p.v));
  const q3 = late.filter((p) => p.t < half * 1.5).map((p) => p.v);
  const q4 = late.filter((p) => p.t >= half * 1.5).map((p) => p.v);
  const floorRise = q3.length > 0 && q4.length > 0 ? Math.min(...q4) - Math.min(...q3) : 0;
  return {
    growing: perMinute > limit.perMinute && floorRise > limit.floorRise,
    perMinute,
    floorRise,
    points: late.length,
  };
}

/**
 * A small ASCII chart: `height` rows, up to `width` columns (the series is bucketed by time,
 * each column the mean of its bucket), y labels at top and bottom.
 */
export function asciiChart(
  title: string,
  points: ReadonlyArray<{ t: number; v: number }>,
  durationMs: number,
  fmt: (v: number) => string,
  width = 60,
  height = 8,
): string {
  if (points.length === 0) return `${title}: no samples`;
  // No more columns than sampling rounds, so a short run has no gaps.
  width = Math.max(1, Math.min(width, new Set(points.map((p) => p.t)).size));
  const cols: number[] = [];
  for (let c = 0; c < width; c++) {
    const lo = (durationMs * c) / width, hi = (durationMs * (c + 1)) / width;
    const vs = points.filter((p) => p.t >= lo && (p.t < hi || (c === width - 1 && p.t <= hi)));
    cols.push(vs.length === 0 ? NaN : vs.reduce((s, p) => s + p.v, 0) / vs.length);
  }
  const valid = cols.filter((v) => !Number.isNaN(v));
  const min = Math.min(...valid), max = Math.max(...valid);
  const span = max - min || 1;
  const rows: string[] = [];
  const labelW = Math.max(fmt(max).length, fmt(min).length);
  for (let r = height - 1; r >= 0; r--) {
    let line = "";
    for (const v of cols) {
      if (Number.isNaN(v)) line += " ";
      else {
        const level = Math.round(((v - min) / span) * (height - 1));
        line += level === r ? "*" : level > r ? ":" : " ";
      }
    }
    const label = r === height - 1 ? fmt(max) : r === 0 ? fmt(min) : "";
    rows.push(`${label.padStart(labelW)} |${line}`);
  }
  rows.push(`${"".padStart(labelW)} +${"-".repeat(width)}`);
  rows.push(
    `${"".padStart(labelW)}  0${`${(durationMs / 60_000).toFixed(1)} min`.padStart(width - 1)}`,
  );
  return `${title}\n${rows.join("\n")}`;
}
