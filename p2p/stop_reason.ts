/**
 * Why a peer was stopped. CometBFT passes an `interface{}` reason to `RemovePeer` and
 * `StopPeerForError`; here it is one discriminated union, so the switch can treat a reactor's
 * complaint differently from a dropped socket (e.g. the redial cooldown for persistent peers),
 * and a reactor can branch on `kind` without parsing messages.
 * @module
 */

/** The connection failed: socket error, EOF, pong timeout, MConnection framing error. */
export interface ConnectionErrorReason {
  /** Discriminant. */
  readonly kind: "connection_error";
  /** What failed. */
  readonly error: Error;
}

/** The peer misbehaved at the protocol level: a reactor said so, or its message did not decode. */
export interface ProtocolViolationReason {
  /** Discriminant. */
  readonly kind: "protocol_violation";
  /** What the peer did wrong. */
  readonly error: Error;
  /** Name of the reactor that reported it (or whose channel carried the bad message). */
  readonly reactor?: string;
}

/** Stopped on purpose without blame (e.g. a seed node after exchanging addresses). */
export interface GracefulReason {
  /** Discriminant. */
  readonly kind: "graceful";
}

/** Our own node is shutting down. */
export interface ShutdownReason {
  /** Discriminant. */
  readonly kind: "shutdown";
}

/** Every reason a peer can be stopped for. */
export type StopReason =
  | ConnectionErrorReason
  | ProtocolViolationReason
  | GracefulReason
  | ShutdownReason;

/** Builds a connection-error reason. */
export function connectionError(error: Error): ConnectionErrorReason {
  return { kind: "connection_error", error };
}

/** Builds a protocol-violation reason, optionally naming the reactor. */
export function protocolViolation(error: Error, reactor?: string): ProtocolViolationReason {
  return reactor === undefined
    ? { kind: "protocol_violation", error }
    : { kind: "protocol_violation", error, reactor };
}

/** The graceful reason (a shared constant: it carries no data). */
export const GRACEFUL: GracefulReason = Object.freeze({ kind: "graceful" });

/** The shutdown reason (a shared constant: it carries no data). */
export const SHUTDOWN: ShutdownReason = Object.freeze({ kind: "shutdown" });

/**
 * Normalises what a caller passed to `stopPeerForError`: a typed reason is kept; a bare
 * `Error` is what reactors pass for a bad message, so it becomes a protocol violation.
 */
export function toStopReason(reason: StopReason | Error, reactor?: string): StopReason {
  if (reason instanceof Error) return protocolViolation(reason, reactor);
  return reason;
}

/** Human-readable text for logs: `protocol_violation(mempool): bad tx`. */
export function describeStopReason(reason: StopReason): string {
  switch (reason.kind) {
    case "connection_error":
      return `connection_error: ${reason.error.message}`;
    case "protocol_violation":
      return reason.reactor === undefined
        ? `protocol_violation: ${reason.error.message}`
        : `protocol_violation(${reason.reactor}): ${reason.error.message}`;
    case "graceful":
      return "graceful";
    case "shutdown":
      return "shutdown";
  }
}
