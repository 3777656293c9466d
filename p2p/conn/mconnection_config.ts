/**
 * An {@link MConnection}'s settings (Go `MConnConfig`): the defaults a v0.38 node configures, and
 * the merge-and-validate step the constructor runs on the caller's partial config. Kept apart
 * from `mconnection.ts` so that code needing only the settings' shape or defaults (switch
 * config, peers, benches, fuzz targets) reads them without the connection itself; every name
 * here is still exported from `mconnection.ts` as before.
 * @module
 */
import { InvalidParametersError } from "../errors.ts";

/** Default largest data chunk per PacketMsg (Go `defaultMaxPacketMsgPayloadSize`). */
export const DEFAULT_MAX_PACKET_MSG_PAYLOAD_SIZE = 1024;
/** Default send/receive rate in B/s (CometBFT config `send_rate` / `recv_rate`). */
export const DEFAULT_RATE_BPS = 5_120_000;
/** Default flush throttle (config `flush_throttle_timeout`). */
export const DEFAULT_FLUSH_THROTTLE_MS = 100;
/** Default ping interval (Go `defaultPingInterval`). */
export const DEFAULT_PING_INTERVAL_MS = 60_000;
/** Default pong timeout (Go `defaultPongTimeout`). */
export const DEFAULT_PONG_TIMEOUT_MS = 45_000;
/** How long `send` waits for queue room (Go `defaultSendTimeout`). */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;
/**
 * Default bound on the senders waiting for queue room on one connection, all channels together
 * (ours; Go has one goroutine per blocked `Send` and no bound): past it, `send` resolves false at
 * once instead of queueing one more waiter (config `p2p.max_waiting_sends_per_peer`).
 */
export const DEFAULT_MAX_WAITING_SENDS = 1024;

/** MConnection settings (Go `MConnConfig`); durations in ms, rates in B/s (0 = unlimited). */
export interface MConnConfig {
  sendRate: number;
  recvRate: number;
  maxPacketMsgPayloadSize: number;
  flushThrottleMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  /** Senders that may wait for queue room at once (see {@link DEFAULT_MAX_WAITING_SENDS}). */
  maxWaitingSends: number;
}

/** Defaults as a v0.38 node configures them (config.toml values, not the `conn` package's). */
export const defaultMConnConfig: Readonly<MConnConfig> = Object.freeze({
  sendRate: DEFAULT_RATE_BPS,
  recvRate: DEFAULT_RATE_BPS,
  maxPacketMsgPayloadSize: DEFAULT_MAX_PACKET_MSG_PAYLOAD_SIZE,
  flushThrottleMs: DEFAULT_FLUSH_THROTTLE_MS,
  pingIntervalMs: DEFAULT_PING_INTERVAL_MS,
  pongTimeoutMs: DEFAULT_PONG_TIMEOUT_MS,
  maxWaitingSends: DEFAULT_MAX_WAITING_SENDS,
});

/**
 * The defaults overlaid with every defined field of `config` (an explicit `undefined` keeps the
 * default, so callers can pass optional settings straight through), then checked: throws
 * {@link InvalidParametersError} for settings the connection could not run with.
 */
export function resolveMConnConfig(config: Partial<MConnConfig>): MConnConfig {
  const cfg: MConnConfig = { ...defaultMConnConfig };
  for (const [k, v] of Object.entries(config) as [keyof MConnConfig, number | undefined][]) {
    if (v !== undefined) cfg[k] = v;
  }
  if (cfg.pongTimeoutMs >= cfg.pingIntervalMs) {
    throw new InvalidParametersError("pongTimeoutMs must be less than pingIntervalMs");
  }
  if (!(cfg.maxPacketMsgPayloadSize >= 2)) {
    throw new InvalidParametersError("maxPacketMsgPayloadSize must be at least 2");
  }
  if (!(Number.isInteger(cfg.maxWaitingSends) && cfg.maxWaitingSends >= 0)) {
    throw new InvalidParametersError("maxWaitingSends must be a non-negative integer");
  }
  return cfg;
}
