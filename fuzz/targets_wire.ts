/**
 * Fuzz targets for what arrives on a p2p connection, in the order it arrives: the ephemeral-key
 * message, the AuthSigMessage, sealed frames, MConnection packets, the NodeInfo, then the PEX,
 * consensus, mempool and chat messages the reactors decode. Each target runs the same code the
 * node runs on those bytes (decoder plus the validation that follows it).
 * @module
 */
import {
  AuthSigError,
  HandshakeError,
  IncompatibleNodeInfoError,
  InvalidNodeInfoError,
} from "../p2p/errors.ts";
import { FrameError } from "../p2p/errors.ts";
import { AEAD_NONCE_SIZE, defaultAead } from "../p2p/conn/crypto.ts";
import { FrameOpener, SEALED_FRAME_SIZE, TOTAL_FRAME_SIZE } from "../p2p/conn/frame.ts";
import { decodePacket, PacketDecodeError, PING_BODY, PONG_BODY } from "../p2p/conn/packet.ts";
import {
  encodeAuthSigMessage,
  encodeEphemeralMessage,
  parseAuthSigMessage,
  parseEphemeralMessage,
} from "../p2p/conn/secret_handshake.ts";
import { InvalidParametersError } from "../p2p/errors.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import {
  compatibleWith,
  decodeNodeInfo,
  encodeNodeInfo,
  makeNodeInfo,
  type NodeInfo,
  validateNodeInfo,
} from "../p2p/node_info.ts";
import { encode } from "../p2p/proto.ts";
import { PEX_CHANNEL, PEX_MESSAGE } from "../p2p/pex/pex_reactor.ts";
import { AddrBook } from "../p2p/pex/addrbook.ts";
import { AddrBookError } from "../p2p/pex/addrbook_errors.ts";
import { ChannelCodec, MessageCodecError, type StreamDescriptor } from "../p2p/reactor.ts";
import { ChatReactor, MalformedChatLineError, parseLine } from "../reactors/chat.ts";
import {
  InvalidConsensusMessageError,
  newRoundStepMessage,
  validateNewRoundStep,
  validateOtherScalars,
} from "../reactors/consensus_msgs.ts";
import { ConsensusWatcher } from "../reactors/consensus_watcher.ts";
import { TxRelay } from "../reactors/tx_relay.ts";
import { concat, varint } from "./mutate_proto.ts";
import { type FuzzTarget, typedBy } from "./target.ts";

const enc = new TextEncoder();
const ID_A = "a".repeat(40);
const ID_B = "0123456789abcdef0123456789abcdef01234567";

/** Fixed 32-byte patterns (seeds must not depend on a random source). */
function pattern(n: number, start: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (start + i * 7) & 0xff);
}

/** The lookup handed to NodeInfo validation: fuzzing never resolves a name. */
class NoLookupError extends Error {}
const noLookup = (host: string): Promise<string[]> =>
  Promise.reject(new NoLookupError(`lookup ${host}: disabled while fuzzing`));

const ephemeral: FuzzTarget = {
  name: "ephemeral_key",
  kind: "proto",
  // The body after the length prefix, as the handshake hands it to the parser.
  seeds: () => [
    encodeEphemeralMessage(pattern(32, 1)).subarray(1),
    encodeEphemeralMessage(pattern(32, 200)).subarray(1),
  ],
  run(input) {
    parseEphemeralMessage(input);
  },
  typed: typedBy(HandshakeError),
};

const authSig: FuzzTarget = {
  name: "auth_sig",
  kind: "proto",
  seeds: () => [encodeAuthSigMessage(pattern(32, 3), pattern(64, 9)).subarray(1)],
  run(input) {
    parseAuthSigMessage(input);
  },
  typed: typedBy(AuthSigError),
};

const SEAL_KEY = pattern(32, 77);
const sealAead = defaultAead(SEAL_KEY);
const ZERO_NONCE = new Uint8Array(AEAD_NONCE_SIZE);

/** A plaintext frame `LE32 len ‖ data ‖ padding` (len may lie). */
function plainFrame(len: number, data: Uint8Array): Uint8Array {
  const f = new Uint8Array(TOTAL_FRAME_SIZE);
  new DataView(f.buffer).setUint32(0, len, true);
  f.set(data.subarray(0, TOTAL_FRAME_SIZE - 4), 4);
  return f;
}

/**
 * Input: a mode byte, then either a sealed frame as received (even mode: mostly bad tags) or a
 * plaintext frame that the harness seals with the right key and nonce (odd mode), so the
 * checks after decryption (the length field) see mutated values too.
 */
