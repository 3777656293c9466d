/**
 * Interop harness: runs a real CometBFT node (the Go binary) on loopback for tests: v0.38 by
 * default, or any line's binary given as {@link CometbftOptions.bin} (see `lines.ts`). The
 * config keys it rewrites exist under the same names in every line's `config.toml`
 * (v0.34's `[fastsync]` vs later `[blocksync]` is left alone).
 *
 * Binary lookup order: `$COMETBFT_BIN`, then `cometbft` on `$PATH`, then `$HOME/go/bin/cometbft`.
 * When the binary is missing, interop tests are skipped locally but FAIL under `CI=true`
 * (`.ci/run` installs it), so a CI run can never pass silently without the interop suite.
 *
 * Everything binds to 127.0.0.1 only.
 * @module
 */

/** The message interop tests fail with under CI when no binary is found. */
export const MISSING_BINARY_MESSAGE = "cometbft binary not found; .ci/run installs it";

/** Env var that keeps temp homes (with `cometbft.log`) after `stop()`, for debugging. */
const KEEP_HOMES_ENV = "SWITCHYARD_KEEP_COMETBFT_HOMES";

/** How long `stop()` waits after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** How long `startCometbft` waits for RPC `/status` to answer. */
const DEFAULT_START_TIMEOUT_MS = 30_000;
/** Poll interval while waiting for RPC to come up. */
const RPC_POLL_INTERVAL_MS = 100;
/** Per-request timeout of the RPC helper. */
const RPC_REQUEST_TIMEOUT_MS = 5_000;
/** How much of the combined stdout/stderr is kept in memory for assertions. */
const LOG_TAIL_MAX_CHARS = 4 * 1024 * 1024;

let cachedBinary: string | null | undefined;

function isExecutableFile(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Path of the cometbft binary, or `null` when none is found. Cached after the first call. */
export function findCometbft(): string | null {
  if (cachedBinary !== undefined) return cachedBinary;
  const candidates: string[] = [];
  const fromEnv = Deno.env.get("COMETBFT_BIN");
  if (fromEnv) candidates.push(fromEnv);
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir) candidates.push(`${dir}/cometbft`);
  }
  const home = Deno.env.get("HOME");
  if (home) candidates.push(`${home}/go/bin/cometbft`);
  cachedBinary = candidates.find(isExecutableFile) ?? null;
  return cachedBinary;
}

/** True when a cometbft binary is available. */
export function cometbftAvailable(): boolean {
  return findCometbft() !== null;
}

function inCI(): boolean {
  return Deno.env.get("CI") === "true";
}

let skipNoticePrinted = false;

/**
 * Test-option fragment for interop tests: `Deno.test({ name, ...requireCometbftOrSkip(), fn })`.
 * With the binary present: runs. Missing locally: `ignore: true` (the reason is printed once).
 * Missing under `CI=true`: runs, and {@link startCometbft} throws {@link MISSING_BINARY_MESSAGE}.
 */
export function requireCometbftOrSkip(): { ignore: boolean } {
  if (cometbftAvailable() || inCI()) return { ignore: false };
  if (!skipNoticePrinted) {
    skipNoticePrinted = true;
    console.error(
      `skipping interop tests: ${MISSING_BINARY_MESSAGE} (set CI=true to fail instead)`,
    );
  }
  return { ignore: true };
}

/** Throws when the binary is missing (used at the start of every interop test body). */
export function requireCometbft(): string {
  const bin = findCometbft();
  if (bin === null) throw new Error(MISSING_BINARY_MESSAGE);
  return bin;
}

/**
 * Registers an interop test with the skip/fail semantics of {@link requireCometbftOrSkip}.
 * Sanitizers stay on.
 */
export function interopTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({
    name,
    ...requireCometbftOrSkip(),
    async fn(t) {
      requireCometbft();
      await fn(t);
    },
  });
}

/** A free loopback TCP port (bind 127.0.0.1:0, read the port, close). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A config value as written into `config.toml`. */
export type TomlValue = string | number | boolean;

