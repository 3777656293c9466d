/**
 * A child process of the demo: output teed to a log file and scanned line by line, and a stop
 * that always ends in the process being gone (SIGTERM, wait, SIGKILL after a grace period).
 * @module
 */

/** How long a child may take to stop after SIGTERM before it is killed. */
export const STOP_GRACE_MS = 8_000;
/**
 * After Ctrl-C the terminal already sent SIGINT to every child (same process group); give them
 * this long to stop on their own before the SIGTERM, so a graceful stop is not turned into a
 * forced one by a second signal.
 */
export const SIGINT_SETTLE_MS = 1_500;

/** A running child. */
export interface DemoProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit status once the process is gone. */
  readonly exited: Promise<Deno.CommandStatus>;
  /**
   * Stops the process (idempotent); resolves when it is gone and its output is drained. With
   * `settleMs`, first gives it that long to exit on a signal it already got (Ctrl-C).
   */
  stop(settleMs?: number): Promise<void>;
}

/** Options of {@link startProcess}. */
export interface ProcessOptions {
  name: string;
  cmd: string;
  args: string[];
  cwd?: string;
  /** Where stdout+stderr go. */
  logFile: string;
  /** Called for every output line. */
  onLine?: (line: string) => void;
}

async function pump(
  stream: ReadableStream<Uint8Array>,
  file: Deno.FsFile,
  onLine: ((line: string) => void) | undefined,
): Promise<void> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    await file.write(chunk);
    if (!onLine) continue;
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  }
  if (onLine && buf) onLine(buf);
}

/** Spawns a child with piped output. */
export function startProcess(opts: ProcessOptions): DemoProcess {
  const file = Deno.openSync(opts.logFile, { create: true, append: true });
  const child = new Deno.Command(opts.cmd, {
    args: opts.args,
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pumps = Promise.all([
    pump(child.stdout, file, opts.onLine),
    pump(child.stderr, file, opts.onLine),
  ]).catch(() => {}).finally(() => file.close());
  let exitedFlag = false;
  const exited = child.status.then((s) => {
    exitedFlag = true;
    return s;
  });
  let stopping: Promise<void> | undefined;
  const stop = async (settleMs: number): Promise<void> => {
    // Maybe it already got the terminal's SIGINT: let it finish gracefully first.
    if (settleMs > 0) {
      let settle: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([exited, new Promise((r) => settle = setTimeout(r, settleMs))]);
      clearTimeout(settle);
    }
    if (!exitedFlag) {
      try {
        child.kill("SIGTERM");
      } catch { /* exited meanwhile */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        exited,
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            try {
              child.kill("SIGKILL");
            } catch { /* exited meanwhile */ }
            resolve();
          }, STOP_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    await exited;
    await pumps;
  };
  return {
    name: opts.name,
    pid: child.pid,
    exited,
    stop: (settleMs = 0) => (stopping ??= stop(settleMs)),
  };
}