const sealedFrame: FuzzTarget = {
  name: "sealed_frame",
  kind: "raw",
  seeds() {
    const sealed = new Uint8Array(SEALED_FRAME_SIZE);
    sealAead.seal(plainFrame(5, enc.encode("hello")), ZERO_NONCE, sealed);
    return [
      concat(Uint8Array.of(0), sealed),
      concat(Uint8Array.of(1), plainFrame(5, enc.encode("hello"))),
      concat(Uint8Array.of(1), plainFrame(1024, pattern(1024, 5))),
      concat(Uint8Array.of(1), plainFrame(0, new Uint8Array(0))),
    ];
  },
  run(input) {
    const opener = new FrameOpener(SEAL_KEY);
    if (input.length > 0 && (input[0] & 1) === 1) {
      const plain = new Uint8Array(TOTAL_FRAME_SIZE);
      plain.set(input.subarray(1, 1 + TOTAL_FRAME_SIZE));
      const sealed = new Uint8Array(SEALED_FRAME_SIZE);
      sealAead.seal(plain, ZERO_NONCE, sealed);
      opener.open(sealed);
    } else {
      opener.open(input.subarray(1));
    }
  },
  typed: typedBy(FrameError),
};

/** `PacketMsg` body with the given fields. */
function packetMsg(ch: number, eof: boolean, data: Uint8Array): Uint8Array {
  const inner = concat(
    Uint8Array.of(0x08),
    varint(ch),
    eof ? Uint8Array.of(0x10, 0x01) : new Uint8Array(0),
    Uint8Array.of(0x1a),
    varint(data.length),
    data,
  );
  return concat(Uint8Array.of(0x1a), varint(inner.length), inner);
}

const packet: FuzzTarget = {
  name: "packet",
  kind: "proto",
  seeds: () => [
    PING_BODY,
    PONG_BODY,
    packetMsg(0x30, true, pattern(40, 1)),
    packetMsg(0x00, false, pattern(300, 2)),
    packetMsg(0x7c, true, enc.encode("x")),
  ],
  run(input) {
    decodePacket(input);
  },
  typed: typedBy(PacketDecodeError),
};

const OURS: NodeInfo = makeNodeInfo({
  id: ID_A,
  network: "fuzz-chain",
  moniker: "ours",
  channels: [0x00, 0x20, 0x30, 0x7c],
  listenAddr: "tcp://127.0.0.1:26000",
});

const nodeInfo: FuzzTarget = {
  name: "node_info",
  kind: "proto",
  seeds: () => [
    encodeNodeInfo(makeNodeInfo({
      id: ID_B,
      network: "fuzz-chain",
      moniker: "theirs",
      channels: [0x00, 0x20, 0x30],
      listenAddr: "tcp://127.0.0.1:26001",
      rpcAddress: "tcp://127.0.0.1:26002",
    })),
    encodeNodeInfo(makeNodeInfo({
      id: ID_B,
      network: "fuzz-chain",
      moniker: "host-name",
      channels: [0x40, 0x7c],
      listenAddr: "[::1]:26003",
    })),
  ],
  // Decode, validate (no name resolution: a host name is rejected by the lookup), compare.
  async run(input) {
    const ni = decodeNodeInfo(input);
    await validateNodeInfo(ni, { lookup: noLookup });
    compatibleWith(OURS, ni);
  },
  typed: typedBy(HandshakeError, InvalidNodeInfoError, IncompatibleNodeInfoError),
};

/** The codec the switch builds for a reactor's first channel. */
function codecOf(desc: StreamDescriptor): ChannelCodec {
  return new ChannelCodec(desc);
}

/** Memory-only books (strict and not, as `addr_book_strict`), fixed key: reproducible. */
const strictBook = new AddrBook({
  routabilityStrict: true,
  hashKey: pattern(32, 11),
  random: () => 0.5,
});
const laxBook = new AddrBook({
  routabilityStrict: false,
  hashKey: pattern(32, 12),
  random: () => 0.5,
});
const PEX_SRC = NetAddress.fromProto({ id: ID_B, ip: "127.0.0.4", port: 26656 });

const pexCodec = codecOf({ id: PEX_CHANNEL, priority: 1, messageType: PEX_MESSAGE, unwrap: true });

