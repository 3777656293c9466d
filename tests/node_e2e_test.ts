/**
 * The daemon end to end: `main.ts node` runs as a subprocess with the same scoped permissions
 * as the `deno task` entries (net, read/write, env limited to HOME and SWITCHYARD_*),
 * and is driven with the CLI (`show-node-id`, `status`, `dial-peers`, `net-info`) and over HTTP
 * (metrics). Covers first start on an empty home, two daemons dialed together, a real cometbft
 * node dialed in, start-up failures with their messages and exit codes, and SIGTERM (exit 0,
 * address book saved).
 */
import { assert, assertEquals, assertStringIncludes } from "./util/assert.ts";
import { parsePrometheusText } from "./util/prom_text.ts";
import { freePort, interopTest, startCometbft } from "./interop/cometbft.ts";
import { cli, type Daemon, spawnDaemon, waitFor } from "./util/daemon.ts";

interface NetInfoJson {
  listening: boolean;
  n_peers: string;
  peers: { node_info: { id: string; moniker: string }; is_outbound: boolean; remote_ip: string }[];
}

async function netInfoJson(d: Daemon): Promise<NetInfoJson> {
  const r = await cli("net-info", "--json", "--node", `tcp://127.0.0.1:${d.rpcPort}`);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function peerGauge(port: number): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const s = parsePrometheusText(text).samples.find((x) => x.name === "cometbft_p2p_peers");
  return s?.value;
}

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sy_node_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("empty home: node creates config and key; show-node-id matches /status; SIGTERM exits 0", async () => {
  await withTmp(async (dir) => {
    const home = `${dir}/home`;
    const d = await spawnDaemon(home, { flags: ["--moniker", "e2e-a"] });
    try {
      assert((await Deno.stat(`${home}/config/config.toml`)).isFile);
      const show = await cli("show-node-id", "--home", home);
      assertEquals(show.code, 0, show.stderr);
      const id = show.stdout.trim();
      const st = await cli("status", "--json", "--node", `tcp://127.0.0.1:${d.rpcPort}`);
      assertEquals(st.code, 0, st.stderr);
      const status = JSON.parse(st.stdout);
      assertEquals(status.node_info.id, id);
      assertEquals(status.node_info.moniker, "e2e-a");
      assertEquals(status.node_info.network, "switchyard-local");
      assertEquals(status.node_info.channels, "00"); // PEX
      // Human output and the default --node (rpc.laddr of the config in --home, plus the flag).
      const human = await cli(
        "status",
        "--home",
        home,
        "--rpc.laddr",
        `tcp://127.0.0.1:${d.rpcPort}`,
      );
      assertEquals(human.code, 0, human.stderr);
      assertStringIncludes(human.stdout, `Node ID:      ${id}`);
      // Unsafe routes are off by default: dial-peers gets the RPC error, exit 8, with a hint.
      const dial = await cli(
        "dial-peers",
        "--node",
        `tcp://127.0.0.1:${d.rpcPort}`,
        `${id}@127.0.0.1:1`,
      );
      assertEquals(dial.code, 8);
      assertStringIncludes(dial.stderr, "Method not found");
      assertStringIncludes(dial.stderr, "rpc.unsafe");
      // Reactor routes: the hint names the reactor and node.reactors, not rpc.unsafe.
      const tx = await cli("broadcast-tx", "--node", `tcp://127.0.0.1:${d.rpcPort}`, "k=v");
      assertEquals(tx.code, 8);
      assertStringIncludes(tx.stderr, "served by the tx_relay reactor");
      assertStringIncludes(tx.stderr, "node.reactors");
      assertEquals(tx.stderr.includes("rpc.unsafe"), false, tx.stderr);
      const say = await cli("say", "--node", `tcp://127.0.0.1:${d.rpcPort}`, "hello");
      assertEquals(say.code, 8);
      assertStringIncludes(say.stderr, "served by the chat reactor");
      assertStringIncludes(d.output, "P2P Node ID");
    } finally {
      assertEquals(await d.stop("SIGTERM"), 0, d.output);
    }
    assertStringIncludes(d.output, "Stopping Node");
  });
});

