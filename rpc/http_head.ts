/**
 * HTTP/1.x request heads for `rpc/http_server.ts`: reading one from a socket within a size
 * bound, and parsing it (request line, headers, body framing, keep-alive). A malformed head
 * is not thrown: it comes back with the status to answer (400, 431, 501), so the server can
 * say why before it closes the connection.
 * @module
 */
import { concatBytes } from "../libs/bytes.ts";

/** An HTTP error to answer a bad head with (the connection is closed after it). */
export interface HeadError {
  status: number;
  message: string;
}

const CRLFCRLF = [13, 10, 13, 10];

/** A parsed request head. */
export class RequestHead {
  method = "";
  target = "/";
  /** "HTTP/1.1" or "HTTP/1.0". */
  version = "HTTP/1.1";
  headers = new Headers();
  /** The declared body length (0 when absent). */
  contentLength: number | undefined;
  keepAlive = false;
  expectContinue = false;
  /** The body comes in chunks (Transfer-Encoding: chunked). */
  chunked = false;
  error: HeadError | undefined;

  /** Parses the head's text (without the blank line). */
  static parse(text: string): RequestHead {
    const h = new RequestHead();
    const lines = text.split(/\r?\n/);
    const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0] ?? "");
    if (!m) return h.#fail(400, "malformed request line");
    [, h.method, h.target, h.version] = m;
    // Absolute form (what a client sends through a proxy, e.g. a unix-socket HTTP client).
    const abs = /^https?:\/\/[^/?#]*(.*)$/i.exec(h.target);
    if (abs) h.target = abs[1].startsWith("/") ? abs[1] : `/${abs[1]}`;
    if (!h.target.startsWith("/")) return h.#fail(400, "request target must start with /");
    for (const line of lines.slice(1)) {
      const i = line.indexOf(":");
      if (i <= 0 || /\s/.test(line[0])) return h.#fail(400, "malformed header line");
      try {
        h.headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
      } catch {
        return h.#fail(400, "invalid header");
      }
    }
    const te = h.headers.get("transfer-encoding");
    if (te !== null) {
      if (te.toLowerCase() !== "chunked") {
        return h.#fail(501, `Transfer-Encoding "${te}" is not supported`);
      }
      if (h.headers.has("content-length")) {
        return h.#fail(400, "both Transfer-Encoding and Content-Length");
      }
      h.chunked = true;
    }
    const cl = h.headers.get("content-length");
    if (cl !== null) {
      // Repeated headers arrive joined with ", "; they must all agree.
      const values = new Set(cl.split(",").map((s) => s.trim()));
      const v = values.size === 1 ? [...values][0] : "";
      if (!/^\d{1,15}$/.test(v)) return h.#fail(400, "invalid Content-Length");
      h.contentLength = Number(v);
    }
    const conn = (h.headers.get("connection") ?? "").toLowerCase();
    h.keepAlive = h.version === "HTTP/1.1" ? !conn.includes("close") : conn.includes("keep-alive");
    h.expectContinue = (h.headers.get("expect") ?? "").toLowerCase() === "100-continue";
    return h;
  }

  #fail(status: number, message: string): RequestHead {
    this.error = { status, message };
    this.keepAlive = false;
    return this;
  }

  /** The web Request the handler sees (a GET or HEAD body is dropped, as fetch would). */
  toRequest(body: Uint8Array<ArrayBuffer>): Request {
    const bodyless = this.method === "GET" || this.method === "HEAD";
    return new Request(`http://localhost${this.target}`, {
      method: this.method,
      headers: this.headers,
      body: bodyless || body.length === 0 ? undefined : body,
    });
  }
}

function indexOfBlankLine(buf: Uint8Array, from: number): number {
  for (let i = Math.max(0, from); i + 3 < buf.length; i++) {
    if (
      buf[i] === CRLFCRLF[0] && buf[i + 1] === CRLFCRLF[1] && buf[i + 2] === CRLFCRLF[2] &&
      buf[i + 3] === CRLFCRLF[3]
    ) return i;
  }
  return -1;
}

