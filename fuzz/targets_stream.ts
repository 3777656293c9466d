/**
 * A stateful fuzz target: the bytes a peer sends after the handshake, through MConnection's
 * receive routine ({@link Receiver}: length prefixes, packet decoding, ping/pong, per-channel
 * reassembly under `recvMessageCapacity`) and on into the channel codecs of the PEX, consensus
 * and mempool reactors, as the switch delivers them. The stream hands the input over in chunks
 * of varying size, so prefixes and packets are split at every kind of boundary.
 *
 * Accepted: the routine ran to the end of the input (EOF) with every message decoded.
 * Typed rejection: it stopped the connection for a protocol reason (bad packet, unknown
 * channel, message too large, ping flood) or a message failed its codec. A finding: the routine
 * threw, stopped for an I/O error the stream never raised, or a delivery threw anything else.
 * @module
 */
import { nopLogger } from "../libs/log.ts";
import { Channel } from "../p2p/conn/channel.ts";
import { FlowMonitor } from "../p2p/conn/flowrate.ts";
import type { MConnectionErrorReason } from "../p2p/conn/mconnection_status.ts";
import { Receiver } from "../p2p/conn/mconnection_recv.ts";
import { DEFAULT_MAX_PACKET_MSG_PAYLOAD_SIZE } from "../p2p/conn/mconnection.ts";
import { encodePacketMsg, maxPacketMsgSize, PING_BODY, PONG_BODY } from "../p2p/conn/packet.ts";
import type { ByteStream } from "../p2p/conn/stream.ts";
import { encode } from "../p2p/proto.ts";
import { PEX_CHANNEL, PEX_MAX_MSG_SIZE, PEX_MESSAGE } from "../p2p/pex/pex_reactor.ts";
import { ChannelCodec, MessageCodecError, type StreamDescriptor } from "../p2p/reactor.ts";
import { newRoundStepMessage } from "../reactors/consensus_msgs.ts";
import { ConsensusWatcher } from "../reactors/consensus_watcher.ts";
import { TxRelay } from "../reactors/tx_relay.ts";
import { concat, varint } from "./mutate_proto.ts";
import type { FuzzTarget } from "./target.ts";

/** Hands `data` out in chunks whose sizes cycle through `sizes`, then EOF. */
class ChunkStream implements ByteStream {
  #off = 0;
  #i = 0;
  constructor(readonly data: Uint8Array, readonly sizes: readonly number[]) {}
  read(p: Uint8Array): Promise<number | null> {
    if (this.#off >= this.data.length) return Promise.resolve(null);
    const n = Math.min(
      p.length,
      this.sizes[this.#i++ % this.sizes.length],
      this.data.length - this.#off,
    );
    p.set(this.data.subarray(this.#off, this.#off + n));
    this.#off += n;
    return Promise.resolve(n);
  }
  write(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
}

/** The connection stopped for a protocol reason (a typed rejection). */
export class StreamRejected extends Error {}

const descs: StreamDescriptor[] = [
  {
    id: PEX_CHANNEL,
    priority: 1,
    messageType: PEX_MESSAGE,
    unwrap: true,
    recvMessageCapacity: PEX_MAX_MSG_SIZE,
  },
  new ConsensusWatcher().getChannels()[0],
  new TxRelay().getChannels()[0],
];
const codecs = new Map(descs.map((d) => [d.id, new ChannelCodec(d)]));
const MAX_PACKET = maxPacketMsgSize(DEFAULT_MAX_PACKET_MSG_PAYLOAD_SIZE);

function delimited(body: Uint8Array): Uint8Array {
  return concat(varint(body.length), body);
}

/** A message on `ch` as the sender's channel splits it into packets. */
function packets(ch: number, msg: Uint8Array, chunk = 1000): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let off = 0; off < msg.length || off === 0; off += chunk) {
    const end = Math.min(msg.length, off + chunk);
    parts.push(delimited(encodePacketMsg(ch, end === msg.length, msg.subarray(off, end))));
    if (end === msg.length) break;
  }
  return concat(...parts);
}

const mconnStream: FuzzTarget = {
  name: "mconn_stream",
  kind: "stream",
  seeds: () => {
    const pexReq = encode(PEX_MESSAGE, { pex_request: {} });
    const pexAddrs = encode(PEX_MESSAGE, {
      pex_addrs: { addrs: [{ id: "a".repeat(40), ip: "127.0.0.3", port: 26656 }] },
    });
    const nrs = encode(descs[1].messageType, newRoundStepMessage(3n, 1n));
    const txs = encode(descs[2].messageType, {
      txs: { txs: [new Uint8Array(2500).fill(0x61), Uint8Array.of(1, 2, 3)] },
    });
    return [
      concat(delimited(PING_BODY), packets(0x00, pexReq), delimited(PONG_BODY)),
      concat(packets(0x20, nrs), packets(0x00, pexAddrs), packets(0x30, txs)),
      concat(packets(0x30, txs, 300), delimited(PING_BODY)),
    ];
  },
  async run(input) {
    let reason: MConnectionErrorReason | undefined;
    let deliveredBad: unknown;
    const channels = new Map(
      descs.map((d) => [d.id, new Channel(d, DEFAULT_MAX_PACKET_MSG_PAYLOAD_SIZE, () => {})]),
    );
    const sizes = input.length === 0
      ? [1]
      : [1 + (input[0] % 7), 1024, 3, 1 + (input[input.length - 1] % 200)];
    const receiver = new Receiver(
      new ChunkStream(input, sizes),
      {
        fail: (r) => reason ??= r,
        requestPong: () => {},
        pongReceived: () => {},
        channel: (id) => channels.get(id),
        deliver: (id, msg) => {
          try {
            codecs.get(id)!.decode(msg);
          } catch (e) {
            if (!(e instanceof MessageCodecError)) deliveredBad = e;
            throw e;
          }
        },
      },
      new FlowMonitor(),
      0, // no rate limit: no waiting
      MAX_PACKET,
      nopLogger,
    );
    await receiver.run(new AbortController().signal);
    if (deliveredBad !== undefined) throw deliveredBad;
    if (reason === undefined) throw new Error("receive routine ended without a reason");
    if (reason.code === "eof") return;
    if (reason.code === "io") throw reason.cause;
    if (reason.code === "receive_threw" && !(reason.cause instanceof MessageCodecError)) {
      throw reason.cause;
    }
    throw new StreamRejected(reason.code);
  },
  typed: (e) => e instanceof StreamRejected,
};

/** The stateful targets. */
export const STREAM_TARGETS: readonly FuzzTarget[] = [mconnStream];
