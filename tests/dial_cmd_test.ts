import { assert, assertEquals, assertStringIncludes } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { ExitCode } from "../cmd/command.ts";
import { type DialIO, dialNodeInfo, parseChannels, parseDialArgs, runDial } from "../cmd/dial.ts";
import { UsageError } from "../config/flags.ts";
import { lineProfile } from "../p2p/cometbft_line.ts";
import { NodeKey } from "../p2p/key.ts";
import type { NodeInfo } from "../p2p/node_info.ts";
import { type UpgradedConn, upgradeInbound } from "../p2p/upgrade.ts";

/** Collects what the command prints. */
function collector(): DialIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

const serverKey = NodeKey.generate();

function serverInfo(network: string): NodeInfo {
  return {
    protocolVersion: { p2p: 8, block: 11, app: 0 },
    id: serverKey.id,
    listenAddr: "tcp://127.0.0.1:26656",
    network,
    version: "0.38.25",
    channels: Uint8Array.from([0x40, 0x20, 0x30, 0x00]),
    moniker: "dial-target",
    other: { txIndex: "on", rpcAddress: "tcp://127.0.0.1:26657" },
  };
}

/**
 * A switchyard listener that accepts one connection and upgrades it; `done` settles with the
 * result (or error) once the dial is over.
 */
function oneShotServer(network: string): {
  port: number;
  done: Promise<UpgradedConn | Error>;
} {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    try {
      const c = await l.accept();
      return await upgradeInbound(c, { nodeKey: serverKey, nodeInfo: serverInfo(network) })
        .catch((e: Error) => e);
    } finally {
      l.close();
    }
  })();
  return { port: (l.addr as Deno.NetAddr).port, done };
}

Deno.test("dial: prints the peer's NodeInfo JSON and exits 0", async () => {
  const srv = oneShotServer("dial-chain");
  const io = collector();
  const code = await runDial(
    [`${serverKey.id}@127.0.0.1:${srv.port}`, "--chain-id", "dial-chain", "--moniker", "probe"],
    io,
  );
  const res = await srv.done;
  assertEquals(io.stderr, []);
  assertEquals(code, ExitCode.ok);
  const json = JSON.parse(io.stdout.join("\n"));
  assertEquals(json.id, serverKey.id);
  assertEquals(json.network, "dial-chain");
  assertEquals(json.moniker, "dial-target");
  assertEquals(json.channels, "40203000");
  assert(!(res instanceof Error), `server side failed: ${res}`);
  assertEquals(res.nodeInfo.moniker, "probe");
  assertEquals(res.nodeInfo.channels, parseChannels("40,20,21,22,23,30,38,60,61,00"));
  res.secretConn.close();
});

Deno.test("dial: uses the key under --home", async () => {
  await withTempDir(async (dir) => {
    const key = NodeKey.generate();
    await key.save(`${dir}/config/node_key.json`);
    const srv = oneShotServer("c");
    const io = collector();
    const code = await runDial(
      [`${serverKey.id}@127.0.0.1:${srv.port}`, "--chain-id", "c", "--home", dir],
      io,
    );
    const res = await srv.done;
    assertEquals(code, ExitCode.ok);
    assert(!(res instanceof Error));
    assertEquals(res.nodeInfo.id, key.id);
    res.secretConn.close();
  });
});

Deno.test("dial: wrong ID exits 5", async () => {
  const srv = oneShotServer("c");
  const io = collector();
  const other = NodeKey.generate().id;
  const code = await runDial([`${other}@127.0.0.1:${srv.port}`, "--chain-id", "c"], io);
  await srv.done;
  assertEquals(code, ExitCode.idMismatch);
  assertEquals(io.stdout, []);
  assertEquals(io.stderr.length, 1);
  assertStringIncludes(io.stderr[0], "error: ");
  assertStringIncludes(io.stderr[0], other);
});

Deno.test("dial: other chain id exits 6", async () => {
  const srv = oneShotServer("right-chain");
  const io = collector();
  const code = await runDial(
    [`${serverKey.id}@127.0.0.1:${srv.port}`, "--chain-id", "wrong-chain"],
    io,
  );
  const res = await srv.done;
  assert(res instanceof Error);
  assertEquals(code, ExitCode.incompatible);
  assertEquals(io.stderr.length, 1);
  assertStringIncludes(io.stderr[0], "right-chain");
});

Deno.test("dial: closed port exits 3", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const io = collector();
  const code = await runDial([`${serverKey.id}@127.0.0.1:${port}`, "--chain-id", "c"], io);
  assertEquals(code, ExitCode.unreachable);
  assertEquals(io.stderr.length, 1);
});

Deno.test("dial: a peer that hangs up during the handshake exits 4", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closer = (async () => {
    const c = await l.accept();
    c.close();
    l.close();
  })();
  const io = collector();
  const code = await runDial(
    [`${serverKey.id}@127.0.0.1:${(l.addr as Deno.NetAddr).port}`, "--chain-id", "c"],
    io,
  );
  await closer;
  assertEquals(code, ExitCode.handshake);
  assertEquals(io.stderr.length, 1);
});

