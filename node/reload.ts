/**
 * Config reload without a restart (`SIGHUP`): which chains to add, remove, restart or keep
 * ({@link planReload}), which process-wide settings only a restart applies
 * ({@link processWideChanges}), and the signal handler ({@link ReloadSignal}).
 *
 * A chain is "changed" when anything of its effective config other than the process-wide parts
 * (`[rpc]`, `[instrumentation]`, `log_level`, `log_format`) differs, or its resolved chain ID
 * does. A changed chain restarts (its peers drop and reconnect); an unchanged one keeps running
 * with its peers.
 * @module
 */
import type { Config } from "../config/mod.ts";
import type { Logger } from "../libs/log.ts";

/** The signal that re-reads the config. */
export const RELOAD_SIGNAL: Deno.Signal = "SIGHUP";

/** What {@link planReload} compares: a running chain or a new spec. */
export interface ChainLike {
  readonly name: string;
  readonly config: Config;
  readonly chainId: string;
}

/** The outcome of one reload. */
export interface ReloadReport {
  added: string[];
  removed: string[];
  restarted: string[];
  unchanged: string[];
  /**
   * Chains whose new config did not start, with the reason. An added chain is not running; a
   * changed one runs again with its previous config when that could be started (`restored`).
   */
  failed: { name: string; error: string; restored?: boolean }[];
}

/** What to do with each chain. */
export interface ReloadPlan<R extends ChainLike, S extends ChainLike> {
  add: S[];
  remove: R[];
  restart: S[];
  keep: R[];
}

/** The part of a chain's config that a running chain depends on (process-wide parts left out). */
function chainView(c: ChainLike): string {
  const { rpc: _rpc, instrumentation: _ins, logLevel: _l, logFormat: _f, ...rest } = c.config;
  return JSON.stringify({ resolvedChainId: c.chainId, ...rest });
}

/** Sorts chains into add / remove / restart / keep by name and effective config. */
export function planReload<R extends ChainLike, S extends ChainLike>(
  running: readonly R[],
  next: readonly S[],
): ReloadPlan<R, S> {
  const plan: ReloadPlan<R, S> = { add: [], remove: [], restart: [], keep: [] };
  const nextByName = new Map(next.map((s) => [s.name, s]));
  const runningByName = new Map(running.map((c) => [c.name, c]));
  for (const c of running) {
    const s = nextByName.get(c.name);
    if (!s) plan.remove.push(c);
    else if (chainView(c) !== chainView(s)) plan.restart.push(s);
    else plan.keep.push(c);
  }
  for (const s of next) if (!runningByName.has(s.name)) plan.add.push(s);
  return plan;
}

/** Process-wide keys whose change a reload cannot apply (one RPC/metrics server, one log). */
export function processWideChanges(before: Config, after: Config): string[] {
  const out: string[] = [];
  const cmp = (key: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(key);
  };
  cmp("rpc", before.rpc, after.rpc);
  cmp("instrumentation", before.instrumentation, after.instrumentation);
  cmp("log_level", before.logLevel, after.logLevel);
  cmp("log_format", before.logFormat, after.logFormat);
  return out;
}

/**
 * The {@link RELOAD_SIGNAL} handler of the daemon, installed first thing so that a SIGHUP at any
 * moment of the process's life is caught (its default action would kill the process):
 *
 * - before {@link arm} (config still loading, chains still starting) a SIGHUP is remembered,
 *   and one reload runs as soon as the node is armed (it reads the config as it is then);
 * - once armed, signals are coalesced: one reload runs at a time, and any number of signals
 *   during it make exactly one more (a storm of N signals costs at most one reload beyond the
 *   one running, whatever N is, and that one reads the file as it was last written);
 * - after {@link close} (the node is stopping) signals are ignored, and the listener stays
 *   installed until the process exits so that a late SIGHUP cannot turn a clean exit into a
 *   death by signal.
 *
 * A failed reload is logged with its reason (the running chains are untouched).
 */
export class ReloadSignal {
  #log: Logger | undefined;
  #reload: (() => Promise<unknown>) | undefined;
  /** A signal arrived before {@link arm}. */
  #pending = false;
  /** A signal arrived while a reload was running. */
  #again = false;
  #closed = false;
  #running: Promise<void> | undefined;
  readonly #handler = () => this.#onSignal();
  #installed = false;

  /** Installs the listener at once. */
  constructor() {
    Deno.addSignalListener(RELOAD_SIGNAL, this.#handler);
    this.#installed = true;
  }

  /** True while a signal received before {@link arm} waits for it. */
  get pending(): boolean {
    return this.#pending;
  }

  /** Starts serving signals with `reload`; a signal received earlier reloads now. */
  arm(log: Logger, reload: () => Promise<unknown>): void {
    if (this.#closed) return;
    this.#log = log;
    this.#reload = reload;
    if (this.#pending) {
      this.#pending = false;
      log.info("Signal received during start-up; reloading now", { signal: RELOAD_SIGNAL });
      this.#request();
    }
  }

  /**
   * Ignores every later signal; a reload in flight runs on (the node's stop waits for it,
   * within the stop deadline).
   */
  close(): void {
    this.#closed = true;
    this.#again = false;
  }

  /** {@link close}, waits for a reload in flight, then removes the listener (in-process users). */
  async dispose(): Promise<void> {
    this.close();
    await this.#running;
    if (this.#installed) Deno.removeSignalListener(RELOAD_SIGNAL, this.#handler);
    this.#installed = false;
  }

  #onSignal(): void {
    if (this.#closed) {
      this.#log?.info("Received signal while stopping; ignored", { signal: RELOAD_SIGNAL });
      return;
    }
    if (!this.#reload) {
      this.#pending = true;
      return;
    }
    this.#log!.info("Received signal, reloading config", { signal: RELOAD_SIGNAL });
    this.#request();
  }

  #request(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop();
  }

  /** Runs reloads while signals keep coming; each pass reads the config afresh. */
  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false;
        try {
          await this.#reload!();
        } catch (e) {
          this.#log!.error("Config reload refused; running chains untouched", { err: e });
        }
      } while (this.#again && !this.#closed);
    } finally {
      // In the same synchronous step as the last check of #again: no signal falls in between.
      this.#running = undefined;
    }
  }
}
