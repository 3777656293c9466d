/**
 * Shared formatting for benchmarks that report our figure next to the Go figure measured in the
 * same run.
 * @module
 */

/** Which way a figure improves; the printed ratio is always ours/Go. */
export type Better = "higher" | "lower";

/** A figure with precision suited to its size. */
export function fmtNum(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 100) return Math.round(n).toString();
  if (a >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/**
 * `<name>: ours X unit, go Y unit, ours/go R (higher|lower is better)`; without a Go figure
 * (no toolchain, or it failed) the line says so instead of a ratio.
 */
export function compareLine(
  name: string,
  ours: number,
  go: number | undefined,
  unit: string,
  better: Better,
): string {
  const head = `${name}: ours ${fmtNum(ours)} ${unit}`;
  if (go === undefined || !Number.isFinite(go)) return `${head}, go not measured`;
  const ratio = go === 0 ? "n/a" : (ours / go).toFixed(2);
  return `${head}, go ${fmtNum(go)} ${unit}, ours/go ${ratio} (${better} is better)`;
}

/** `median [min-max]` of `xs`, each figure through `fmt` (the benchmarks' range notation). */
export function medianRangeWith(xs: readonly number[], fmt: (x: number) => string): string {
  const s = [...xs].sort((a, b) => a - b);
  return `${fmt(s[Math.floor(s.length / 2)])} [${fmt(s[0])}-${fmt(s.at(-1)!)}]`;
}

/** {@link medianRangeWith} with `digits` decimals. */
export function medianRange(xs: readonly number[], digits = 0): string {
  return medianRangeWith(xs, (x) => x.toFixed(digits));
}
