/**
 * Config values are decoded as CometBFT decodes them (viper + mapstructure weak typing with
 * `StringToTimeDurationHook`): each case is written into a config.toml made by the real
 * `cometbft init` (v0.38), then `cometbft show-node-id` (which loads, decodes and validates the
 * config, and opens no socket) and switchyard's `loadConfig` must agree on accepting it, and
 * switchyard must read the value as Go does.
 */
import { assertEquals } from "./util/assert.ts";
import { interopTest, requireCometbft, setTomlKey } from "./interop/cometbft.ts";
import { ConfigError, loadConfig } from "../config/mod.ts";
import { withTempDir } from "./util/temp_dir.ts";

/** key, TOML value text, and what switchyard reads when accepted (undefined = rejected). */
const CASES: [string, string, unknown][] = [
  ["p2p.max_num_inbound_peers", '"40"', 40],
  ["p2p.max_num_inbound_peers", '"forty"', undefined],
  ["p2p.max_num_inbound_peers", '""', 0],
  ["p2p.max_num_inbound_peers", '"0x10"', 16],
  ["p2p.max_num_inbound_peers", "40.7", 40],
  ["p2p.max_num_inbound_peers", "true", 1],
  ["p2p.max_num_inbound_peers", "-1", undefined],
  ["p2p.send_rate", '"5120000"', 5120000],
  ["rpc.max_body_bytes", '"1e6"', undefined],
  // An integer duration is nanoseconds in Go: 100 is 100ns, not 100ms.
  ["p2p.flush_throttle_timeout", "100", 100 / 1e6],
  ["p2p.flush_throttle_timeout", '"100"', undefined],
  ["p2p.flush_throttle_timeout", "-5", undefined],
  ["p2p.flush_throttle_timeout", '"10ms"', 10],
  ["p2p.persistent_peers_max_dial_period", '"1x"', undefined],
  ["p2p.pex", '"yes"', undefined],
  ["p2p.pex", "1", true],
  ["p2p.pex", '"t"', true],
  ["p2p.pex", '"FALSE"', false],
  ["p2p.seeds", '["a", "b"]', undefined],
  ["moniker", "5", "5"],
];

const FIELD: Record<string, (c: Awaited<ReturnType<typeof loadConfig>>["config"]) => unknown> = {
  "p2p.max_num_inbound_peers": (c) => c.p2p.maxNumInboundPeers,
  "p2p.send_rate": (c) => c.p2p.sendRate,
  "rpc.max_body_bytes": (c) => c.rpc.maxBodyBytes,
  "p2p.flush_throttle_timeout": (c) => c.p2p.flushThrottleTimeoutMs,
  "p2p.persistent_peers_max_dial_period": (c) => c.p2p.persistentPeersMaxDialPeriodMs,
  "p2p.pex": (c) => c.p2p.pex,
  "p2p.seeds": (c) => c.p2p.seeds,
  moniker: (c) => c.moniker,
};

/** Writes `key = raw` (raw TOML text) into the config. */
function setRaw(text: string, key: string, raw: string): string {
  const marker = "__SWITCHYARD_RAW__";
  return setTomlKey(text, key, marker).replace(`"${marker}"`, raw);
}

async function cometbftAccepts(bin: string, home: string): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command(bin, {
    args: ["show-node-id", "--home", home],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(20_000),
  }).output();
  const dec = new TextDecoder();
  return { ok: r.code === 0, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

interopTest("config values: accepted and rejected as cometbft v0.38 decodes them", async () => {
  const bin = requireCometbft();
  await withTempDir(async (dir) => {
    const home = `${dir}/home`;
    const init = await new Deno.Command(bin, {
      args: ["init", "--home", home],
      stdout: "null",
      stderr: "null",
    }).output();
    assertEquals(init.code, 0);
    const configPath = `${home}/config/config.toml`;
    const original = await Deno.readTextFile(configPath);
    for (const [key, raw, want] of CASES) {
      const label = `${key} = ${raw}`;
      await Deno.writeTextFile(configPath, setRaw(original, key, raw));
      const go = await cometbftAccepts(bin, home);
      let ours: { ok: true; value: unknown } | { ok: false; message: string };
      try {
        const { config } = await loadConfig({ home, env: {} });
        ours = { ok: true, value: FIELD[key](config) };
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        ours = { ok: false, message: err.message };
      }
      assertEquals(
        ours.ok,
        go.ok,
        `${label}: cometbft ${go.ok ? "accepts" : "rejects"}: ${go.out}`,
      );
      assertEquals(ours.ok ? ours.value : undefined, want, label);
      if (!ours.ok) assertEquals(ours.message.includes(key), true, ours.message);
    }
  }, "sy_decode_");
});