Deno.test("two daemons dialed via dial-peers see each other; metrics gauge 0 → 1; SIGTERM saves the book", async () => {
  await withTmp(async (dir) => {
    const metricsPort = freePort();
    const a = await spawnDaemon(`${dir}/a`, {
      flags: ["--moniker", "a", "--rpc.unsafe"],
      prometheusPort: metricsPort,
    });
    let b: Daemon | undefined;
    try {
      b = await spawnDaemon(`${dir}/b`, { flags: ["--moniker", "b"] });
      assertEquals(await peerGauge(metricsPort), 0);
      const bId = (await cli("show-node-id", "--home", `${dir}/b`)).stdout.trim();
      const aId = (await cli("show-node-id", "--home", `${dir}/a`)).stdout.trim();
      const bStatus = JSON.parse(
        (await cli("status", "--json", "--node", `tcp://127.0.0.1:${b.rpcPort}`)).stdout,
      );
      const bAddr = `${bId}@${bStatus.node_info.listen_addr.replace("tcp://", "")}`;
      const dial = await cli("dial-peers", "--node", `tcp://127.0.0.1:${a.rpcPort}`, bAddr);
      assertEquals(dial.code, 0, dial.stderr);
      assertStringIncludes(dial.stdout, "Dialing peers in progress");
      const fromA = await waitFor("A to list B", async () => {
        const ni = await netInfoJson(a);
        return ni.peers.find((p) => p.node_info.id === bId);
      });
      assertEquals(fromA.is_outbound, true);
      assertEquals(fromA.node_info.moniker, "b");
      const bSide = b;
      const fromB = await waitFor("B to list A", async () => {
        const ni = await netInfoJson(bSide);
        return ni.peers.find((p) => p.node_info.id === aId);
      });
      assertEquals(fromB.is_outbound, false);
      assertEquals(fromB.remote_ip, "127.0.0.1");
      assertEquals(await peerGauge(metricsPort), 1);
      // Text output of net-info names the peer too.
      const human = await cli("net-info", "--node", `tcp://127.0.0.1:${a.rpcPort}`);
      assertStringIncludes(human.stdout, `${bId}  out`);
    } finally {
      assertEquals(await a.stop("SIGTERM"), 0, a.output);
      if (b) assertEquals(await b.stop("SIGTERM"), 0, b.output);
    }
    const book = JSON.parse(await Deno.readTextFile(`${dir}/a/config/addrbook.json`));
    const bId = (await cli("show-node-id", "--home", `${dir}/b`)).stdout.trim();
    assert(
      book.addrs.some((x: { addr: { id: string } }) => x.addr.id === bId),
      JSON.stringify(book),
    );
    assertStringIncludes(a.output, "Saving AddrBook to file");
  });
});

interopTest(
  "a cometbft node dialed through dial-peers shows up in net-info on both sides",
  async () => {
    const comet = await startCometbft({ moniker: "comet" });
    await withTmp(async (dir) => {
      const d = await spawnDaemon(`${dir}/home`, {
        flags: ["--rpc.unsafe", "--chain-id", comet.chainId, "--moniker", "ours"],
      });
      try {
        const dial = await cli(
          "dial-peers",
          "--node",
          `tcp://127.0.0.1:${d.rpcPort}`,
          comet.address,
        );
        assertEquals(dial.code, 0, dial.stderr);
        const peer = await waitFor("the cometbft node in our net-info", async () => {
          const ni = await netInfoJson(d);
          return ni.peers.find((p) => p.node_info.id === comet.id);
        });
        assertEquals(peer.node_info.moniker, "comet");
        const ourId = (await cli("show-node-id", "--home", `${dir}/home`)).stdout.trim();
        await waitFor("our node in cometbft's net_info", async () => {
          const ni = await comet.netInfo();
          return ni.peers.find((p) => p.node_info.id === ourId);
        });
        // Our RPC client reads cometbft's RPC too.
        const st = await cli("status", "--json", "--node", `tcp://127.0.0.1:${comet.rpcPort}`);
        assertEquals(st.code, 0, st.stderr);
        assertEquals(JSON.parse(st.stdout).node_info.id, comet.id);
      } finally {
        assertEquals(await d.stop("SIGTERM"), 0, d.output);
        await comet.stop();
      }
    });
  },
);

