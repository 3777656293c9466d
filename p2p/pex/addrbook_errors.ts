/**
 * Typed rejections of `AddrBook.addAddress` (CometBFT `p2p/pex/errors.go`, `ErrAddrBook*`), one
 * class per check, each carrying its {@link AddrBookRejection} reason.
 * @module
 */
import type { NetAddress } from "../netaddress.ts";
import { P2PError } from "../errors.ts";

/** Why `addAddress` refused an address, in the order the checks run. */
export type AddrBookRejection =
  | "nil"
  | "invalid"
  | "banned"
  | "private"
  | "privateSrc"
  | "self"
  | "nonRoutable";

/** Base of the typed `addAddress` rejections (Go `ErrAddrBook*`). */
export class AddrBookError extends P2PError {
  /** Which check refused the address. */
  readonly reason: AddrBookRejection;
  constructor(reason: AddrBookRejection, message: string) {
    super("rejected", message);
    this.reason = reason;
  }
}
/** addr or src missing. */
export class AddrBookNilAddrError extends AddrBookError {
  constructor(addr: unknown, src: unknown) {
    super("nil", `Cannot add a nil address. Got (addr, src) = (${addr}, ${src})`);
  }
}
/** `!addr.valid()`. */
export class AddrBookInvalidAddrError extends AddrBookError {
  constructor(addr: NetAddress, why: string) {
    super("invalid", `Cannot add invalid address ${addr}: ${why}`);
  }
}
/** The ID is in the ban list. */
export class AddrBookBannedError extends AddrBookError {
  constructor(addr: NetAddress) {
    super("banned", `Address: ${addr} is currently banned`);
  }
}
/** The address's ID is private. */
export class AddrBookPrivateError extends AddrBookError {
  constructor(addr: NetAddress) {
    super("private", `Cannot add private peer with address ${addr}`);
  }
}
/** The source's ID is private (we never gossip what private peers told us). */
export class AddrBookPrivateSrcError extends AddrBookError {
  constructor(src: NetAddress) {
    super("privateSrc", `Cannot add peer coming from private peer with address ${src}`);
  }
}
/** One of our own addresses. */
export class AddrBookSelfError extends AddrBookError {
  constructor(addr: NetAddress) {
    super("self", `Cannot add ourselves with address ${addr}`);
  }
}
/** Strict mode and not routable. */
export class AddrBookNonRoutableError extends AddrBookError {
  constructor(addr: NetAddress) {
    super("nonRoutable", `Cannot add non-routable address ${addr}`);
  }
}
