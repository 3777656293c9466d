/**
 * Typed errors of the PEX reactor: the abuse it stops and bans a peer for, and a failed start.
 * @module
 */
import { InvalidParametersError, P2PError } from "../errors.ts";

/** PexAddrs arrived without our PexRequest. */
export class UnsolicitedAddrsError extends P2PError {
  constructor(peer: string) {
    super("rejected", `unsolicited pexAddrsMessage from ${peer}`);
  }
}
/** PexRequests arrive faster than allowed. */
export class RequestFloodError extends P2PError {
  constructor(peer: string, sinceMs: number, minMs: number) {
    super(
      "rejected",
      `peer (${peer}) sent next PEX request too soon (${sinceMs} ms < ${minMs} ms). Disconnecting`,
    );
  }
}
/** PexAddrs carried an address that does not decode. */
export class MalformedAddrsError extends P2PError {
  constructor(peer: string, why: string) {
    super("rejected", `bad address in PexAddrs from ${peer}: ${why}`);
  }
}
/** PEX cannot start (bad seeds, or nothing to bootstrap from). */
export class PexStartError extends InvalidParametersError {}
