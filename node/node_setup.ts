/**
 * The Node's setup helpers (CometBFT `node/setup.go`, p2p part): our NodeInfo from the config,
 * the RPC server for `config.rpc`, and the removal of an interrupted save's temp files before
 * start. Split from `node.ts`, which re-exports {@link buildNodeInfo} and {@link newRPCServer}.
 * @module
 */
import { type Config, homePaths } from "../config/mod.ts";
import { removeTempFiles } from "../libs/tempfile.ts";
import type { Logger } from "../libs/log.ts";
import { lineProfile } from "../p2p/cometbft_line.ts";
import { makeNodeInfo, type NodeInfo } from "../p2p/node_info.ts";
import { RPCServer, type RPCServerOptions } from "../rpc/server.ts";
import { DEFAULT_WRITE_TIMEOUT_MS } from "../rpc/http_server.ts";

/** The RPC server for `config.rpc` (one per process: a multi-chain node shares it). */
export function newRPCServer(
  config: Config,
  routes: RPCServerOptions["routes"],
  log: Logger,
): RPCServer {
  return new RPCServer({
    laddr: config.rpc.laddr,
    routes,
    unsafe: config.rpc.unsafe,
    maxBodyBytes: config.rpc.maxBodyBytes,
    maxBatchSize: config.rpc.maxRequestBatchSize,
    maxOpenConnections: config.rpc.maxOpenConnections,
    maxHeaderBytes: config.rpc.maxHeaderBytes,
    readTimeoutMs: config.rpc.readTimeoutMs,
    writeTimeoutMs: rpcWriteTimeoutMs(config.rpc.timeoutBroadcastTxCommitMs),
    logger: log.with({ module: "rpc-server" }),
  });
}

/**
 * Go `node.startRPC`: the RPC write timeout is the server default (10 s) unless
 * `timeout_broadcast_tx_commit` is not below it; then that + 1 s.
 */
function rpcWriteTimeoutMs(timeoutBroadcastTxCommitMs: number): number {
  return DEFAULT_WRITE_TIMEOUT_MS <= timeoutBroadcastTxCommitMs
    ? timeoutBroadcastTxCommitMs + 1_000
    : DEFAULT_WRITE_TIMEOUT_MS;
}

/**
 * Deletes the temp files an interrupted atomic write (`libs/tempfile.ts`) left beside the files
 * the node rewrites: the node key, the address book and the config file. Runs before any of
 * them is read, so no save of ours can be in progress.
 */
export async function removeCrashDebris(config: Config, log: Logger): Promise<void> {
  const files = [config.nodeKeyFile, config.p2p.addrBookFile, homePaths(config.home).configFile];
  for (const file of files) {
    for (const p of await removeTempFiles(file)) {
      log.info("Removed a temp file left by an interrupted save", { file: p });
    }
  }
}

/**
 * Our NodeInfo from the config (Go `makeNodeInfo`): listen_addr = external_address or laddr;
 * p2p protocol version and default `version` from the config's `cometbft_line`.
 */
export function buildNodeInfo(
  config: Config,
  chainId: string,
  id: string,
  channels: Uint8Array | readonly number[],
): NodeInfo {
  const line = lineProfile(config.cometbftLine);
  return makeNodeInfo({
    id,
    network: chainId,
    moniker: config.moniker,
    channels,
    listenAddr: config.p2p.externalAddress || config.p2p.laddr,
    rpcAddress: config.rpc.laddr,
    version: config.node.version || line.version,
    txIndex: config.node.txIndex,
    protocolVersion: {
      p2p: line.p2pProtocol,
      block: config.node.protocolBlock,
      app: config.node.protocolApp,
    },
  });
}
