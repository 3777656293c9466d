/**
 * Node identity (CometBFT `p2p/key.go`): the Ed25519 node key, its `node_key.json` file in
 * CometBFT's exact compact Amino-JSON form, and the node ID (lower-case hex of the first 20
 * bytes of SHA-256 of the public key).
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { InvalidParametersError } from "./errors.ts";
import { writeFileAtomic } from "../libs/tempfile.ts";
import { toHex } from "../libs/bytes.ts";
import { ed25519PubKeyToId, ed25519Signer, type Signer } from "./conn/crypto.ts";

/** Length in bytes of a node ID once hex-decoded (`IDByteLength`). */
export const ID_BYTE_LENGTH = 20;
/** Amino JSON type name of an Ed25519 private key. */
export const PRIV_KEY_ED25519_TYPE = "tendermint/PrivKeyEd25519";
/** File mode of `node_key.json`, as CometBFT writes it. */
export const NODE_KEY_FILE_MODE = 0o600;
/** Mode of directories we create for the key file (CometBFT's `DefaultDirPerm`). */
const KEY_DIR_MODE = 0o700;

const SEED_LENGTH = 32;
const PUB_KEY_LENGTH = 32;
const PRIV_KEY_LENGTH = SEED_LENGTH + PUB_KEY_LENGTH;

/** A node key file is missing, unreadable or malformed. The message names the file. */
export class KeyFileError extends InvalidParametersError {
  /** Path of the offending file. */
  readonly path: string;
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`node key file ${path}: ${message}`, options);
    this.name = "KeyFileError";
    this.path = path;
  }
}

/** The node ID of an Ed25519 public key: lower-case hex of SHA-256(pub)[0:20]. */
export function pubKeyToId(pub: Uint8Array): string {
  if (pub.length !== PUB_KEY_LENGTH) {
    throw new InvalidParametersError(`ed25519 public key must be 32 bytes, got ${pub.length}`);
  }
  return ed25519PubKeyToId(pub);
}

/**
 * Validates an ID the way Go's `validateID` does: non-empty, hex, 20 bytes. Go's hex decoder
 * accepts upper-case digits, so this does too; IDs are still compared as strings elsewhere.
 * @throws InvalidParametersError with Go-like messages.
 */
export function validateId(id: string): void {
  if (id.length === 0) throw new InvalidParametersError("no ID");
  // Go's hex.DecodeString reports a bad digit before an odd length.
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    const isHex = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
    if (!isHex) {
      throw new InvalidParametersError(
        `encoding/hex: invalid byte: U+${c.toString(16).toUpperCase().padStart(4, "0")}`,
      );
    }
  }
  if (id.length % 2 !== 0) throw new InvalidParametersError("encoding/hex: odd length hex string");
  if (id.length / 2 !== ID_BYTE_LENGTH) {
    throw new InvalidParametersError(
      `invalid hex length - got ${id.length / 2}, expected ${ID_BYTE_LENGTH}`,
    );
  }
}

/** Whether {@link validateId} would accept `id`. */
export function isValidId(id: string): boolean {
  try {
    validateId(id);
    return true;
  } catch {
    return false;
  }
}

function base64Encode(b: Uint8Array): string {
  let bin = "";
  for (const x of b) bin += String.fromCharCode(x);
  return btoa(bin);
}

