/**
 * Hostile input on the daemon's p2p port. One target daemon (PEX + chat, `p2p:debug,pex:debug`
 * JSON logs) and one honest daemon connected to it before any attack; then, one step per attack,
 * a scripted client (tests/util/hostile.ts) misbehaves and the test checks that:
 * - the daemon closes that connection, and its log names the connection (address or peer ID)
 *   with the reason;
 * - the daemon is still healthy: RPC `/health` answers, the honest peer is still connected on
 *   the same connection (never stopped) and chat lines still cross in both directions;
 * and, at the end, that `node_key.json` is byte-identical and `addrbook.json` loads as JSON.
 * Every wait is bounded; nothing asserts on time.
 */
import { assert, assertEquals, assertStringIncludes } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { cli, type Daemon, spawnDaemon, stopDaemons, waitFor } from "./util/daemon.ts";
import {
  delimited,
  handshakePeer,
  localPort,
  packetMsg,
  pings,
  randomBytes,
  rawConnect,
  secretOnly,
  waitClosed,
  writeQuietly,
} from "./util/hostile.ts";
import { encodeUvarint } from "../libs/protoio.ts";
import { encode, protoType } from "../p2p/proto.ts";
import { CHAT_CHANNEL } from "../reactors/chat.ts";
import { closeQuietly } from "../p2p/conn/stream.ts";

const NETWORK = "switchyard-local";
const PEX_MESSAGE = protoType("tendermint.p2p.Message");
const LOG_FLAGS = ["--log_level", "p2p:debug,pex:debug,*:info", "--log_format", "json"];

/** One JSON log line of a daemon. */
type LogEntry = Record<string, unknown> & { _msg: string; level: string };

function logEntries(d: Daemon): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of d.stdoutLines()) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line));
    } catch { /* not a log line */ }
  }
  return out;
}

/** Waits (bounded) for a log entry whose text (all fields) contains every one of `needles`. */
function waitLog(d: Daemon, what: string, ...needles: string[]): Promise<LogEntry> {
  return waitFor(`log: ${what} (${needles.join(" & ")})`, () => {
    return logEntries(d).find((e) => {
      const text = JSON.stringify(e);
      return needles.every((n) => text.includes(n));
    });
  }, 15_000);
}

interface Fixture {
  target: Daemon;
  honest: Daemon;
  targetId: string;
  honestId: string;
  keyBytes: Uint8Array;
  says: number;
}

async function nodeId(d: Daemon): Promise<string> {
  const st = await d.rpc.call("status") as { node_info: { id: string } };
  return st.node_info.id;
}

/**
 * The health check after every attack: RPC answers, the honest peer is listed and was never
 * stopped, and a chat line crosses each way.
 */
async function assertHealthy(f: Fixture): Promise<void> {
  assertEquals(await f.target.rpc.call("health"), {});
  const ni = await f.target.rpc.call("net_info") as { peers: { node_info: { id: string } }[] };
  assert(ni.peers.some((p) => p.node_info.id === f.honestId), "honest peer still listed");
  const stops = logEntries(f.target).filter((e) =>
    e._msg.startsWith("Stopping peer") && JSON.stringify(e).includes(f.honestId)
  );
  assertEquals(stops, [], "the honest peer was never stopped");
  const n = ++f.says;
  for (
    const [from, to, moniker] of [[f.target, f.honest, "target"], [
      f.honest,
      f.target,
      "honest",
    ]] as const
  ) {
    const r = await cli("say", "--node", from.rpcAddr, `ping-${n}`);
    assertEquals(r.code, 0, r.stderr);
    await to.waitForLine(new RegExp(`^\\[chat\\] ${moniker}: ping-${n}$`));
  }
}

/** A full-handshake hostile peer on the target (advertising PEX and chat). */
function hostilePeer(f: Fixture) {
  return handshakePeer(f.target.p2pPort, { network: NETWORK, channels: [0x00, CHAT_CHANNEL] });
}