/** Options of {@link startCometbft}. Defaults suit a single local test node. */
export interface CometbftOptions {
  /** The binary to run (another line's); default: the v0.38 binary {@link findCometbft} finds. */
  bin?: string;
  /** Genesis chain id; default: a fresh `switchyard-test-<random>`. */
  chainId?: string;
  moniker?: string;
  /** CometBFT `log_level`, e.g. `p2p:debug,*:info`. Default `info`. */
  logLevel?: string;
  /** `p2p.pex`; default true. */
  pex?: boolean;
  /** `p2p.seed_mode`; default false. */
  seedMode?: boolean;
  /** `p2p.persistent_peers`, as `id@host:port` strings. */
  persistentPeers?: string[];
  /** `p2p.seeds`, as `id@host:port` strings. */
  seeds?: string[];
  /** `p2p.external_address` (`host:port`). */
  externalAddress?: string;
  /** `p2p.allow_duplicate_ip`; default true (several local peers share 127.0.0.1). */
  allowDuplicateIp?: boolean;
  /** `p2p.addr_book_strict`; default false (loopback addresses must be kept). */
  addrBookStrict?: boolean;
  /** `consensus.timeout_commit`; default `200ms` for fast blocks. */
  timeoutCommit?: string;
  /** Fixed ports (default: free ports picked at start). */
  p2pPort?: number;
  rpcPort?: number;
  /** Extra overrides, e.g. `{ "rpc.unsafe": true, "mempool.type": "nop", "moniker": "x" }`. */
  config?: Record<string, TomlValue>;
  /** How long to wait for RPC to answer after start. */
  startTimeoutMs?: number;
}

/** JSON-RPC error returned by the node. */
export class CometbftRpcError extends Error {
  constructor(readonly code: number, message: string, readonly data?: string) {
    super(`${message}${data ? `: ${data}` : ""} (code ${code})`);
    this.name = "CometbftRpcError";
  }
}

/** Formats a TOML value; strings use JSON escaping, which TOML basic strings accept. */
function tomlValue(v: TomlValue): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/**
 * Sets `section.key = value` in TOML text by line-based rewriting. A key without a dot is
 * top-level (before the first `[section]`). A missing key is appended to its section.
 */
export function setTomlKey(text: string, dottedKey: string, value: TomlValue): string {
  const dot = dottedKey.indexOf(".");
  const section = dot < 0 ? "" : dottedKey.slice(0, dot);
  const key = dot < 0 ? dottedKey : dottedKey.slice(dot + 1);
  const lines = text.split("\n");
  const keyRe = new RegExp(`^\\s*${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*=`);
  let current = "";
  let sectionEnd = -1; // index after the last line of the wanted section
  let sectionSeen = section === "";
  for (let i = 0; i < lines.length; i++) {
    const header = /^\s*\[([^\]]+)\]\s*(#.*)?$/.exec(lines[i]);
    if (header) {
      if (current === section) sectionEnd = i;
      current = header[1].trim();
      if (current === section) sectionSeen = true;
      continue;
    }
    if (current === section && keyRe.test(lines[i])) {
      lines[i] = `${key} = ${tomlValue(value)}`;
      return lines.join("\n");
    }
  }
  const entry = `${key} = ${tomlValue(value)}`;
  if (!sectionSeen) return `${text}\n[${section}]\n${entry}\n`;
  if (sectionEnd < 0) sectionEnd = current === section ? lines.length : 0;
  // Insert after the section's last non-blank line, keeping the blank separator.
  while (sectionEnd > 0 && lines[sectionEnd - 1].trim() === "") sectionEnd--;
  lines.splice(sectionEnd, 0, entry);
  return lines.join("\n");
}

/** A running (or stopped) CometBFT node started by {@link startCometbft}. */
export interface CometbftNode {
  readonly home: string;
  /** Node ID as printed by `cometbft show-node-id`. */
  readonly id: string;
  readonly p2pPort: number;
  readonly rpcPort: number;
  readonly chainId: string;
  /** `id@127.0.0.1:p2pPort`, ready for dialing. */
  readonly address: string;
  /** Path of the captured stdout+stderr. */
  readonly logFile: string;
  /** URI-form RPC call (`GET /<method>?k=v`); resolves to `result`, throws CometbftRpcError. */
  rpc<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** `/net_info` result. */
  netInfo(): Promise<NetInfoResult>;
  /** `/status` result. */
  status(): Promise<StatusResult>;
  /** Resolves with the first match of `re` in the log (past or future output). */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The captured output so far (tail, up to a few MiB). */
  logText(): string;
  /** SIGTERM, SIGKILL after 5 s, awaits exit; removes the temp home (unless kept by env). */
  stop(): Promise<void>;
  /**
   * Stops the process (keeping home and ports) and starts it again, after `downMs` (default 0)
   * with nothing listening on its ports.
   */
  restart(opts?: { downMs?: number }): Promise<void>;
}

