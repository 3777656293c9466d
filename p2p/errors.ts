/**
 * Typed errors of the p2p layer. Callers branch on the class (or `name`), never on message
 * text. Each class maps to one of CometBFT's rejection kinds (`p2p/errors.go`), and
 * {@link DialErrorKind} groups them for the `dial` probe's exit codes.
 * @module
 */

/** What went wrong while connecting to a peer, coarse enough for an exit code. */
export type DialErrorKind =
  | "unreachable" // TCP connect refused, timed out, or the host did not resolve
  | "handshake" // SecretConnection or NodeInfo exchange failed (bad bytes, bad signature, timeout)
  | "id_mismatch" // authenticated key does not match the dialed ID or the NodeInfo ID
  | "incompatible" // NodeInfo valid but on another network / block version / no common channel
  | "invalid_node_info" // NodeInfo failed validation
  | "self" // we connected to ourselves
  | "rejected" // filtered: duplicate connection, duplicate IP, deny-list, peer limits
  | "closed"; // the connection ended

/** Base class of every p2p error. */
export class P2PError extends Error {
  /** Coarse classification, used for exit codes and metrics labels. */
  readonly kind: DialErrorKind;
  constructor(kind: DialErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
    this.name = new.target.name;
  }
}

/** TCP connect failed (refused, unreachable, DNS failure, dial timeout). */
export class DialFailedError extends P2PError {
  constructor(message: string, options?: ErrorOptions) {
    super("unreachable", message, options);
  }
}

/**
 * The dial was refused by our own policy before any packet was sent (`SWITCHYARD_LOOPBACK_ONLY=1`
 * and a non-loopback address): nothing was dialed.
 */
export class DialForbiddenError extends DialFailedError {}

/** The SecretConnection or NodeInfo handshake failed: a protocol violation by the peer or I/O. */
export class HandshakeError extends P2PError {
  constructor(message: string, options?: ErrorOptions) {
    super("handshake", message, options);
  }
}

/** A handshake phase did not finish before its deadline (CometBFT: 3 s per phase). */
export class HandshakeTimeoutError extends HandshakeError {}

/** The peer's key failed verification: bad signature, wrong key type, malformed key. */
export class AuthSigError extends HandshakeError {}

/** A sealed frame failed to decrypt or carried an impossible length. Fatal to the connection. */
export class FrameError extends HandshakeError {}

/** A length-delimited message declared more bytes than the reader allows. */
export class MessageTooLargeError extends HandshakeError {}

/** Authenticated ID differs from the dialed ID or from NodeInfo's `default_node_id`. */
export class IdMismatchError extends P2PError {
  /** The ID the peer's key authenticated as, when known (who really listens at the address). */
  readonly remoteId?: string;
  constructor(message: string, options?: ErrorOptions & { remoteId?: string }) {
    super("id_mismatch", message, options);
    this.remoteId = options?.remoteId;
  }
}

/** The peer's NodeInfo failed `Validate()`. */
export class InvalidNodeInfoError extends P2PError {
  constructor(message: string, options?: ErrorOptions) {
    super("invalid_node_info", message, options);
  }
}

/** The peer's NodeInfo is valid but not compatible with ours (`CompatibleWith`). */
export class IncompatibleNodeInfoError extends P2PError {
  constructor(message: string, options?: ErrorOptions) {
    super("incompatible", message, options);
  }
}

/** The remote node is ourselves. */
export class SelfConnectionError extends P2PError {
  constructor(message: string, options?: ErrorOptions) {
    super("self", message, options);
  }
}

/** A connection or peer was refused by a filter or limit (duplicate, deny-list, caps). */
export class RejectedError extends P2PError {
  constructor(message: string, options?: ErrorOptions) {
    super("rejected", message, options);
  }
}

/** The stream ended (EOF) or was closed locally. */
export class ConnectionClosedError extends P2PError {
  constructor(message = "connection closed", options?: ErrorOptions) {
    super("closed", message, options);
  }
}

/** An argument was not acceptable (bad address, bad key file...). */
export class InvalidParametersError extends Error {
  /** `message` says which parameter and why. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidParametersError";
  }
}

/** A service was started twice. */
export class AlreadyStartedError extends Error {
  /** `message` names the service. */
  constructor(message = "already started") {
    super(message);
    this.name = "AlreadyStartedError";
  }
}

/** A service method needs the service to be running. */
export class NotStartedError extends Error {
  /** `message` names the service. */
  constructor(message = "not started") {
    super(message);
    this.name = "NotStartedError";
  }
}
