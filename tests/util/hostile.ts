/**
 * Scripted hostile peers and clients for robustness tests: raw TCP sockets that send garbage or
 * nothing, a SecretConnection without the NodeInfo exchange, and a fully handshaken "peer" that
 * then writes whatever MConnection bytes a test wants (unknown channels, malformed or oversized
 * packets, floods). Every helper is bounded: waits end with an error, never a hang.
 * @module
 */
import { SecretConnection } from "../../p2p/conn/secret_connection.ts";
import { closeQuietly, writeAll } from "../../p2p/conn/stream.ts";
import { encodePacketMsg, PING_BODY } from "../../p2p/conn/packet.ts";
import { NodeKey } from "../../p2p/key.ts";
import { exchangeNodeInfo, makeNodeInfo, type NodeInfo } from "../../p2p/node_info.ts";
import { encodeUvarint } from "../../libs/protoio.ts";

/** Default bound of {@link waitClosed}: past the 3 s handshake deadline with room to spare. */
export const CLOSE_TIMEOUT_MS = 10_000;

/** Opens a plain TCP connection to 127.0.0.1:`port`. */
export function rawConnect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** The local port of a connection (how the daemon's logs name it). */
export function localPort(conn: Deno.Conn): number {
  return (conn.localAddr as Deno.NetAddr).port;
}

/** What a closed-by-the-other-side read looked like. */
export type CloseOutcome = "eof" | "reset";

/**
 * Reads (and discards) until the other side closes: EOF or a reset. Throws if the connection is
 * still open after `timeoutMs` (the read is then cancelled by closing our end).
 */
export async function waitClosed(
  stream: { read(p: Uint8Array): Promise<number | null>; close(): void },
  timeoutMs = CLOSE_TIMEOUT_MS,
): Promise<CloseOutcome> {
  const buf = new Uint8Array(64 * 1024);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(stream);
  }, timeoutMs);
  try {
    for (;;) {
      let n: number | null;
      try {
        n = await stream.read(buf);
      } catch {
        if (timedOut) break;
        return "reset";
      }
      if (n === null) {
        if (timedOut) break;
        return "eof";
      }
    }
    throw new Error(`connection still open after ${timeoutMs} ms`);
  } finally {
    clearTimeout(timer);
    closeQuietly(stream);
  }
}

/** Writes all of `bytes` to a raw socket; false if the daemon closed or reset it first. */
export async function writeQuietly(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    await writeAll(conn, bytes);
    return true;
  } catch {
    return false;
  }
}

/** A hostile peer past the SecretConnection (and, for {@link handshakePeer}, the NodeInfo). */
export interface HostilePeer {
  key: NodeKey;
  tcp: Deno.TcpConn;
  sc: SecretConnection;
  /** The daemon's NodeInfo (undefined after {@link secretOnly}). */
  theirs?: NodeInfo;
  /** Sends bytes over the encrypted stream; false once the daemon has closed it. */
  send(bytes: Uint8Array): Promise<boolean>;
  /** Waits until the daemon closes the connection (bounded). */
  closed(timeoutMs?: number): Promise<CloseOutcome>;
  close(): void;
}

function hostilePeer(key: NodeKey, tcp: Deno.TcpConn, sc: SecretConnection): HostilePeer {
  return {
    key,
    tcp,
    sc,
    send: async (bytes) => {
      try {
        await sc.write(bytes);
        return true;
      } catch {
        return false;
      }
    },
    closed: (timeoutMs) => waitClosed(sc, timeoutMs),
    close: () => {
      closeQuietly(sc);
      closeQuietly(tcp);
    },
  };
}

/** Connects and completes only the SecretConnection handshake. */
export async function secretOnly(port: number): Promise<HostilePeer> {
  const key = NodeKey.generate();
  const tcp = await rawConnect(port);
  try {
    const sc = await SecretConnection.make(tcp, key);
    return hostilePeer(key, tcp, sc);
  } catch (e) {
    closeQuietly(tcp);
    throw e;
  }
}

