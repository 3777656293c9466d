/**
 * Go `time.Duration` text: a strict parser (`time.ParseDuration`) and Go's exact `String()`
 * form, so durations in `config.toml` read and render the way CometBFT's do (`"100ms"`, `"20s"`,
 * `"0s"`, `"1m30s"`, `"72h0m0s"`).
 * @module
 */

/** Thrown for text `time.ParseDuration` would refuse. */
export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DurationError";
  }
}

/** Nanoseconds per unit, as Go spells the units (`µs` is U+00B5, `μs` U+03BC). */
const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3,
  "\u03bcs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Largest duration Go can represent (int64 nanoseconds). */
const MAX_DURATION_NS = 9223372036854775807;

/**
 * Parses a Go duration string into nanoseconds: an optional sign, then one or more
 * `<decimal><unit>` terms (`1h30m`, `1.5s`, `300ms`); a bare `0` is allowed, any other number
 * needs a unit.
 * @throws DurationError naming the text.
 */
export function parseGoDuration(text: string): number {
  const bad = (why: string) =>
    new DurationError(`invalid duration ${JSON.stringify(text)}: ${why}`);
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw bad("empty");
  let total = 0;
  const term = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]*)/;
  while (s !== "") {
    const m = term.exec(s);
    if (!m || m[0] === "") throw bad("expected a number");
    const [whole, intPart, fracPart, unit] = m;
    if (intPart === "" && (fracPart === undefined || fracPart === "")) {
      throw bad("expected a number");
    }
    if (unit === "") throw bad("missing unit (use h, m, s, ms, us or ns)");
    const scale = UNIT_NS[unit];
    if (scale === undefined) throw bad(`unknown unit ${JSON.stringify(unit)}`);
    let value = Number(intPart || "0") * scale;
    if (fracPart) value += Number("0." + fracPart) * scale;
    total += value;
    if (total > MAX_DURATION_NS) throw bad("out of range");
    s = s.slice(whole.length);
  }
  return sign * Math.round(total);
}

/** Formats `frac` digits of `v` with trailing zeros removed ("1.5", "2"). */
function fmtFrac(v: number, digits: number): string {
  const unit = 10 ** digits;
  const whole = Math.floor(v / unit);
  const frac = v % unit;
  if (frac === 0) return String(whole);
  return `${whole}.${String(frac).padStart(digits, "0").replace(/0+$/, "")}`;
}

/** Go's `Duration.String()` of `ns` nanoseconds (rounded to whole nanoseconds). */
export function formatGoDuration(ns: number): string {
  let n = Math.round(ns);
  if (n === 0) return "0s";
  const neg = n < 0;
  if (neg) n = -n;
  let out: string;
  if (n < 1e3) out = `${n}ns`;
  else if (n < 1e6) out = `${fmtFrac(n, 3)}\u00b5s`;
  else if (n < 1e9) out = `${fmtFrac(n, 6)}ms`;
  else {
    const h = Math.floor(n / 3600e9);
    const rest = n - h * 3600e9;
    const m = Math.floor(rest / 60e9);
    const secNs = rest - m * 60e9;
    const secs = `${fmtFrac(secNs, 9)}s`;
    if (h > 0) out = `${h}h${m}m${secs}`;
    else if (m > 0) out = `${m}m${secs}`;
    else out = secs;
  }
  return neg ? "-" + out : out;
}

/** Milliseconds → Go duration text (the typed config keeps milliseconds). */
export function formatMs(ms: number): string {
  return formatGoDuration(ms * 1e6);
}
