/**
 * The client side of the many-peers benchmarks (bench/idle_peers.ts, bench/scaling.ts): N
 * connections to one node, each with its own node key, through the real handshake (TCP,
 * SecretConnection, NodeInfo exchange: `p2p/upgrade.ts`), left for the caller to hold idle or
 * to write packets on. Both benchmarks must open their peers the same way, or their per-peer
 * figures would not compare.
 * @module
 */
import { NodeKey } from "../../p2p/key.ts";
import type { NetAddress } from "../../p2p/netaddress.ts";
import { makeNodeInfo } from "../../p2p/node_info.ts";
import type { SecretConnection } from "../../p2p/conn/secret_connection.ts";
import { dialTcp, upgradeOutbound } from "../../p2p/upgrade.ts";

/** Handshakes in flight at once from the client process. */
export const CLIENT_CONCURRENCY = 32;

/**
 * Opens `n` handshaken connections to `addr`, {@link CLIENT_CONCURRENCY} at a time, each
 * announcing a fresh node key on chain "test-chain" with `moniker`, `channels` and the
 * placeholder listen address tcp://127.0.0.1:1. The first failing dial or handshake rejects;
 * connections already open are then left to the client process's exit.
 */
export async function connectClients(
  addr: NetAddress,
  n: number,
  peer: { moniker: string; channels: number[] },
): Promise<SecretConnection[]> {
  const conns: SecretConnection[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const key = NodeKey.generate();
      const raw = await dialTcp(addr);
      const { secretConn } = await upgradeOutbound(raw, {
        nodeKey: key,
        nodeInfo: makeNodeInfo({
          id: key.id,
          network: "test-chain",
          moniker: peer.moniker,
          channels: peer.channels,
          listenAddr: "tcp://127.0.0.1:1",
        }),
        dialedId: addr.id,
      });
      conns.push(secretConn);
    }
  };
  await Promise.all(Array.from({ length: CLIENT_CONCURRENCY }, worker));
  return conns;
}