function base64Decode(s: string): Uint8Array | null {
  // atob is lenient about missing padding and whitespace; Go's StdEncoding is not.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return null;
  try {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/**
 * Which Ed25519 implementation {@link NodeKey.sign} uses: the native signer of
 * `p2p/conn/crypto.ts` (node:crypto, ~36 µs a signature, the handshake's hot path) or noble
 * where the runtime lacks it. Both give identical signatures (Ed25519 is deterministic).
 */
export function signingBackend(): "native" | "noble" | "undecided" {
  return nativeSigning === undefined ? "undecided" : nativeSigning ? "native" : "noble";
}

let nativeSigning: boolean | undefined;

/** A node's Ed25519 key (Go `p2p.NodeKey`): its ID, signing, and the `node_key.json` file. */
export class NodeKey {
  /** 64 bytes: 32-byte seed followed by the 32-byte public key (Go's layout). */
  readonly privKey: Uint8Array;
  /** 32-byte Ed25519 public key. */
  readonly pubKey: Uint8Array;
  /** Node ID: 40 lower-case hex characters. */
  readonly id: string;
  #signer: Promise<Signer> | undefined;

  private constructor(seed: Uint8Array) {
    const pub = ed25519.getPublicKey(seed);
    this.privKey = new Uint8Array(PRIV_KEY_LENGTH);
    this.privKey.set(seed, 0);
    this.privKey.set(pub, SEED_LENGTH);
    this.pubKey = this.privKey.slice(SEED_LENGTH);
    this.id = pubKeyToId(this.pubKey);
  }

  /** A fresh random key. */
  static generate(): NodeKey {
    return new NodeKey(crypto.getRandomValues(new Uint8Array(SEED_LENGTH)));
  }

  /** The key with the given 32-byte RFC 8032 seed. */
  static fromSeed(seed32: Uint8Array): NodeKey {
    if (seed32.length !== SEED_LENGTH) {
      throw new InvalidParametersError(`ed25519 seed must be 32 bytes, got ${seed32.length}`);
    }
    return new NodeKey(seed32);
  }

  /** Ed25519 signature of `msg` (64 bytes). Deterministic: native and noble agree. */
  async sign(msg: Uint8Array): Promise<Uint8Array> {
    this.#signer ??= ed25519Signer(this.privKey.subarray(0, SEED_LENGTH)).then((s) => {
      nativeSigning = s.native;
      return s;
    });
    return await (await this.#signer).sign(msg);
  }

  /** Signs with the pure-JS implementation (the reference for {@link sign}); exposed for tests. */
  signNoble(msg: Uint8Array): Uint8Array {
    return ed25519.sign(msg, this.privKey.subarray(0, SEED_LENGTH));
  }

  /** The exact `node_key.json` text CometBFT writes (compact, no trailing newline). */
  toFileText(): string {
    return `{"priv_key":{"type":"${PRIV_KEY_ED25519_TYPE}","value":"${
      base64Encode(this.privKey)
    }"}}`;
  }

  /**
   * Writes `node_key.json` atomically with mode 0600: a temp file in the same directory, then a
   * rename, so a crash never leaves a truncated key. Creates missing parent directories.
   */
  async save(path: string): Promise<void> {
    const slash = path.lastIndexOf("/");
    const dir = slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
    await Deno.mkdir(dir, { recursive: true, mode: KEY_DIR_MODE });
    const data = new TextEncoder().encode(this.toFileText());
    try {
      await writeFileAtomic(path, data, NODE_KEY_FILE_MODE);
    } catch (err) {
      throw new KeyFileError(path, `cannot write: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Parses `node_key.json` text; `path` only labels errors. */
  static parse(text: string, path = "<node_key.json>"): NodeKey {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      // JSON.parse quotes the offending input; a key file's bytes must not reach the terminal
      // (a secret, and control characters would break the one-line error).
      const where = /position (\d+)/.exec((err as Error).message)?.[1];
      throw new KeyFileError(
        path,
        `not valid JSON${where === undefined ? "" : ` (at byte ${where})`}`,
        { cause: err },
      );
    }
    const pk = (doc as { priv_key?: unknown } | null)?.priv_key;
    if (typeof pk !== "object" || pk === null) {
      throw new KeyFileError(path, `missing "priv_key" object`);
    }
    const { type, value } = pk as { type?: unknown; value?: unknown };
    if (type !== PRIV_KEY_ED25519_TYPE) {
      throw new KeyFileError(
        path,
        `unsupported key type ${
          JSON.stringify(type)
        }; only ${PRIV_KEY_ED25519_TYPE} works on the wire`,
      );
    }
    if (typeof value !== "string") throw new KeyFileError(path, `"value" must be a base64 string`);
    const raw = base64Decode(value);
    if (!raw) throw new KeyFileError(path, `"value" is not valid standard base64`);
    if (raw.length !== PRIV_KEY_LENGTH) {
      throw new KeyFileError(
        path,
        `private key must be 64 bytes (seed||pubkey), got ${raw.length}`,
      );
    }
    const key = new NodeKey(raw.subarray(0, SEED_LENGTH));
    const embedded = raw.subarray(SEED_LENGTH);
    if (!key.pubKey.every((b, i) => b === embedded[i])) {
      // Go would trust the embedded half and then produce signatures nobody can verify.
      throw new KeyFileError(
        path,
        `public key half (${toHex(embedded)}) does not match the key derived from the seed (${
          toHex(key.pubKey)
        })`,
      );
    }
    return key;
  }

  /** Loads `node_key.json`. @throws KeyFileError when missing, unreadable or malformed. */
  static async load(path: string): Promise<NodeKey> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound ? "does not exist" : "cannot be read";
      throw new KeyFileError(path, `${why}: ${(err as Error).message}`, { cause: err });
    }
    return NodeKey.parse(text, path);
  }

  /** Loads the key file if it exists, else generates a key and saves it there. */
  static async loadOrGen(path: string): Promise<NodeKey> {
    try {
      await Deno.lstat(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new KeyFileError(path, `cannot be read: ${(err as Error).message}`, { cause: err });
      }
      const key = NodeKey.generate();
      await key.save(path);
      return key;
    }
    return await NodeKey.load(path);
  }
}