/** The part of `/status` the tests read. */
export interface StatusResult {
  node_info: {
    id: string;
    network: string;
    listen_addr: string;
    channels: string;
    moniker: string;
  };
  sync_info: { latest_block_height: string };
}

/** The part of `/net_info` the tests read. */
export interface NetInfoResult {
  listening: boolean;
  n_peers: string;
  peers: {
    node_info: { id: string; network: string; moniker: string; channels: string };
    is_outbound: boolean;
    remote_ip: string;
  }[];
}

function encodeUriParam(v: unknown): string {
  if (typeof v === "string") return encodeURIComponent(JSON.stringify(v));
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return encodeURIComponent(JSON.stringify(v));
}

/** Output capture: tees child output to a file and keeps an in-memory tail with waiters. */
class LogCapture {
  #text = "";
  #waiters = new Set<() => void>();

  append(chunk: string): void {
    this.#text += chunk;
    if (this.#text.length > LOG_TAIL_MAX_CHARS) {
      this.#text = this.#text.slice(this.#text.length - LOG_TAIL_MAX_CHARS);
    }
    for (const w of [...this.#waiters]) w();
  }

  text(): string {
    return this.#text;
  }

  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.#text.match(re);
        if (!m) return false;
        cleanup();
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for log ${re}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(onChunk);
      };
      const onChunk = () => void check();
      this.#waiters.add(onChunk);
      check();
    });
  }
}

async function pump(
  stream: ReadableStream<Uint8Array>,
  file: Deno.FsFile,
  capture: LogCapture,
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    await file.write(chunk);
    capture.append(decoder.decode(chunk, { stream: true }));
  }
}

