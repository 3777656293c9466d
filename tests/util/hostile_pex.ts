/**
 * A scripted hostile PEX node for crawler tests: it listens on a loopback host, completes the
 * CometBFT handshake as the responder with whatever NodeInfo bytes a test supplies (including
 * bytes `makeNodeInfo` cannot produce: bad UTF-8, oversized fields, many channels), then, over
 * an MConnection on channel 0x00, answers PexRequests with a test-made list of raw address
 * entries (made-up IDs, other nodes' ports, 0.0.0.0, duplicates, non-loopback hosts) and can
 * send unsolicited PexAddrs or a PexRequest of its own first.
 *
 * Bounded: every handshake has a deadline, every connection ends when the crawler closes it or
 * when {@link HostilePexNode.stop} closes it, and `stop` waits for every handler.
 * @module
 */
import { MConnection } from "../../p2p/conn/mconnection.ts";
import { SecretConnection } from "../../p2p/conn/secret_connection.ts";
import { closeQuietly } from "../../p2p/conn/stream.ts";
import { NodeKey } from "../../p2p/key.ts";
import { NetAddress } from "../../p2p/netaddress.ts";
import { encodeNodeInfo, makeNodeInfo, MAX_NODE_INFO_SIZE } from "../../p2p/node_info.ts";
import { encode } from "../../p2p/proto.ts";
import { PEX_CHANNEL, PEX_MESSAGE } from "../../p2p/pex/pex_reactor.ts";
import { readDelimited, writeDelimited } from "../../libs/protoio.ts";

/** One PexAddrs entry as it goes on the wire (`tendermint.p2p.NetAddress`), unchecked. */
export interface AddrEntry {
  id: string;
  ip: string;
  port: number;
}

/** Handshake deadline of the hostile side (the crawler's own deadline is what tests watch). */
const HOSTILE_HANDSHAKE_TIMEOUT_MS = 10_000;
/** The largest PexAddrs the hostile side can send (its own MConnection's channel capacity). */
const HOSTILE_SEND_CAPACITY = 4 * 1024 * 1024;

/** Options of {@link startHostilePexNode}. */
export interface HostilePexOptions {
  host: string;
  network: string;
  moniker?: string;
  version?: string;
  /**
   * Replaces the encoded NodeInfo sent in the handshake (`id` and `listenAddr` are the node's
   * real ones, for building a NodeInfo that otherwise passes).
   */
  nodeInfoBytes?: (id: string, listenAddr: string) => Uint8Array;
  /** The PexAddrs entries answered to each PexRequest (default: none). */
  answer?: (self: NetAddress) => AddrEntry[];
  /** Sent as a PexAddrs right after the handshake, before any request. */
  unsolicited?: (self: NetAddress) => AddrEntry[];
  /** PexRequests of its own sent right after the handshake (default none). */
  requestsBack?: number;
}

/** A running hostile node. */
export interface HostilePexNode {
  key: NodeKey;
  addr: NetAddress;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** PexRequests received so far. */
  readonly requests: number;
  stop(): Promise<void>;
}

/** The entry of a real address (for answers). */
export function entryOf(a: NetAddress): AddrEntry {
  const s = a.dialString();
  const i = s.lastIndexOf(":");
  return { id: a.id, ip: s.slice(0, i).replace(/^\[|\]$/g, ""), port: a.port };
}

/** `n` entries with made-up IDs at `ip`, ports `firstPort`.. (nothing needs to listen there). */
export function madeUpEntries(n: number, ip: string, firstPort: number): AddrEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    id: NodeKey.generate().id,
    ip,
    port: firstPort + i,
  }));
}

/** Starts a hostile node on `host:0`. */
export function startHostilePexNode(o: HostilePexOptions): HostilePexNode {
  const key = NodeKey.generate();
  const listener = Deno.listen({ hostname: o.host, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const addr = NetAddress.fromIPPort(o.host, port, key.id);
  const listenAddr = `tcp://${o.host}:${port}`;
  const nodeInfo = o.nodeInfoBytes?.(key.id, listenAddr) ?? encodeNodeInfo(makeNodeInfo({
    id: key.id,
    network: o.network,
    moniker: o.moniker ?? "hostile",
    version: o.version,
    channels: [PEX_CHANNEL],
    listenAddr,
  }));
  const stopping = new AbortController();
  const handlers = new Set<Promise<void>>();
  const conns = new Set<Deno.Conn>();
  let accepted = 0;
  let requests = 0;

  const handle = async (conn: Deno.TcpConn): Promise<void> => {
    let sc: SecretConnection | undefined;
    let mconn: MConnection | undefined;
    try {
      sc = await SecretConnection.make(conn, key, {
        timeoutMs: HOSTILE_HANDSHAKE_TIMEOUT_MS,
        signal: stopping.signal,
      });
      await Promise.all([
        writeDelimited(sc, nodeInfo),
        readDelimited(sc, MAX_NODE_INFO_SIZE, { signal: stopping.signal }),
      ]);
      const ended = Promise.withResolvers<void>();
      const addrsMsg = (entries: AddrEntry[]) =>
        encode(PEX_MESSAGE, { pex_addrs: { addrs: entries } });
      const conn2 = new MConnection(
        sc,
        [{
          id: PEX_CHANNEL,
          priority: 1,
          sendQueueCapacity: 10,
          recvMessageCapacity: HOSTILE_SEND_CAPACITY,
        }],
        (_ch, msg) => {
          const m = PEX_MESSAGE.decode(msg) as unknown as { pex_request?: unknown };
          if (m.pex_request === undefined) return;
          requests++;
          conn2.trySend(PEX_CHANNEL, addrsMsg(o.answer?.(addr) ?? []));
        },
        () => ended.resolve(),
        { flushThrottleMs: 0 },
      );
      mconn = conn2;
      mconn.start();
      if (o.unsolicited) mconn.trySend(PEX_CHANNEL, addrsMsg(o.unsolicited(addr)));
      for (let i = 0; i < (o.requestsBack ?? 0); i++) {
        mconn.trySend(PEX_CHANNEL, encode(PEX_MESSAGE, { pex_request: {} }));
      }
      const onStop = () => ended.resolve();
      stopping.signal.addEventListener("abort", onStop, { once: true });
      await ended.promise;
      stopping.signal.removeEventListener("abort", onStop);
    } catch {
      // The crawler hung up or timed out on us: that is what these tests provoke.
    } finally {
      await mconn?.stop();
      if (sc) closeQuietly(sc);
      closeQuietly(conn);
      conns.delete(conn);
    }
  };

  const loop = (async () => {
    for await (const c of listener) {
      accepted++;
      conns.add(c);
      const h = handle(c);
      handlers.add(h);
      h.finally(() => handlers.delete(h));
    }
  })().catch(() => {});

  return {
    key,
    addr,
    get accepted() {
      return accepted;
    },
    get requests() {
      return requests;
    },
    stop: async () => {
      stopping.abort();
      closeQuietly(listener);
      for (const c of conns) closeQuietly(c);
      await loop;
      await Promise.all([...handlers]);
    },
  };
}