/** Options of {@link handshakePeer}. */
export interface HandshakeOptions {
  network: string;
  /** Channels we advertise (default: PEX only). */
  channels?: number[];
  moniker?: string;
}

/** Connects and completes the whole handshake (SecretConnection + NodeInfo) as a peer. */
export async function handshakePeer(port: number, opts: HandshakeOptions): Promise<HostilePeer> {
  const p = await secretOnly(port);
  try {
    const ours = makeNodeInfo({
      id: p.key.id,
      network: opts.network,
      moniker: opts.moniker ?? "hostile",
      channels: opts.channels ?? [0x00],
      listenAddr: "tcp://127.0.0.1:1",
    });
    p.theirs = await exchangeNodeInfo(p.sc, ours);
    return p;
  } catch (e) {
    p.close();
    throw e;
  }
}

/**
 * The p2p client of the fault runs (through the fault proxy): handshake, a packet, `quietMs` of
 * quiet, another packet, then up to `closeMs` for the daemon to close. Every failure is
 * swallowed: the fault is meant to break things; the daemon's side is what the tests check.
 */
export async function faultedP2pClient(
  port: number,
  opts: HandshakeOptions,
  quietMs: number,
  closeMs: number,
): Promise<void> {
  let peer: HostilePeer | undefined;
  try {
    peer = await handshakePeer(port, opts);
    await peer.sc.write(pings(1));
    await new Promise((r) => setTimeout(r, quietMs));
    await peer.sc.write(pings(1));
    await waitClosed(peer.sc, closeMs);
  } catch {
    // See above: the daemon's side is checked.
  } finally {
    peer?.close();
  }
}

/** A delimited Packet holding `body` (the MConnection wire unit). */
export function delimited(body: Uint8Array): Uint8Array {
  const len = encodeUvarint(body.length);
  const out = new Uint8Array(len.length + body.length);
  out.set(len);
  out.set(body, len.length);
  return out;
}

/** A delimited PacketMsg. */
export function packetMsg(channelId: number, eof: boolean, data: Uint8Array): Uint8Array {
  return delimited(encodePacketMsg(channelId, eof, data));
}

/** `n` delimited pings back to back. */
export function pings(n: number): Uint8Array {
  const one = delimited(PING_BODY);
  const out = new Uint8Array(one.length * n);
  for (let i = 0; i < n; i++) out.set(one, i * one.length);
  return out;
}

/** Crypto-random bytes (in 64 KiB chunks, getRandomValues' limit). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/** A raw HTTP exchange's outcome: status (0 if none came) and body text. */
export interface RawHttpResponse {
  status: number;
  text: string;
}

/**
 * Sends `request` (raw bytes: request line, headers, body) to 127.0.0.1:`port` and reads until
 * one complete response (headers plus `content-length` bytes) arrived or the server closed,
 * bounded by `timeoutMs`. Our end stays open meanwhile, so a client still "sending" a body it
 * declared can be played. Throws on timeout.
 */
export async function rawHttp(
  port: number,
  request: Uint8Array | string,
  timeoutMs = CLOSE_TIMEOUT_MS,
): Promise<RawHttpResponse> {
  const conn = await rawConnect(port);
  const bytes = typeof request === "string" ? new TextEncoder().encode(request) : request;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(conn);
  }, timeoutMs);
  try {
    // The server may answer (and close) before the whole request is written.
    const writing = writeQuietly(conn, bytes);
    let text = "";
    const dec = new TextDecoder();
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const head = text.indexOf("\r\n\r\n");
      if (head >= 0) {
        const len = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, head));
        if (len && text.length - head - 4 >= Number(len[1])) break;
      }
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n), { stream: true });
    }
    if (timedOut) throw new Error(`no complete HTTP response within ${timeoutMs} ms`);
    closeQuietly(conn);
    await writing;
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
    const bodyAt = text.indexOf("\r\n\r\n");
    return { status: m ? Number(m[1]) : 0, text: bodyAt < 0 ? "" : text.slice(bodyAt + 4) };
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}