Deno.test("dial: bad usage exits 2", async () => {
  const cases: string[][] = [
    [],
    [`${serverKey.id}@127.0.0.1:1`],
    ["127.0.0.1:1", "--chain-id", "c"],
    [`${serverKey.id}@127.0.0.1:1`, "--chain-id", "c", "--channels", "zz"],
    [`${serverKey.id}@127.0.0.1:1`, "--chain-id", "c", "--timeout", "soon"],
    [`${serverKey.id}@127.0.0.1:1`, "--chain-id", "c", "--bogus"],
    [`${serverKey.id}@127.0.0.1:1`, "--chain-id", "c", "--home", "/a", "--node-key", "/b"],
    [`${serverKey.id}@127.0.0.1:1`, "--chain-id", "c", "--node-key", "/nonexistent/key.json"],
  ];
  for (const args of cases) {
    const io = collector();
    assertEquals(await runDial(args, io), ExitCode.usage, `args ${JSON.stringify(args)}`);
    assertEquals(io.stderr.length, 1, `one error line for ${JSON.stringify(args)}`);
    assert(io.stderr[0].startsWith("error: "));
  }
});

Deno.test("dial: parseChannels reads hex bytes", () => {
  assertEquals(parseChannels("40,20,0"), Uint8Array.from([0x40, 0x20, 0x00]));
});

Deno.test("dial: --cometbft-line picks the p2p protocol and version of the NodeInfo it sends", () => {
  const id = NodeKey.generate().id;
  const addr = `${id}@127.0.0.1:1`;
  const expected: Record<string, { p2p: number; version: string }> = {
    "v0.34": { p2p: 8, version: "0.34.35" },
    "v0.37": { p2p: 8, version: "0.37.18" },
    "v0.38": { p2p: 8, version: "0.38.25" },
    "v1.0": { p2p: 9, version: "1.0.1" },
    "auto": { p2p: 8, version: "0.38.25" },
  };
  for (const [line, want] of Object.entries(expected)) {
    for (const args of [["--cometbft-line", line], [`--cometbft_line=${line}`]]) {
      const a = parseDialArgs([addr, "--chain-id", "c", ...args]);
      assertEquals(a.line, line);
      const ni = dialNodeInfo(a, id);
      assertEquals(ni.protocolVersion, { p2p: want.p2p, block: 11, app: 0 }, line);
      assertEquals(ni.version, want.version, line);
      assertEquals(ni.version, lineProfile(a.line).version);
      assertEquals(ni.network, "c");
      assertEquals(ni.id, id);
    }
  }
  // No flag: the default line (v0.38), as before the flag existed.
  const plain = dialNodeInfo(parseDialArgs([addr, "--chain-id", "c"]), id);
  assertEquals(plain.protocolVersion.p2p, 8);
  assertEquals(plain.version, "0.38.25");
});

Deno.test("dial: a bad --cometbft-line or a flag dial has no use for is a usage error (exit 2)", async () => {
  const addr = `${NodeKey.generate().id}@127.0.0.1:1`;
  for (
    const [args, msg] of [
      [["--cometbft-line", "v0.99"], '--cometbft-line: "v0.99" is not a CometBFT line'],
      [["--cometbft-line"], "needs a value"],
      [["--p2p.laddr", "tcp://127.0.0.1:0"], "flag --p2p.laddr does not apply to dial"],
      [["--config", "x.toml"], "dial reads no config file"],
      [["--bogus"], "unknown flag --bogus"],
    ] as const
  ) {
    let err: unknown;
    try {
      parseDialArgs([addr, "--chain-id", "c", ...args]);
    } catch (e) {
      err = e;
    }
    assert(err instanceof UsageError, `${args.join(" ")}: ${err}`);
    assertStringIncludes(err.message, msg);
    const io = collector();
    assertEquals(await runDial([addr, "--chain-id", "c", ...args], io), ExitCode.usage);
    assertEquals(io.stderr.length, 1);
    assertStringIncludes(io.stderr[0], msg);
  }
});

Deno.test("dial --cometbft-line v1.0: the peer receives p2p protocol 9 and version 1.0.1", async () => {
  const srv = oneShotServer("line-chain");
  const io = collector();
  const code = await runDial(
    [
      `${serverKey.id}@127.0.0.1:${srv.port}`,
      "--chain-id",
      "line-chain",
      "--cometbft-line",
      "v1.0",
    ],
    io,
  );
  const res = await srv.done;
  assertEquals(code, ExitCode.ok, io.stderr.join("\n"));
  assert(!(res instanceof Error), `server side failed: ${res}`);
  assertEquals(res.nodeInfo.protocolVersion.p2p, 9);
  assertEquals(res.nodeInfo.version, "1.0.1");
  res.secretConn.close();
});