/** A read buffer over a connection: what a request's head, body or next request left. */
export class ConnReader {
  #buf = new Uint8Array(4096);
  #start = 0;
  #end = 0;

  constructor(readonly conn: Deno.Conn) {}

  /** The unread bytes (a view, valid until the next fill). */
  view(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }
  /** Drops `n` unread bytes. */
  consume(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }
  /** Reads more from the socket (growing the buffer up to `cap`); false at EOF. */
  async fill(cap = 1 << 20): Promise<boolean> {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) {
      if (this.#buf.length >= cap) throw new Error(`read buffer full (${cap} bytes)`);
      const bigger = new Uint8Array(Math.min(cap, this.#buf.length * 2));
      bigger.set(this.#buf.subarray(0, this.#end));
      this.#buf = bigger;
    }
    const n = await this.conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  /** Reads exactly `n` bytes. Throws at EOF before that. */
  async readExact(n: number): Promise<Uint8Array<ArrayBuffer>> {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      if (this.#end === this.#start && !(await this.fill())) {
        throw new Error(`connection closed after ${off} of ${n} body bytes`);
      }
      const take = Math.min(n - off, this.#end - this.#start);
      out.set(this.#buf.subarray(this.#start, this.#start + take), off);
      off += take;
      this.consume(take);
    }
    return out;
  }

  /** Reads one CRLF-terminated line of at most `max` bytes (without the CRLF). */
  async readLine(max: number): Promise<string> {
    for (;;) {
      const v = this.view();
      const i = v.indexOf(10);
      if (i >= 0) {
        const line = new TextDecoder("latin1").decode(v.subarray(0, i)).replace(/\r$/, "");
        this.consume(i + 1);
        return line;
      }
      if (v.length > max) throw new Error(`line longer than ${max} bytes`);
      if (!(await this.fill())) throw new Error("connection closed mid-line");
    }
  }
}

/**
 * Reads a request head (up to the blank line). Returns null if the connection closes before
 * any byte of a new request; a head over `maxBytes` comes back with a 431 error. Throws if
 * the connection closes mid-head.
 */
export async function readHead(r: ConnReader, maxBytes: number): Promise<RequestHead | null> {
  let scanned = 0;
  for (;;) {
    const v = r.view();
    // Leading blank lines before a request line are allowed (RFC 9112 §2.2).
    let start = 0;
    while (start + 1 < v.length && v[start] === 13 && v[start + 1] === 10) start += 2;
    if (start > 0) {
      r.consume(start);
      scanned = 0;
      continue;
    }
    const end = indexOfBlankLine(v, scanned - 3);
    if (end >= 0) {
      const text = new TextDecoder("latin1").decode(v.subarray(0, end));
      r.consume(end + 4);
      return RequestHead.parse(text);
    }
    scanned = v.length;
    if (v.length > maxBytes) {
      const h = new RequestHead();
      h.error = { status: 431, message: `request head larger than ${maxBytes} bytes` };
      return h;
    }
    if (!(await r.fill(maxBytes + 4096))) {
      if (r.view().length === 0) return null;
      throw new Error(`connection closed after ${r.view().length} bytes of a request head`);
    }
  }
}

/** Longest chunk-size line (with extensions) we read. */
const MAX_CHUNK_LINE = 4096;

/**
 * Reads a chunked body (RFC 9112 §7.1), trailers skipped. Returns undefined as soon as the
 * body grows past `max` bytes (the rest is not read).
 */
export async function readChunkedBody(
  r: ConnReader,
  max: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const line = await r.readLine(MAX_CHUNK_LINE);
    const m = /^([0-9a-fA-F]{1,8})(;.*)?$/.exec(line.trim());
    if (!m) throw new Error("malformed chunk size");
    const size = parseInt(m[1], 16);
    if (size === 0) break;
    total += size;
    if (total > max) return undefined;
    chunks.push(await r.readExact(size));
    if ((await r.readLine(2)) !== "") throw new Error("missing CRLF after chunk");
  }
  while ((await r.readLine(MAX_CHUNK_LINE)) !== "") { /* trailer field: ignored */ }
  return concatBytes(chunks, total);
}
