/**
 * Test harness for transport-level tests: {@link makeTransport} builds a {@link Transport} with a
 * fresh node key and a minimal node info, listening on 127.0.0.1 with an OS-chosen port unless
 * told not to. Shared by the transport tests and the transport admission tests, which need the
 * same bare transport and differ only in what they throw at it.
 * @module
 */
import { NodeKey } from "../../p2p/key.ts";
import { NetAddress } from "../../p2p/netaddress.ts";
import { makeNodeInfo } from "../../p2p/node_info.ts";
import { Transport, type TransportOptions } from "../../p2p/transport.ts";

/** A test transport with its key and the address peers dial it at. */
export interface TestTransport {
  t: Transport;
  key: NodeKey;
  /** 127.0.0.1 and the listening port (port 0 when not listening). */
  addr: NetAddress;
}

/**
 * A transport on network "net" with one channel (0x20) and duplicate IPs allowed (every test
 * peer is on 127.0.0.1), `opts` overriding any of that. When `listen`, it listens on
 * 127.0.0.1:0 and its node info advertises the port the OS chose.
 */
export function makeTransport(
  opts: Partial<TransportOptions> = {},
  listen = true,
): TestTransport {
  const key = NodeKey.generate();
  const t = new Transport({
    nodeKey: key,
    nodeInfo: makeNodeInfo({ id: key.id, network: "net", moniker: "m", channels: [0x20] }),
    allowDuplicateIP: true,
    ...opts,
  });
  let port = 0;
  if (listen) {
    port = t.listen({ hostname: "127.0.0.1", port: 0 }).port;
    t.nodeInfo = { ...t.nodeInfo, listenAddr: `tcp://127.0.0.1:${port}` };
  }
  return { t, key, addr: NetAddress.fromIPPort("127.0.0.1", port, key.id) };
}