const pex: FuzzTarget = {
  name: "pex",
  kind: "proto",
  seeds: () => [
    encode(PEX_MESSAGE, { pex_request: {} }),
    encode(PEX_MESSAGE, {
      pex_addrs: {
        addrs: [
          { id: ID_A, ip: "127.0.0.1", port: 26656 },
          { id: ID_B, ip: "::1", port: 1 },
          { id: "", ip: "127.0.0.2", port: 0 },
        ],
      },
    }),
  ],
  // Decode as the switch does, then convert each address as the PEX reactor does.
  run(input) {
    const { message, member } = pexCodec.decode(input);
    if (member !== "pex_addrs") return;
    const addrs = (message.pex_addrs as { addrs?: { id?: string; ip?: string; port?: number }[] })
      .addrs ?? [];
    // As PexReactor: convert every entry, then offer each to the address book.
    const parsed = addrs.map((a) => NetAddress.fromProto(a));
    const book = (input.length & 1) === 0 ? strictBook : laxBook;
    for (const a of parsed) book.addAddress(a, PEX_SRC);
  },
  typed: typedBy(MessageCodecError, InvalidParametersError, AddrBookError),
};

const consensusDesc = new ConsensusWatcher().getChannels()[0];
const consensusCodec = codecOf(consensusDesc);

const consensus: FuzzTarget = {
  name: "consensus",
  kind: "proto",
  seeds: () => {
    const t = consensusDesc.messageType;
    return [
      encode(t, newRoundStepMessage(5n, 1n)),
      encode(t, newRoundStepMessage(1n, 1n)),
      encode(t, { has_vote: { height: 7, round: 1, type: 2, index: 3 } }),
      encode(t, {
        vote_set_bits: {
          height: 7,
          round: 0,
          type: 1,
          block_id: pattern(8, 1),
          votes: pattern(4, 2),
        },
      }),
      encode(t, {
        proposal_pol: { height: 9, proposal_pol_round: 2, proposal_pol: pattern(3, 3) },
      }),
      encode(t, { block_part: { height: 3, round: 0, part: pattern(64, 4) } }),
      encode(t, { vote: { vote: pattern(100, 5) } }),
    ];
  },
  // Decode as the switch does, then validate as ConsensusWatcher.receive does.
  run(input) {
    const { message, member } = consensusCodec.decode(input);
    // A member we do not know (tolerateUnknownMember: a newer line's message) is ignored.
    if (member === undefined) return;
    const inner = message[member] as Record<string, unknown>;
    if (member === "new_round_step") validateNewRoundStep(inner, 1n);
    else validateOtherScalars(member, inner);
  },
  typed: typedBy(MessageCodecError, InvalidConsensusMessageError),
};

const mempoolDesc = new TxRelay().getChannels()[0];
const mempoolCodec = codecOf(mempoolDesc);

/** TxRelay.receive's own rejection (an empty batch) made typed for the harness. */
class EmptyTxsError extends Error {}

const mempool: FuzzTarget = {
  name: "mempool",
  kind: "proto",
  seeds: () => [
    encode(mempoolDesc.messageType, { txs: { txs: [enc.encode("k=v")] } }),
    encode(mempoolDesc.messageType, {
      txs: { txs: [pattern(200, 1), enc.encode("a"), pattern(3, 2)] },
    }),
  ],
  // Decode through the raw-bytes filter, as the switch does; then what receive() looks at.
  run(input) {
    const { message } = mempoolCodec.decode(input);
    const txs = (message.txs as { txs?: Uint8Array[] } | undefined)?.txs ?? [];
    if (txs.length === 0) throw new EmptyTxsError("received empty txs from peer");
    for (const tx of txs) if (!(tx instanceof Uint8Array)) throw new TypeError("tx is not bytes");
  },
  typed: typedBy(MessageCodecError, EmptyTxsError),
};

const chatDesc = new ChatReactor({}).getChannels()[0];
const chatCodec = codecOf(chatDesc);

const chat: FuzzTarget = {
  name: "chat",
  kind: "proto",
  seeds: () => [
    encode(chatDesc.messageType, {
      line: {
        id: pattern(16, 1),
        origin: ID_A,
        moniker: "m",
        text: "hello",
        sent_at_ms: 1700000000000,
      },
    }),
  ],
  run(input) {
    const { message, member } = chatCodec.decode(input);
    parseLine(message[member ?? "line"] as Record<string, unknown>, ID_B);
  },
  typed: typedBy(MessageCodecError, MalformedChatLineError),
};

/** The wire targets, in the order bytes reach them on a connection. */
export const WIRE_TARGETS: readonly FuzzTarget[] = [
  ephemeral,
  authSig,
  sealedFrame,
  packet,
  nodeInfo,
  pex,
  consensus,
  mempool,
  chat,
];
