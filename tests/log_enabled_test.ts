/**
 * `Logger.enabled` / `logEnabled`: the level check hot paths use to skip work done only for a
 * log line, agreeing with what the logger actually writes.
 * @module
 */
import { assertEquals } from "./util/assert.ts";
import { createLogger, logEnabled, type Logger, nopLogger } from "../libs/log.ts";

Deno.test("logEnabled follows the per-module level and matches what is written", () => {
  const lines: string[] = [];
  const root = createLogger({ level: "p2p:debug,*:info", sink: (l) => lines.push(l) });
  const p2p = root.with({ module: "p2p" }), pex = root.with({ module: "pex" });
  assertEquals(logEnabled(p2p, "debug"), true);
  assertEquals(logEnabled(pex, "debug"), false);
  assertEquals(logEnabled(pex, "info"), true);
  p2p.debug("a");
  pex.debug("b");
  pex.info("c");
  assertEquals(lines.length, 2);
  const quiet = createLogger({ level: "none", sink: (l) => lines.push(l) });
  assertEquals(logEnabled(quiet, "error"), false);
});

Deno.test("logEnabled: nopLogger writes nothing; a logger without enabled() counts as writing", () => {
  assertEquals(logEnabled(nopLogger, "error"), false);
  const bare: Logger = { debug() {}, info() {}, error() {}, with: () => bare };
  assertEquals(logEnabled(bare, "debug"), true);
});
