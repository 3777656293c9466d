/**
 * Every fuzz target, by name.
 * @module
 */
import { FILE_TARGETS } from "./targets_files.ts";
import { WIRE_TARGETS } from "./targets_wire.ts";
import type { FuzzTarget } from "./target.ts";

/** All decoders that take outside bytes: wire first, then files and RPC. */
export const TARGETS: readonly FuzzTarget[] = [...WIRE_TARGETS, ...FILE_TARGETS];
