/**
 * Decoding of route parameters from URI query strings and JSON-RPC `params`, following
 * CometBFT's rules (spec §16.1, §16.3): 64-bit integers are decimal strings in JSON, `[]byte`
 * is base64 in JSON and `"text"` or `0x<hex>` in URIs, strings keep their JSON quotes in URIs.
 * @module
 */
import type { ParamSpec, ParamType, RouteArgs } from "./types.ts";

/** Raised when a parameter cannot be converted to its declared type. */
export class ParamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParamError";
  }
}

function zero(type: ParamType): RouteArgs[string] {
  switch (type) {
    case "string":
      return "";
    case "bytes":
      return new Uint8Array();
    case "int64":
      return 0n;
    case "int":
      return 0;
    case "bool":
      return false;
    case "string[]":
      return [];
  }
}

function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ParamError(`encoding/hex: invalid byte in "${hex}"`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function base64ToBytes(s: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    throw new ParamError(`illegal base64 data in "${s}"`);
  }
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

const INT_RE = /^-?[0-9]+$/;

/** Decodes one already-parsed JSON value as `type` (the JSON-RPC path). */
export function decodeJsonValue(type: ParamType, v: unknown): RouteArgs[string] {
  if (v === null || v === undefined) return zero(type);
  switch (type) {
    case "string":
      if (typeof v !== "string") {
        throw new ParamError(`expected a string, got ${JSON.stringify(v)}`);
      }
      return v;
    case "bytes":
      if (typeof v !== "string") {
        throw new ParamError(`expected a base64 string, got ${JSON.stringify(v)}`);
      }
      return base64ToBytes(v);
    case "int64":
      if (typeof v !== "string" || !INT_RE.test(v)) {
        throw new ParamError("invalid 64-bit integer encoding " + JSON.stringify(v));
      }
      return BigInt(v);
    case "int":
      if (typeof v === "number" && Number.isInteger(v)) return v;
      if (typeof v === "string" && INT_RE.test(v)) return Number(v);
      throw new ParamError(`expected an integer, got ${JSON.stringify(v)}`);
    case "bool":
      if (typeof v !== "boolean") {
        throw new ParamError(`expected true or false, got ${JSON.stringify(v)}`);
      }
      return v;
    case "string[]":
      if (!Array.isArray(v) || !v.every((e) => typeof e === "string")) {
        throw new ParamError(`expected an array of strings, got ${JSON.stringify(v)}`);
      }
      return v as string[];
  }
}

/** Decodes a URI query value as `type` (Go's `httpParamsToArgs`). */
export function decodeUriValue(type: ParamType, raw: string): RouteArgs[string] {
  if (raw === "") return zero(type);
  const isInt = INT_RE.test(raw);
  const isQuoted = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"');
  const isHex = raw.toLowerCase().startsWith("0x");
  if (isInt && (type === "int64" || type === "int")) {
    return type === "int64" ? BigInt(raw) : Number(raw);
  }
  if (isHex) {
    if (type !== "string" && type !== "bytes") {
      throw new ParamError(`got a hex string arg, but expected '${type}'`);
    }
    const bytes = hexToBytes(raw.slice(2));
    return type === "string" ? new TextDecoder().decode(bytes) : bytes;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new ParamError(`invalid JSON value ${JSON.stringify(raw)}: ${(e as Error).message}`);
  }
  if (type === "bytes" && isQuoted) return new TextEncoder().encode(parsed as string);
  return decodeJsonValue(type, parsed);
}

/** Decodes JSON-RPC `params` (object by name or array by position). */
export function decodeJsonParams(specs: readonly ParamSpec[], params: unknown): RouteArgs {
  const out: RouteArgs = {};
  if (params === undefined || params === null) {
    for (const s of specs) out[s.name] = zero(s.type);
    return out;
  }
  if (Array.isArray(params)) {
    const required = specs.filter((s) => !s.optional).length;
    if (params.length < required || params.length > specs.length) {
      throw new ParamError(
        `expected ${specs.length} parameters (${
          specs.map((s) => s.name).join(" ")
        }), got ${params.length}`,
      );
    }
    specs.forEach((s, i) => out[s.name] = decodeJsonValue(s.type, params[i]));
    return out;
  }
  if (typeof params === "object") {
    const obj = params as Record<string, unknown>;
    for (const s of specs) out[s.name] = decodeJsonValue(s.type, obj[s.name]);
    return out;
  }
  throw new ParamError("unknown type for JSON params. Expected map or array");
}

/** Decodes URI query parameters. */
export function decodeUriParams(specs: readonly ParamSpec[], query: URLSearchParams): RouteArgs {
  const out: RouteArgs = {};
  for (const s of specs) out[s.name] = decodeUriValue(s.type, query.get(s.name) ?? "");
  return out;
}
