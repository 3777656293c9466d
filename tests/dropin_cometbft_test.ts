/**
 * The proof of the drop-in: a home made by the real `cometbft init` (v0.38) runs switchyard as
 * an operator would run cometbft on it (`start`, cometbft's flag names, `CMTHOME`, `CMT_*`
 * variables, cometbft-only flags such as `--proxy_app`); one shell script of curl calls
 * (`tests/dropin_rpc.sh`: `-d` without headers, URI GETs, error cases) runs against it and against
 * a cometbft node of the same chain it is peered with, and every answer has the same JSON shape (keys in the same order, the same
 * types); a metrics scrape has CometBFT's p2p names and the `process_*` series. Both configs
 * carry values only weak decoding accepts (`max_num_inbound_peers = "40"`,
 * `flush_throttle_timeout = 100`), and both nodes start with them. All on loopback.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { childEnv, CLI_PERMS, ROOT } from "./util/daemon.ts";
import {
  freePort,
  interopTest,
  requireCometbft,
  setTomlKey,
  startCometbft,
} from "./interop/cometbft.ts";
import { RpcClient } from "../rpc/client.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { parsePrometheusText } from "./util/prom_text.ts";

/** Values written into both nodes' config.toml: both must start with them. */
const WEAK_VALUES = {
  "p2p.max_num_inbound_peers": "40",
  "p2p.flush_throttle_timeout": 100,
};

/** A JSON value's shape: types, object keys in order, arrays by their first element. */
export function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? [] : [shape(v[0])];
  if (v === null) return "null";
  if (typeof v === "object") {
    return Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, shape(x)]);
  }
  return typeof v;
}

/** Runs the curl script against `base`; label → body. */
async function curlSession(base: string): Promise<Map<string, string>> {
  const r = await new Deno.Command("bash", {
    args: [`${ROOT}tests/dropin_rpc.sh`, base],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  assertEquals(r.code, 0, out + new TextDecoder().decode(r.stderr));
  const m = new Map<string, string>();
  for (const line of out.split("\n").filter((l) => l !== "")) {
    const sp = line.indexOf(" ");
    m.set(line.slice(0, sp), line.slice(sp + 1).trim());
  }
  return m;
}

/** Shape of a body: of its JSON, or the text itself when it is not JSON (404 pages). */
function bodyShape(body: string): unknown {
  try {
    return shape(JSON.parse(body));
  } catch {
    return { text: body };
  }
}

async function scrape(port: number): Promise<ReturnType<typeof parsePrometheusText>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
    signal: AbortSignal.timeout(10_000),
  });
  return parsePrometheusText(await res.text());
}