async function runOnce(bin: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "piped" }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`cometbft ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return stdout;
}

function randomChainId(): string {
  const b = crypto.getRandomValues(new Uint8Array(4));
  return `switchyard-test-${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

/** Running process state of a node: one child plus its two output pumps. */
interface Running {
  child: Deno.ChildProcess;
  pumps: Promise<void>;
  file: Deno.FsFile;
}

/**
 * Creates a temp home, `cometbft init`s it, rewrites its config for loopback testing, starts
 * `cometbft start --proxy_app=kvstore`, and waits until RPC `/status` answers.
 */
export async function startCometbft(opts: CometbftOptions = {}): Promise<CometbftNode> {
  const bin = opts.bin ?? requireCometbft();
  const home = await Deno.makeTempDir({ prefix: "switchyard-cometbft-" });
  try {
    return await setUp(bin, home, opts);
  } catch (err) {
    await Deno.remove(home, { recursive: true }).catch(() => {});
    throw err;
  }
}

async function setUp(bin: string, home: string, opts: CometbftOptions): Promise<CometbftNode> {
  await runOnce(bin, ["init", "--home", home]);
  const chainId = opts.chainId ?? randomChainId();
  const genesisPath = `${home}/config/genesis.json`;
  const genesis = JSON.parse(await Deno.readTextFile(genesisPath));
  genesis.chain_id = chainId;
  await Deno.writeTextFile(genesisPath, JSON.stringify(genesis, null, 2));

  const p2pPort = opts.p2pPort ?? freePort();
  const rpcPort = opts.rpcPort ?? freePort();
  const settings: Record<string, TomlValue> = {
    "moniker": opts.moniker ?? "cometbft-interop",
    "log_level": opts.logLevel ?? "info",
    "p2p.laddr": `tcp://127.0.0.1:${p2pPort}`,
    "rpc.laddr": `tcp://127.0.0.1:${rpcPort}`,
    "p2p.allow_duplicate_ip": opts.allowDuplicateIp ?? true,
    "p2p.addr_book_strict": opts.addrBookStrict ?? false,
    "p2p.pex": opts.pex ?? true,
    "p2p.seed_mode": opts.seedMode ?? false,
    "p2p.persistent_peers": (opts.persistentPeers ?? []).join(","),
    "p2p.seeds": (opts.seeds ?? []).join(","),
    "p2p.external_address": opts.externalAddress ?? "",
    "consensus.timeout_commit": opts.timeoutCommit ?? "200ms",
    "consensus.timeout_propose": "1s",
    "instrumentation.prometheus": false,
    ...opts.config,
  };
  const configPath = `${home}/config/config.toml`;
  let toml = await Deno.readTextFile(configPath);
  for (const [k, v] of Object.entries(settings)) toml = setTomlKey(toml, k, v);
  await Deno.writeTextFile(configPath, toml);

  const id = (await runOnce(bin, ["show-node-id", "--home", home])).trim();
  const logFile = `${home}/cometbft.log`;
  const capture = new LogCapture();
  const base = `http://127.0.0.1:${rpcPort}`;
  let running: Running | null = null;

  const rpc = async <T>(method: string, params: Record<string, unknown> = {}): Promise<T> => {
    const qs = Object.entries(params).map(([k, v]) => `${k}=${encodeUriParam(v)}`).join("&");
    const res = await fetch(`${base}/${method}${qs ? `?${qs}` : ""}`, {
      signal: AbortSignal.timeout(RPC_REQUEST_TIMEOUT_MS),
    });
    const body = await res.text();
    let json: { result?: T; error?: { code: number; message: string; data?: string } };
    try {
      json = JSON.parse(body);
    } catch {
      throw new CometbftRpcError(res.status, `non-JSON RPC reply (HTTP ${res.status})`, body);
    }
    if (json.error) {
      throw new CometbftRpcError(json.error.code, json.error.message, json.error.data);
    }
    return json.result as T;
  };

  const launch = async (): Promise<void> => {
    const file = await Deno.open(logFile, { append: true, create: true });
    const child = new Deno.Command(bin, {
      args: ["start", "--home", home, "--proxy_app=kvstore"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pumps = Promise.all([
      pump(child.stdout, file, capture),
      pump(child.stderr, file, capture),
    ]).then(() => {});
    running = { child, pumps, file };
    const deadline = Date.now() + (opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    let exited = false;
    const statusWatch = child.status.then(() => {
      exited = true;
    });
    for (;;) {
      if (exited) {
        await halt();
        throw new Error(
          `cometbft exited during start-up; log tail:\n${capture.text().slice(-4000)}`,
        );
      }
      try {
        const st = await rpc<StatusResult>("status");
        if (st.node_info.id === id) break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) {
        await halt();
        throw new Error(`cometbft RPC did not come up; log tail:\n${capture.text().slice(-4000)}`);
      }
      await new Promise((r) => setTimeout(r, RPC_POLL_INTERVAL_MS));
    }
    // statusWatch resolves when the child exits; halt() awaits child.status itself.
    void statusWatch;
  };

  const halt = async (): Promise<void> => {
    const r: Running | null = running;
    if (r === null) return;
    running = null;
    try {
      r.child.kill("SIGTERM");
    } catch {
      // already exited
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          r.child.kill("SIGKILL");
        } catch {
          // exited meanwhile
        }
        resolve();
      }, STOP_GRACE_MS);
    });
    await Promise.race([r.child.status, killed]);
    await r.child.status;
    clearTimeout(timer);
    await r.pumps;
    r.file.close();
  };

  await launch();
  return {
    home,
    id,
    p2pPort,
    rpcPort,
    chainId,
    address: `${id}@127.0.0.1:${p2pPort}`,
    logFile,
    rpc,
    netInfo: () => rpc<NetInfoResult>("net_info"),
    status: () => rpc<StatusResult>("status"),
    waitForLog: (re, timeoutMs = 10_000) => capture.waitFor(re, timeoutMs),
    logText: () => capture.text(),
    async stop() {
      await halt();
      if (!Deno.env.get(KEEP_HOMES_ENV)) {
        await Deno.remove(home, { recursive: true }).catch(() => {});
      }
    },
    async restart(ropts?: { downMs?: number }) {
      await halt();
      if (ropts?.downMs) await new Promise((r) => setTimeout(r, ropts.downMs));
      await launch();
    },
  };
}