Deno.test("bad config files and bad flags: one-line messages naming the key, exit 2", async () => {
  await withTmp(async (dir) => {
    const home = `${dir}/home`;
    const badValue = await cli("node", "--home", home, "--p2p.max_num_inbound_peers", "lots");
    assertEquals(badValue.code, 2);
    assertStringIncludes(badValue.stderr, "p2p.max_num_inbound_peers");
    assertStringIncludes(badValue.stderr, "lots");
    // Nothing was written for a run that could not start.
    const made = await Deno.stat(home).then(() => true, () => false);
    assertEquals(made, false);

    const unknownArg = await cli("node", "--home", home, "--bogus");
    assertEquals(unknownArg.code, 2);
    assertStringIncludes(unknownArg.stderr, "unknown flag --bogus");
    assertEquals(unknownArg.stderr.trim().split("\n").length, 2, unknownArg.stderr);
    const typo = await cli("start", "--home", home, "--p2p.ladr", "tcp://127.0.0.1:0");
    assertEquals(typo.code, 2);
    assertStringIncludes(typo.stderr, "did you mean --p2p.laddr?");

    const missing = await cli("node", "--config", `${dir}/nope.toml`);
    assertEquals(missing.code, 2);
    assertStringIncludes(missing.stderr, `${dir}/nope.toml does not exist`);

    await Deno.writeTextFile(`${dir}/broken.toml`, "[p2p\nladdr = 1\n");
    const broken = await cli("node", "--home", home, "--config", `${dir}/broken.toml`);
    assertEquals(broken.code, 2);
    assertStringIncludes(broken.stderr, "broken.toml");

    await Deno.writeTextFile(`${dir}/badlevel.toml`, 'chain_id = "x"\nlog_level = "p2p:loud"\n');
    const level = await cli("node", "--home", home, "--config", `${dir}/badlevel.toml`);
    assertEquals(level.code, 2);
    assertStringIncludes(level.stderr, "log_level");
  });
});

Deno.test("start-up failures: port in use, unreadable key, unresolvable seed → one line, exit 1", async () => {
  await withTmp(async (dir) => {
    const home = `${dir}/home`;
    assertEquals((await cli("init", "--home", home)).code, 0);
    const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const busyPort = (busy.addr as Deno.NetAddr).port;
    try {
      const r = await cli(
        "node",
        "--home",
        home,
        "--p2p.laddr",
        `tcp://127.0.0.1:${busyPort}`,
        "--rpc.laddr",
        `tcp://127.0.0.1:${freePort()}`,
      );
      assertEquals(r.code, 1, r.stderr);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      assertStringIncludes(
        r.stderr,
        `p2p.laddr tcp://127.0.0.1:${busyPort}: address already in use`,
      );
      const rpcBusy = await cli(
        "node",
        "--home",
        home,
        "--p2p.laddr",
        `tcp://127.0.0.1:${freePort()}`,
        "--rpc.laddr",
        `tcp://127.0.0.1:${busyPort}`,
      );
      assertEquals(rpcBusy.code, 1, rpcBusy.stderr);
      assertStringIncludes(rpcBusy.stderr, "rpc.laddr");
      assertStringIncludes(rpcBusy.stderr, "address already in use");
    } finally {
      busy.close();
    }

    const seed = await cli(
      "node",
      "--home",
      home,
      "--p2p.laddr",
      `tcp://127.0.0.1:${freePort()}`,
      "--rpc.laddr",
      `tcp://127.0.0.1:${freePort()}`,
      "--p2p.seeds",
      "0000000000000000000000000000000000000001@nonexistent.invalid:26656",
    );
    assertEquals(seed.code, 1, seed.stderr);
    assertStringIncludes(seed.stderr, "couldn't resolve any seed nodes");
    assertStringIncludes(seed.stderr, "nonexistent.invalid");

    await Deno.writeTextFile(`${home}/config/node_key.json`, "{not json");
    const key = await cli("node", "--home", home);
    assertEquals(key.code, 1, key.stderr);
    assertEquals(key.stderr.trim().split("\n").length, 1, key.stderr);
    assertStringIncludes(key.stderr, `${home}/config/node_key.json`);
  });
});

Deno.test("a dead seed does not stop start-up; RPC clients exit 7 when the node is unreachable", async () => {
  await withTmp(async (dir) => {
    const dead = `0000000000000000000000000000000000000001@127.0.0.1:${freePort()}`;
    const d = await spawnDaemon(`${dir}/home`, { flags: ["--p2p.seeds", dead] });
    assertEquals(await d.stop("SIGINT"), 0, d.output);
    const r = await cli("net-info", "--node", `tcp://127.0.0.1:${freePort()}`);
    assertEquals(r.code, 7);
    assertStringIncludes(r.stderr, "cannot reach the node's RPC");
    const usage = await cli("dial-peers", "--node", "tcp://127.0.0.1:1");
    assertEquals(usage.code, 2);
  });
});