interopTest(
  "drop-in: switchyard on a cometbft home answers cometbft's curl session alike",
  async () => {
    const bin = requireCometbft();
    await withTempDir(async (dir) => {
      const home = `${dir}/cmt-home`;
      const init = await new Deno.Command(bin, {
        args: ["init", "--home", home],
        stdout: "null",
        stderr: "null",
      }).output();
      assertEquals(init.code, 0);
      const genesis = JSON.parse(await Deno.readTextFile(`${home}/config/genesis.json`));
      let toml = await Deno.readTextFile(`${home}/config/config.toml`);
      for (const [k, v] of Object.entries(WEAK_VALUES)) toml = setTomlKey(toml, k, v);
      await Deno.writeTextFile(`${home}/config/config.toml`, toml);

      const metricsPort = freePort();
      const comet = await startCometbft({
        chainId: genesis.chain_id,
        rpcPort: freePort(),
        config: {
          "instrumentation.prometheus": true,
          // Weakly typed values cometbft accepts (a quoted integer, an integer duration in ns).
          ...WEAK_VALUES,
          "instrumentation.prometheus_listen_addr": `127.0.0.1:${metricsPort}`,
        },
      });
      const ourRpc = freePort();
      const ourMetrics = freePort();
      const ourP2p = freePort();
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          ...CLI_PERMS,
          "main.ts",
          "start",
          `--p2p.laddr=tcp://127.0.0.1:${ourP2p}`,
          "--p2p.external-address",
          `127.0.0.1:${ourP2p}`,
          "--rpc.laddr",
          `tcp://127.0.0.1:${ourRpc}`,
          "--proxy_app=kvstore",
          "--moniker",
          "dropin",
          "--p2p.persistent_peers",
          comet.address,
        ],
        cwd: ROOT,
        env: {
          ...childEnv(),
          CMTHOME: home,
          CMT_INSTRUMENTATION_PROMETHEUS: "true",
          CMT_INSTRUMENTATION_PROMETHEUS_LISTEN_ADDR: `127.0.0.1:${ourMetrics}`,
        },
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const output = Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
      ]);
      let stopped = false;
      let passed = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        child.kill("SIGTERM");
        return (await child.status).code;
      };
      try {
        const rpc = new RpcClient(`tcp://127.0.0.1:${ourRpc}`, { timeoutMs: 2_000 });
        let status: { node_info: { network: string; id: string } } | undefined;
        const deadline = Date.now() + 60_000;
        while (status === undefined && Date.now() < deadline) {
          status = await rpc.call<typeof status>("status").catch(() => undefined);
          if (status === undefined) await new Promise((r) => setTimeout(r, 200));
        }
        assert(status !== undefined, "switchyard did not answer /status");
        // The chain comes from cometbft's genesis.json, the identity from its node_key.json.
        assertEquals(status.node_info.network, genesis.chain_id);
        const idOut = await new Deno.Command(bin, {
          args: ["show-node-id", "--home", home],
          stdout: "piped",
        }).output();
        assertEquals(status.node_info.id, new TextDecoder().decode(idOut.stdout).trim());
        // Peered with the cometbft node (same chain), so both have p2p series and a peer to show.
        const peered = async () =>
          (await comet.netInfo()).n_peers === "1" &&
          (await rpc.call<{ n_peers: string }>("net_info")).n_peers === "1";
        const until = Date.now() + 30_000;
        while (!(await peered())) {
          assert(Date.now() < until, "the two nodes did not peer");
          await new Promise((r) => setTimeout(r, 200));
        }

        const ours = await curlSession(`http://127.0.0.1:${ourRpc}`);
        const theirs = await curlSession(`http://127.0.0.1:${comet.rpcPort}`);
        assertEquals([...ours.keys()], [...theirs.keys()]);
        for (const [label, body] of theirs) {
          assertEquals(
            bodyShape(ours.get(label)!),
            bodyShape(body),
            `${label}\nours:     ${ours.get(label)}\ncometbft: ${body}`,
          );
        }

        const ourScrape = await scrape(ourMetrics);
        const cometScrape = await scrape(metricsPort);
        const p2pNames = [...cometScrape.types.keys()].filter((n) => n.startsWith("cometbft_p2p_"));
        assert(p2pNames.length > 0, "cometbft exports p2p series");
        for (const n of p2pNames) {
          assertEquals(ourScrape.types.get(n), cometScrape.types.get(n), `${n} in our scrape`);
        }
        const ourProcess = [...ourScrape.types.keys()].filter((n) => n.startsWith("process_"));
        for (
          const n of [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_start_time_seconds",
          ]
        ) assert(ourProcess.includes(n), `${n} missing`);
        for (const n of ourProcess) {
          assertEquals(
            ourScrape.types.get(n),
            cometScrape.types.get(n),
            `${n}: type as cometbft's`,
          );
        }
        for (const s of ourScrape.samples.filter((s) => s.name.startsWith("cometbft_p2p_"))) {
          assertEquals(s.labels.chain_id, genesis.chain_id, s.name);
        }
        assertEquals(await stop(), 0);
        passed = true;
      } finally {
        await stop();
        const [out, err] = await output;
        if (!passed) {
          console.error(`switchyard output:\n${out}${err}\ncometbft:\n${comet.logText()}`);
        }
        await comet.stop();
      }
      const [out] = await output;
      assert(out.includes("--proxy_app"), "the ignored cometbft flag is warned about");
      // cometbft's keys switchyard has no use for: one line listing them, not one line each.
      const ignored = out.split("\n").filter((l) => l.includes("does not use, ignored"));
      assertEquals(ignored.length, 1, out);
      assert(ignored[0].includes("proxy_app") && ignored[0].includes("[mempool]"), ignored[0]);
    }, "sy_dropin_");
  },
);
