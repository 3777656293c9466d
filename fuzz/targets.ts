/**
 * Every fuzz target, by name.
 * @module
 */
import { FILE_TARGETS } from "./targets_files.ts";
import { HANDSHAKE_TARGETS } from "./targets_handshake.ts";
import { STREAM_TARGETS } from "./targets_stream.ts";
import { WIRE_TARGETS } from "./targets_wire.ts";
import type { FuzzTarget } from "./target.ts";

/** All decoders that take outside bytes: wire messages, the MConnection stream, files, RPC. */
export const TARGETS: readonly FuzzTarget[] = [
  ...WIRE_TARGETS,
  ...HANDSHAKE_TARGETS,
  ...STREAM_TARGETS,
  ...FILE_TARGETS,
];
