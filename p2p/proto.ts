/**
 * The one place that owns the wire format: loads our `.proto` files (field numbers identical
 * to CometBFT v0.38's `proto/tendermint/...`) into a protobufjs Root and encodes messages the
 * way gogoproto does.
 *
 * protobufjs writes a scalar field whenever the property is present, even when it is zero;
 * Go's proto3 marshaller omits zero scalars. {@link encode} therefore prunes zero scalars first,
 * so `PacketMsg{channel_id: 0}` (PEX) encodes without a `channel_id` field, byte for byte as Go.
 * Sub-messages that are present are always written (Go's non-nullable fields: an empty one is
 * `tag 00`).
 * @module
 */
import protobuf from "protobufjs";

const PROTO_FILES = [
  "google/protobuf/wrappers.proto",
  "tendermint/crypto/keys.proto",
  "tendermint/p2p/types.proto",
  "tendermint/p2p/conn.proto",
  "tendermint/p2p/pex.proto",
];

const protoDir = new URL("../proto/", import.meta.url);

function loadRoot(files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  for (const file of files) {
    const text = Deno.readTextFileSync(new URL(file, protoDir));
    protobuf.parse(text, root, { keepCase: true });
  }
  root.resolveAll();
  return root;
}

let root: protobuf.Root | undefined;
const extraFiles = new Set<string>();

/** Registers more `.proto` files (paths relative to `proto/`), e.g. a reactor's messages. */
export function registerProtoFiles(...files: string[]): void {
  let added = false;
  for (const f of files) {
    if (!PROTO_FILES.includes(f) && !extraFiles.has(f)) {
      extraFiles.add(f);
      added = true;
    }
  }
  if (added) root = undefined;
}

/** The shared protobufjs Root holding every registered message type. */
export function protoRoot(): protobuf.Root {
  if (!root) root = loadRoot([...PROTO_FILES, ...extraFiles]);
  return root;
}

/** Looks up a message type by full name, e.g. `tendermint.p2p.DefaultNodeInfo`. */
export function protoType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}

function isZeroScalar(v: unknown): boolean {
  if (v === 0 || v === false || v === "" || v === 0n) return true;
  if (v instanceof Uint8Array) return v.length === 0;
  // protobufjs Long
  if (typeof v === "object" && v !== null && "low" in v && "high" in v) {
    const l = v as { low: number; high: number };
    return l.low === 0 && l.high === 0;
  }
  return false;
}

/** Returns a copy of `obj` shaped for `type` with proto3 zero scalars removed. */
export function pruneZeros(
  type: protobuf.Type,
  obj: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined || v === null) continue;
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
    if (field.repeated) {
      const arr = v as unknown[];
      if (arr.length === 0) continue;
      out[field.name] = sub ? arr.map((e) => pruneZeros(sub, e as Record<string, unknown>)) : arr;
    } else if (sub) {
      out[field.name] = pruneZeros(sub, v as Record<string, unknown>);
    } else if (!isZeroScalar(v) || field.partOf) {
      // A oneof member that is set is written even when zero-valued, as gogoproto does.
      out[field.name] = v;
    }
  }
  return out;
}

/** Encodes `obj` as `type`, byte-identical to Go's gogoproto marshaller. */
export function encode(type: protobuf.Type, obj: Record<string, unknown>): Uint8Array {
  return type.encode(pruneZeros(type, obj)).finish();
}

/** Decodes `bytes` as `type`; throws protobufjs errors on malformed input. */
export function decode<T = Record<string, unknown>>(type: protobuf.Type, bytes: Uint8Array): T {
  return type.decode(bytes) as unknown as T;
}