Deno.test("p2p port: hostile clients are disconnected with a logged reason, nothing else affected", async (t) => {
  await withTempDir(async (dir) => {
    const ds: Daemon[] = [];
    try {
      const target = await spawnDaemon(`${dir}/target`, {
        flags: ["--moniker", "target", "--node.reactors", "chat", ...LOG_FLAGS],
      });
      ds.push(target);
      const targetId = await nodeId(target);
      const honest = await spawnDaemon(`${dir}/honest`, {
        flags: [
          "--moniker",
          "honest",
          "--node.reactors",
          "chat",
          "--p2p.pex=false",
          "--p2p.persistent_peers",
          `${targetId}@127.0.0.1:${target.p2pPort}`,
        ],
      });
      ds.push(honest);
      const honestId = await nodeId(honest);
      const keyPath = `${dir}/target/config/node_key.json`;
      const f: Fixture = {
        target,
        honest,
        targetId,
        honestId,
        keyBytes: await Deno.readFile(keyPath),
        says: 0,
      };
      await waitFor("the honest peer to connect", async () => {
        const ni = await target.rpc.call("net_info") as { peers: { node_info: { id: string } }[] };
        return ni.peers.some((p) => p.node_info.id === honestId) ? true : undefined;
      });
      await assertHealthy(f);

      await t.step("random garbage bytes", async () => {
        const c = await rawConnect(target.p2pPort);
        const port = localPort(c);
        await writeQuietly(c, randomBytes(4096));
        await waitClosed(c);
        await waitLog(target, "rejection naming the socket", "Inbound Peer rejected", `:${port}`);
        await assertHealthy(f);
      });

      await t.step("a valid-looking ephemeral key, then garbage", async () => {
        const c = await rawConnect(target.p2pPort);
        const port = localPort(c);
        // BytesValue{value: 32 bytes}, uvarint-delimited: what a real peer sends first.
        const eph = delimited(Uint8Array.of(0x0a, 0x20, ...randomBytes(32)));
        await writeQuietly(c, eph);
        await writeQuietly(c, randomBytes(2048));
        await waitClosed(c);
        await waitLog(target, "rejection naming the socket", "Inbound Peer rejected", `:${port}`);
        await assertHealthy(f);
      });

      await t.step("a half-open connection is closed at the handshake deadline", async () => {
        const c = await rawConnect(target.p2pPort);
        const port = localPort(c);
        await waitClosed(c);
        await waitLog(target, "timeout naming the socket", "Inbound Peer rejected", `:${port}`);
        await assertHealthy(f);
      });

      await t.step("200 half-open connections do not block an honest handshake", async () => {
        const silent = await Promise.all(
          Array.from({ length: 200 }, () => rawConnect(target.p2pPort)),
        );
        try {
          // A well-behaved newcomer completes its handshake while all 200 are still open. All
          // come from 127.0.0.1, so the per-IP cap applies to it too: if it lands while that
          // IP's slots are all fresh (< 100 ms in their phase) it is refused and, as a real node
          // would, redials once they have gone stale (at most 3 tries).
          let p: Awaited<ReturnType<typeof hostilePeer>> | undefined;
          for (let attempt = 1; p === undefined; attempt++) {
            try {
              p = await hostilePeer(f);
            } catch (e) {
              if (attempt >= 3) throw e;
              await new Promise((r) => setTimeout(r, 300));
            }
          }
          assertEquals(p.theirs?.id, targetId);
          p.close();
          await Promise.all(silent.map((c) => waitClosed(c, 30_000)));
          await waitLog(target, "a silent handshake shed", "Inbound Peer rejected", "dropped");
        } finally {
          for (const c of silent) closeQuietly(c);
        }
        await assertHealthy(f);
      });

      await t.step("SecretConnection, then an oversized NodeInfo length", async () => {
        const p = await secretOnly(target.p2pPort);
        const port = localPort(p.tcp);
        await p.send(encodeUvarint(1 << 20));
        await p.send(randomBytes(1024));
        await p.closed();
        const e = await waitLog(target, "rejection", "Inbound Peer rejected", `:${port}`);
        assertStringIncludes(String(e.err), "10240");
        await assertHealthy(f);
      });

      const afterHandshake: [string, Uint8Array | (() => Uint8Array), string][] = [
        ["a Packet on an unknown channel", () => packetMsg(0x55, true, Uint8Array.of(1)), "55"],
        [
          "a malformed Packet",
          () => delimited(Uint8Array.of(0x0a, 0xff, 0xff, 0xff)),
          "bad packet",
        ],
        [
          "an oversized Packet",
          () => delimited(Uint8Array.of(0x1a, ...encodeUvarint(100_000), ...randomBytes(100_000))),
          "exceeds max size",
        ],
        [
          "a never-ending message without eof beyond the channel's recv capacity",
          () => {
            const one = packetMsg(CHAT_CHANNEL, false, randomBytes(1024));
            const n = 2048; // 2 MiB of one unfinished message
            const out = new Uint8Array(one.length * n);
            for (let i = 0; i < n; i++) out.set(one, i * one.length);
            return out;
          },
          "exceeds available capacity",
        ],
      ];
      for (const [name, bytes, reason] of afterHandshake) {
        await t.step(`full handshake, then ${name}`, async () => {
          const p = await hostilePeer(f);
          await p.send(typeof bytes === "function" ? bytes() : bytes);
          await p.closed();
          const e = await waitLog(
            target,
            `stop of ${p.key.id}`,
            "Stopping peer for error",
            p.key.id,
            reason,
          );
          assertEquals(e.level, "error", "a protocol violation is logged at error");
          assertStringIncludes(String(e.err), "protocol_violation");
          await assertHealthy(f);
        });
      }

      await t.step("full handshake, then a PexAddrs flood", async () => {
        const p = await hostilePeer(f);
        const addrs = Array.from({ length: 250 }, (_, i) => ({
          id: randomBytes(20).reduce((s, b) => s + b.toString(16).padStart(2, "0"), ""),
          ip: `10.${i}.0.1`,
          port: 26656,
        }));
        const msg = encode(PEX_MESSAGE, { pex_addrs: { addrs } });
        const chunks: Uint8Array[] = [];
        for (let off = 0; off < msg.length; off += 1024) {
          const end = Math.min(msg.length, off + 1024);
          chunks.push(packetMsg(0x00, end === msg.length, msg.subarray(off, end)));
        }
        const one = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
        chunks.reduce((off, c) => (one.set(c, off), off + c.length), 0);
        for (let i = 0; i < 50 && await p.send(one); i++) { /* flood until closed */ }
        await p.closed();
        await waitLog(target, `stop of ${p.key.id}`, "Stopping peer for error", p.key.id);
        await assertHealthy(f);
      });

      await t.step("full handshake, then a ping flood", async () => {
        const p = await hostilePeer(f);
        const burst = pings(20_000);
        for (let i = 0; i < 100 && await p.send(burst); i++) { /* flood until closed */ }
        await p.closed();
        const e = await waitLog(
          target,
          `stop of ${p.key.id}`,
          "Stopping peer for error",
          p.key.id,
          "ping flood",
        );
        assertEquals(e.level, "error", "a protocol violation is logged at error");
        await assertHealthy(f);
      });

      assertEquals(await target.stop("SIGTERM"), 0, target.output);
      assertEquals(await Deno.readFile(keyPath), f.keyBytes, "node_key.json untouched");
      const book = JSON.parse(await Deno.readTextFile(`${dir}/target/config/addrbook.json`));
      assert(Array.isArray(book.addrs) || book.addrs === null, "addrbook.json is a book");
      assertStringIncludes(target.output, "Stopping Node");
    } finally {
      await stopDaemons(ds);
    }
  });
});
