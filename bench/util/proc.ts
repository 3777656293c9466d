/**
 * Process helpers for benchmarks that measure a server in a child process: memory and CPU from
 * `/proc/<pid>` (Linux), and a spawner that waits for the child's JSON `ready` line while
 * draining its stdout for the rest of its life (a full pipe would stall the child).
 * @module
 */

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on every Linux we target). */
const CLOCK_TICKS_PER_SEC = 100;

/**
 * Memory of a process in KiB: resident now (VmRSS), its peak (VmHWM), and the resident split
 * into private anonymous memory (RssAnon: heaps, stacks) and file-backed pages (RssFile: the
 * mapped executable and libraries, shared with every other process running the same binary).
 */
export interface ProcMemory {
  rssKiB: number;
  hwmKiB: number;
  anonKiB: number;
  fileKiB: number;
}

/** Reads VmRSS, VmHWM, RssAnon and RssFile of `pid` from `/proc/<pid>/status`. */
export function readProcMemory(pid: number): ProcMemory {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string) => {
    const m = text.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : NaN;
  };
  return {
    rssKiB: field("VmRSS"),
    hwmKiB: field("VmHWM"),
    anonKiB: field("RssAnon"),
    fileKiB: field("RssFile"),
  };
}

/**
 * User + system CPU time of `pid` so far, in ms (`/proc/<pid>/stat` utime + stime); of one of
 * its threads when `tid` is given (`/proc/<pid>/task/<tid>/stat`).
 */
export function readProcCpuMs(pid: number, tid?: number): number {
  const { userMs, sysMs } = readProcCpuSplitMs(pid, tid);
  return userMs + sysMs;
}

/** {@link readProcCpuMs} split into user and system (kernel) time. */
export function readProcCpuSplitMs(pid: number, tid?: number): { userMs: number; sysMs: number } {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  const text = Deno.readTextFileSync(path);
  // Fields after the command name (which may contain spaces) start at field 3 (state).
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return {
    userMs: (utime * 1000) / CLOCK_TICKS_PER_SEC,
    sysMs: (stime * 1000) / CLOCK_TICKS_PER_SEC,
  };
}

/** KiB as MiB with one decimal. */
export function mib(kib: number): string {
  return (kib / 1024).toFixed(1);
}

/** A child process that printed a JSON `{"event":"ready",...}` line. */
export interface ReadyChild {
  readonly pid: number;
  /** The ready line, parsed. */
  readonly ready: Record<string, unknown>;
  /** Closes stdin (the child's signal to stop), waits for exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
  /** Writes `text` to the child's stdin (for children that take commands there). */
  send(text: string): Promise<void>;
  /**
   * The next JSON event line after the ready line (the last {@link MAX_QUEUED_EVENTS} unread
   * ones are kept); rejects once stdout closed with none left.
   */
  nextEvent(): Promise<Record<string, unknown>>;
}

/** Unread events kept per child: children that report continuously must not grow the queue. */
const MAX_QUEUED_EVENTS = 64;

/** The child exited or timed out before its ready line. */
export class ChildNotReadyError extends Error {
  constructor(what: string, detail: string) {
    super(`${what} did not become ready: ${detail}`);
    this.name = "ChildNotReadyError";
  }
}

/**
 * Spawns `cmd args` (stdin piped, stdout parsed as JSON lines, stderr discarded unless
 * `inheritStderr`) and resolves once it prints a line whose `event` is `ready`. Later JSON lines
 * are queued for {@link ReadyChild.nextEvent}; other output is dropped.
 */
export async function spawnReadyChild(
  what: string,
  cmd: string,
  args: string[],
  opts: { readyTimeoutMs?: number; inheritStderr?: boolean } = {},
): Promise<ReadyChild> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: opts.inheritStderr ? "inherit" : "null",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const ready = Promise.withResolvers<Record<string, unknown>>();
  let isReady = false;
  const events: Record<string, unknown>[] = [];
  let waiter: PromiseWithResolvers<void> | undefined;
  let ended = false;
  const pump = (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        try {
          const ev = JSON.parse(line) as Record<string, unknown>;
          if (isReady) {
            if (events.push(ev) > MAX_QUEUED_EVENTS) events.shift();
            waiter?.resolve();
          } else if (ev.event === "ready") {
            isReady = true;
            ready.resolve(ev);
          } else if (ev.event === "error") {
            ready.reject(new ChildNotReadyError(what, String(ev.error)));
          }
        } catch {
          // Not JSON: ignore.
        }
      }
    }
    ready.reject(new ChildNotReadyError(what, "stdout closed"));
    ended = true;
    waiter?.resolve();
  })();
  const nextEvent = async (): Promise<Record<string, unknown>> => {
    while (events.length === 0) {
      if (ended) throw new Error(`${what}: stdout closed before the next event`);
      waiter = Promise.withResolvers<void>();
      await waiter.promise;
    }
    return events.shift()!;
  };
  const send = (text: string) => stdin.write(new TextEncoder().encode(text));
  let stopping: Promise<Deno.CommandStatus> | undefined;
  const stop = (graceMs = 5_000): Promise<Deno.CommandStatus> => {
    stopping ??= (async () => {
      await stdin.close().catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), graceMs));
      const res = await Promise.race([child.status, grace]);
      clearTimeout(timer);
      if (res === "timeout") {
        try {
          child.kill("SIGKILL");
        } catch {
          // Exited in between.
        }
      }
      const status = await child.status;
      await pump;
      return status;
    })();
    return stopping;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const ev = await Promise.race([
      ready.promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ChildNotReadyError(what, "timeout")),
          opts.readyTimeoutMs ?? 30_000,
        );
      }),
    ]);
    return { pid: child.pid, ready: ev, stop, send, nextEvent };
  } catch (err) {
    await stop(1_000);
    throw err;
  } finally {
    clearTimeout(timer);
    ready.promise.catch(() => {}); // a later reject (stdout closed) is not an error
  }
}
