/**
 * libs/accept.ts on a scripted listener: per-connection errors are skipped (debug), resource
 * errors back off with one log line per episode, anything else is an AcceptLoopError, and a
 * closed listener ends the loop with null; an HTTP server on such a listener reports it.
 */
import { assert, assertEquals, assertRejects } from "./util/assert.ts";
import { AcceptLoopError, Acceptor, classifyAcceptError } from "../libs/accept.ts";
import type { LogFields, Logger } from "../libs/log.ts";
import { HttpServer } from "../rpc/http_server.ts";

function codeError(code: string): Error {
  return Object.assign(new Error(`os error (${code})`), { code });
}

/** A listener whose accept() replays `script`: an Error is thrown, anything else returned. */
function scripted(script: (Error | "conn")[]): Deno.Listener {
  const conn = { close() {} } as unknown as Deno.Conn;
  return {
    accept(): Promise<Deno.Conn> {
      const next = script.shift();
      if (next === undefined) return new Promise(() => {}); // nothing more: waits
      return next === "conn" ? Promise.resolve(conn) : Promise.reject(next);
    },
  } as unknown as Deno.Listener;
}

function recordingLogger(lines: { level: string; msg: string }[]): Logger {
  const log = (level: string) => (msg: string, _f?: LogFields) => lines.push({ level, msg });
  const l: Logger = {
    debug: log("debug"),
    info: log("info"),
    error: log("error"),
    with: () => l,
  };
  return l;
}

Deno.test("accept: error classes", () => {
  assertEquals(classifyAcceptError(new Deno.errors.NotConnected("x")), "connection");
  assertEquals(classifyAcceptError(codeError("ECONNABORTED")), "connection");
  assertEquals(classifyAcceptError(codeError("EMFILE")), "resources");
  assertEquals(classifyAcceptError(codeError("ENFILE")), "resources");
  assertEquals(classifyAcceptError(codeError("EINVAL")), "fatal");
  assertEquals(classifyAcceptError(new Error("?")), "fatal");
});

Deno.test("accept: per-connection errors are skipped, fd exhaustion is one logged episode", async () => {
  const lines: { level: string; msg: string }[] = [];
  const a = new Acceptor(
    scripted([
      new Deno.errors.NotConnected("reset before accept"),
      codeError("ECONNABORTED"),
      codeError("EMFILE"),
      codeError("EMFILE"),
      "conn",
      codeError("ENFILE"),
      "conn",
    ]),
    { what: "test", logger: recordingLogger(lines), isClosed: () => false },
  );
  assert((await a.next()) !== null);
  assert((await a.next()) !== null);
  assertEquals(lines.filter((l) => l.level === "error").length, 1, JSON.stringify(lines));
  assertEquals(lines.filter((l) => l.level === "debug").length, 2);
});

Deno.test("accept: any other error is an AcceptLoopError; a closed listener yields null", async () => {
  const bad = new Acceptor(scripted([codeError("EINVAL")]), {
    what: "test",
    logger: recordingLogger([]),
    isClosed: () => false,
  });
  await assertRejects(() => bad.next(), AcceptLoopError);
  let closed = false;
  const a = new Acceptor(scripted([new Deno.errors.BadResource("closed")]), {
    what: "test",
    logger: recordingLogger([]),
    isClosed: () => closed,
  });
  closed = true;
  assertEquals(await a.next(), null);
});

Deno.test("accept: an HTTP server whose accept fails for good reports it (fatal) and stops listening", async () => {
  const lines: { level: string; msg: string }[] = [];
  const listener = scripted([codeError("ECONNABORTED"), codeError("EINVAL")]);
  (listener as unknown as { close(): void }).close = () => {};
  const s = new HttpServer(listener, {
    what: "test server",
    handler: () => Promise.resolve(new Response("")),
    logger: recordingLogger(lines),
  });
  s.serve();
  const err = await s.fatal;
  assert(err instanceof AcceptLoopError, String(err));
  assert(!s.listening);
  assertEquals(lines.filter((l) => l.level === "error").length, 1, JSON.stringify(lines));
  await s.close();
});
