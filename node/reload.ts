/**
 * Config reload without a restart (`SIGHUP`): which chains to add, remove, restart or keep
 * ({@link planReload}), which process-wide settings only a restart applies
 * ({@link processWideChanges}), and the signal watcher ({@link watchReloadSignal}).
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
  /** Chains that did not (re)start, with the reason; they are not running. */
  failed: { name: string; error: string }[];
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
 * Calls `reload` on every {@link RELOAD_SIGNAL} until disposed. A failed reload is logged with
 * its reason (the running chains are untouched); reloads never overlap.
 */
export function watchReloadSignal(
  log: Logger,
  reload: () => Promise<unknown>,
): { dispose(): Promise<void> } {
  let chain: Promise<void> = Promise.resolve();
  const handler = () => {
    log.info("Received signal, reloading config", { signal: RELOAD_SIGNAL });
    chain = chain.then(async () => {
      try {
        await reload();
      } catch (e) {
        log.error("Config reload refused; running chains untouched", { err: e });
      }
    });
  };
  Deno.addSignalListener(RELOAD_SIGNAL, handler);
  return {
    async dispose() {
      Deno.removeSignalListener(RELOAD_SIGNAL, handler);
      await chain;
    },
  };
}
