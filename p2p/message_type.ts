/**
 * Message types for a reactor's own channels, defined in code: what a reactor author puts in
 * `StreamDescriptor.messageType` without writing a `.proto` file or loading one at run time.
 * The result is a protobufjs `Type` in a root of its own, encoded and decoded by the switch
 * like CometBFT's gogoproto types (field numbers are the wire contract).
 * @module
 */
import protobuf from "protobufjs";

/** One field of a {@link defineMessageType} message. */
export interface MessageField {
  /** Field number (1–536870911): the wire identity of the field. */
  readonly id: number;
  /** A protobuf scalar type (`uint64`, `string`, `bytes`, `bool`, …) or another defined type. */
  readonly type: string;
  /** A repeated field. */
  readonly repeated?: boolean;
}

/**
 * Defines a message type `fullName` (e.g. `"myapp.Ping"`) with `fields` (snake_case names, as
 * received messages carry them). Throws if a field is malformed.
 *
 * @example
 * ```ts
 * const Ping = defineMessageType("myapp.Ping", { nonce: { id: 1, type: "uint64" } });
 * ```
 */
export function defineMessageType(
  fullName: string,
  fields: Readonly<Record<string, MessageField>>,
): protobuf.Type {
  const dot = fullName.lastIndexOf(".");
  const name = fullName.slice(dot + 1);
  const root = new protobuf.Root();
  const ns = dot < 0 ? root : root.define(fullName.slice(0, dot));
  const type = new protobuf.Type(name);
  for (const [field, f] of Object.entries(fields)) {
    type.add(new protobuf.Field(field, f.id, f.type, f.repeated ? "repeated" : undefined));
  }
  ns.add(type);
  root.resolveAll();
  return type;
}
