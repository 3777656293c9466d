/**
 * `version` run as a subprocess with the cli task's permissions: switchyard's own version, and
 * `--verbose` in the shape of `cometbft version --verbose` plus switchyard's fields.
 */
import { assertEquals } from "./util/assert.ts";
import { cli } from "./util/daemon.ts";
import { BLOCK_PROTOCOL, P2P_PROTOCOL, SOFTWARE_VERSION, SWITCHYARD_VERSION } from "../version.ts";

Deno.test("version prints switchyard's version, not CometBFT's", async () => {
  const r = await cli("version");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout, "0.9.0\n");
  assertEquals(SWITCHYARD_VERSION, "0.9.0");
});

Deno.test("version --verbose: switchyard, the CometBFT line and the protocol versions", async () => {
  for (const flag of ["--verbose", "-v"]) {
    const r = await cli("version", flag);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout), {
      switchyard: "0.9.0",
      cometbft: SOFTWARE_VERSION,
      cometbft_line: "v0.38",
      block_protocol: BLOCK_PROTOCOL,
      p2p_protocol: P2P_PROTOCOL,
    });
  }
  const bad = await cli("version", "--verbos");
  assertEquals(bad.code, 2);
});

Deno.test("NodeInfo version stays CometBFT's by default and configurable", async () => {
  const { buildConfig } = await import("../config/mod.ts");
  const { buildNodeInfo } = await import("../node/node.ts");
  const home = "/nonexistent-home";
  const id = "a".repeat(40);
  // `node.version` empty = the configured CometBFT line's release (v0.38 by default).
  assertEquals(buildNodeInfo(buildConfig(home), "c", id, [0x40]).version, "0.38.25");
  const raw = { raw: "custom-1", source: { kind: "file" as const, path: "x" } };
  const custom = buildConfig(home, [new Map([["node.version", raw]])]);
  assertEquals(buildNodeInfo(custom, "c", id, [0x40]).version, "custom-1");
});
