/**
 * Running out of file descriptors does not deafen the daemon (issue 9): a daemon under a
 * 48-descriptor limit gets 60 silent connections at once, more than it can hold; its p2p
 * accept loop hits EMFILE, logs one line for the episode and backs off instead of ending; once
 * the silent sockets are dropped (handshake deadline), an honest peer's handshake completes and
 * RPC answers. Bounded; nothing asserts on time.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { spawnDaemon, waitFor } from "./util/daemon.ts";
import { handshakePeer, rawConnect } from "./util/hostile.ts";
import { closeQuietly } from "../p2p/conn/stream.ts";

const FD_LIMIT = 48;
const SILENT = 60;

Deno.test("EMFILE on accept backs off with one log line; the node then admits an honest peer", async () => {
  await withTempDir(async (dir) => {
    const d = await spawnDaemon(`${dir}/home`, {
      fdLimit: FD_LIMIT,
      flags: ["--log_format", "json", "--p2p.max_pending_handshakes_per_ip", "0"],
    });
    const held: Deno.Conn[] = [];
    try {
      for (let i = 0; i < SILENT; i++) held.push(await rawConnect(d.p2pPort));
      const episode = await waitFor("the out-of-descriptors log line", () => {
        const lines = d.stdoutLines().filter((l) => l.includes("out of file descriptors"));
        return lines.length > 0 ? lines : undefined;
      });
      assert(episode[0].includes("p2p transport"), episode[0]);
      for (const c of held.splice(0)) closeQuietly(c);
      const st = await d.rpc.call("status") as { node_info: { id: string; network: string } };
      const peer = await waitFor("an honest handshake", async () => {
        try {
          return await handshakePeer(d.p2pPort, { network: st.node_info.network });
        } catch {
          return undefined; // descriptors still being freed: try again
        }
      });
      assertEquals(peer.theirs?.id, st.node_info.id);
      peer.close();
      const ni = await d.rpc.call("net_info") as { listening: boolean };
      assert(ni.listening);
      const episodes = d.stdoutLines().filter((l) => l.includes("out of file descriptors"));
      assertEquals(episodes.length, 1, episodes.join("\n"));
    } finally {
      for (const c of held) closeQuietly(c);
      assertEquals(await d.stop(), 0);
    }
  });
});
