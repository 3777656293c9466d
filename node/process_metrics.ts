/**
 * The `process_*` series Go's Prometheus client exports by default (client_golang's process
 * collector, registered by every cometbft node): CPU seconds, resident memory, start time, and,
 * where they can be read, open and maximum file descriptors and virtual memory.
 *
 * prom-client's `collectDefaultMetrics` does not fit: it adds dozens of `nodejs_*` series and
 * reads `/proc` in ways that fail under Deno. CPU and memory come from `node:process` and
 * `Deno.memoryUsage()` (no permission needed). The fd and virtual-memory series need
 * `/proc/self`, which Deno opens only to `--allow-all`; without it they are left out (not
 * reported as 0, which would lie), and the first failed read disables further tries.
 *
 * Like Go's, the series carry no `chain_id` label: they live in their own registry.
 * @module
 */
import process from "node:process";
import client from "prom-client";

/** Go's help strings (client_golang `process_collector.go`). */
const HELP = {
  cpu: "Total user and system CPU time spent in seconds.",
  openFds: "Number of open file descriptors.",
  maxFds: "Maximum number of open file descriptors.",
  vsize: "Virtual memory size in bytes.",
  vsizeMax: "Maximum amount of virtual memory available in bytes.",
  rss: "Resident memory size in bytes.",
  startTime: "Start time of the process since unix epoch in seconds.",
} as const;

/** What `/proc/self` gives, when it can be read. */
export interface ProcStats {
  openFds: number;
  /** Soft limit; `Infinity` when unlimited. */
  maxFds: number;
  vsizeBytes: number;
  /** Soft limit; `Infinity` when unlimited. */
  vsizeMaxBytes: number;
}

/** Parses the soft limit of a `/proc/self/limits` row ("unlimited" → Infinity). */
export function parseLimit(limits: string, name: string): number | undefined {
  const row = limits.split("\n").find((l) => l.startsWith(name));
  if (row === undefined) return undefined;
  const soft = row.slice(name.length).trim().split(/\s+/)[0];
  if (soft === "unlimited") return Infinity;
  const n = Number(soft);
  return Number.isFinite(n) ? n : undefined;
}

/** Field 23 (vsize) of `/proc/self/stat` (fields counted after the `(comm)` field). */
export function parseVsize(stat: string): number | undefined {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); vsize is field 23.
  const n = Number(rest[23 - 3]);
  return Number.isFinite(n) ? n : undefined;
}

/** Reads `/proc/self`, or undefined when it cannot (no `--allow-all`, not Linux). */
export function readProcStats(): ProcStats | undefined {
  try {
    let openFds = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) openFds++;
    const limits = Deno.readTextFileSync("/proc/self/limits");
    const vsize = parseVsize(Deno.readTextFileSync("/proc/self/stat"));
    const maxFds = parseLimit(limits, "Max open files");
    const vsizeMax = parseLimit(limits, "Max address space");
    if (vsize === undefined || maxFds === undefined || vsizeMax === undefined) return undefined;
    return { openFds, maxFds, vsizeBytes: vsize, vsizeMaxBytes: vsizeMax };
  } catch {
    return undefined;
  }
}

/** Go exports an unlimited limit as the largest uint64, as a float. */
function limitValue(n: number): number {
  return n === Infinity ? 18446744073709551615 : n;
}

/**
 * A registry holding the `process_*` series, collected at scrape time. `readProc` is injectable
 * for tests.
 */
export function processMetricsRegistry(
  readProc: () => ProcStats | undefined = readProcStats,
): client.Registry {
  const registry = new client.Registry();
  const registers = [registry];
  // prom-client calls `collect` with the metric as `this` before each scrape.
  new client.Counter({
    name: "process_cpu_seconds_total",
    help: HELP.cpu,
    registers,
    collect(this: client.Counter) {
      const u = process.cpuUsage();
      this.reset();
      this.inc((u.user + u.system) / 1e6);
    },
  });
  new client.Gauge({
    name: "process_resident_memory_bytes",
    help: HELP.rss,
    registers,
    collect(this: client.Gauge) {
      this.set(Deno.memoryUsage().rss);
    },
  });
  const start = new client.Gauge({
    name: "process_start_time_seconds",
    help: HELP.startTime,
    registers,
  });
  start.set(Math.floor(performance.timeOrigin / 1000));
  // Without /proc (no --allow-all) the fd and virtual-memory series are left out, not zero.
  if (readProc() === undefined) return registry;
  const gauge = (name: string, help: string, pick: (s: ProcStats) => number) => {
    new client.Gauge({
      name,
      help,
      registers,
      collect(this: client.Gauge) {
        const s = readProc();
        if (s !== undefined) this.set(pick(s));
      },
    });
  };
  gauge("process_open_fds", HELP.openFds, (s) => s.openFds);
  gauge("process_max_fds", HELP.maxFds, (s) => limitValue(s.maxFds));
  gauge("process_virtual_memory_bytes", HELP.vsize, (s) => s.vsizeBytes);
  gauge("process_virtual_memory_max_bytes", HELP.vsizeMax, (s) => limitValue(s.vsizeMaxBytes));
  return registry;
}
