/**
 * JSON-RPC 2.0 types and errors with CometBFT's codes and messages (spec §16.2).
 * @module
 */

/** A request id: string or number; `null`/absent marks a notification. */
export type JsonRpcId = string | number;

/** CometBFT's JSON-RPC error codes. */
export const RpcCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  serverError: -32000,
} as const;

const MESSAGES: Record<number, string> = {
  [RpcCode.parseError]: "Parse error. Invalid JSON",
  [RpcCode.invalidRequest]: "Invalid Request",
  [RpcCode.methodNotFound]: "Method not found",
  [RpcCode.invalidParams]: "Invalid params",
  [RpcCode.internalError]: "Internal error",
  [RpcCode.serverError]: "Server error",
};

/** An error object as it travels in a JSON-RPC response. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: string;
}

/** Thrown by route handlers and parameter decoding; becomes a JSON-RPC error response. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: string;
  constructor(code: number, data = "") {
    super(data ? `${MESSAGES[code] ?? "Error"}: ${data}` : MESSAGES[code] ?? "Error");
    this.name = "RpcError";
    this.code = code;
    this.data = data;
  }

  /** The wire form; `data` omitted when empty, as Go does. */
  toObject(): RpcErrorObject {
    const o: RpcErrorObject = { code: this.code, message: MESSAGES[this.code] ?? "Error" };
    if (this.data) o.data = this.data;
    return o;
  }
}

/** Parameter types a route can declare (CometBFT's Go argument types). */
export type ParamType = "string" | "bytes" | "int64" | "int" | "bool" | "string[]";

/** A route parameter. */
export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  /** May be left out of a positional (array) JSON-RPC `params`; only trailing ones. */
  readonly optional?: boolean;
}

/** Decoded argument values by parameter name. */
export type RouteArgs = Record<string, string | Uint8Array | bigint | number | boolean | string[]>;

/** One RPC route. A handler throws (any Error) to produce `-32603 Internal error`. */
export interface Route {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  /** Registered only when `[rpc] unsafe = true`. */
  readonly unsafe?: boolean;
  handler(args: RouteArgs): unknown | Promise<unknown>;
}
