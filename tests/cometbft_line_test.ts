/**
 * The `cometbft_line` setting: what each line advertises and which message table each built-in
 * channel gets, the config key (file, flag, env, validation), and the consensus watcher's
 * tolerance of a oneof member unknown to its line (ignored and counted; malformed and empty
 * messages still stop the peer).
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import {
  COMETBFT_LINE_SETTINGS,
  DEFAULT_COMETBFT_LINE,
  lineMessageName,
  lineProfile,
} from "../p2p/cometbft_line.ts";
import { ConfigError, loadConfig, parseConfigArgs } from "../config/mod.ts";
import { buildNodeInfo } from "../node/node.ts";
import { ChannelCodec, MessageCodecError } from "../p2p/reactor.ts";
import { encode } from "../p2p/proto.ts";
import { ConsensusWatcher } from "../reactors/consensus_watcher.ts";
import { consensusMessageType } from "../reactors/consensus_msgs.ts";
import { TxRelay } from "../reactors/tx_relay.ts";

async function configWith(
  extra: { text?: string; flags?: Record<string, string>; env?: Record<string, string> },
) {
  let out: Awaited<ReturnType<typeof loadConfig>> | undefined;
  await withTempDir(async (dir) => {
    const path = `${dir}/config.toml`;
    await Deno.writeTextFile(path, extra.text ?? "");
    out = await loadConfig({ home: dir, configPath: path, flags: extra.flags, env: extra.env });
  }, "sy_line_");
  return out!.config;
}

Deno.test("cometbft line: advertised versions and message tables per line", () => {
  const expect: Record<string, [number, string, string]> = {
    "v0.34": [8, "0.34.35", "tendermint.consensus.Message"],
    "v0.37": [8, "0.37.18", "tendermint.consensus.Message"],
    "v0.38": [8, "0.38.25", "tendermint.consensus.Message"],
    "v0.39": [8, "0.39.4", "tendermint.consensus.Message"],
    "v0.40": [8, "0.40.0", "tendermint.consensus.Message"],
    "v1.0": [9, "1.0.1", "cometbft.consensus.v1.Message"],
    auto: [8, "0.38.25", "cometbft.consensus.v1.Message"],
  };
  assertEquals([...COMETBFT_LINE_SETTINGS], Object.keys(expect));
  for (const [setting, [p2p, version, consensus]] of Object.entries(expect)) {
    const p = lineProfile(setting as typeof COMETBFT_LINE_SETTINGS[number]);
    assertEquals([p.p2pProtocol, p.blockProtocol, p.version], [p2p, 11, version], setting);
    assertEquals(lineMessageName(p, 0x20), consensus);
    assertEquals(lineMessageName(p, 0x30), "tendermint.mempool.Message");
    assertEquals(lineMessageName(p, 0x00), "tendermint.p2p.Message");
  }
  assertEquals(DEFAULT_COMETBFT_LINE, "v0.38");
  assertEquals(lineProfile(), lineProfile("v0.38"));
});

Deno.test("cometbft line: config key from file, flag and env; NodeInfo follows it", async () => {
  const def = await configWith({ text: 'chain_id = "c"\n' });
  assertEquals(def.cometbftLine, "v0.38");
  const ni0 = buildNodeInfo(def, "c", "a".repeat(40), [0x20]);
  assertEquals(ni0.protocolVersion, { p2p: 8, block: 11, app: 0 });
  assertEquals(ni0.version, "0.38.25");

  const file = await configWith({ text: 'cometbft_line = "v1.0"\n' });
  assertEquals(file.cometbftLine, "v1.0");
  const ni1 = buildNodeInfo(file, "c", "a".repeat(40), [0x20]);
  assertEquals(ni1.protocolVersion, { p2p: 9, block: 11, app: 0 });
  assertEquals(ni1.version, "1.0.1");
  // An explicit node.version still wins.
  const own = await configWith({ text: 'cometbft_line = "v0.34"\n[node]\nversion = "x"\n' });
  assertEquals(buildNodeInfo(own, "c", "a".repeat(40), []).version, "x");

  const args = parseConfigArgs(["--cometbft-line", "v0.37", "--cometbft_line=v0.39"]);
  assertEquals(args.flags, { cometbft_line: "v0.39" });
  assertEquals((await configWith({ flags: { cometbft_line: "auto" } })).cometbftLine, "auto");
  const env = await configWith({ env: { SWITCHYARD_COMETBFT_LINE: "v0.40" } });
  assertEquals(env.cometbftLine, "v0.40");
});

Deno.test("cometbft line: a bad value names the key, the origin and the allowed values", async () => {
  const e1 = await assertRejects(
    () => configWith({ text: 'cometbft_line = "v0.38.25"\n' }),
    ConfigError,
  );
  assertStringIncludes(e1.message, 'cometbft_line = "v0.38.25"');
  assertStringIncludes(e1.message, "allowed: v0.34, v0.37, v0.38, v0.39, v0.40, v1.0, auto");
  const e2 = await assertRejects(
    () => configWith({ flags: { cometbft_line: "1.0" } }),
    ConfigError,
  );
  assertStringIncludes(e2.message, "(from flag --cometbft-line)");
  const e3 = await assertRejects(
    () => configWith({ env: { SWITCHYARD_COMETBFT_LINE: "" } }),
    ConfigError,
  );
  assertStringIncludes(e3.message, "SWITCHYARD_COMETBFT_LINE");
});

Deno.test("cometbft line: each reactor's channel uses its line's message type", () => {
  for (const setting of COMETBFT_LINE_SETTINGS) {
    const line = lineProfile(setting);
    const w = new ConsensusWatcher({ line });
    assertEquals(w.getChannels()[0].messageType.fullName, `.${lineMessageName(line, 0x20)}`);
    assert(w.getChannels()[0].tolerateUnknownMember);
    const r = new TxRelay({ line });
    const mempool = r.getChannels()[0].messageType;
    assert(mempool.fullName.endsWith("mempool.Message"), mempool.fullName);
  }
});

/** A v1.0 `HasProposalBlockPart{height 5, round 0, index 2}` as a v1.0 node sends it. */
function hasProposalBlockPartBytes(): Uint8Array {
  return encode(consensusMessageType(lineProfile("v1.0")), {
    has_proposal_block_part: { height: 5, round: 0, index: 2 },
  });
}

Deno.test("cometbft line: v1.0's HasProposalBlockPart under each table", () => {
  const bytes = hasProposalBlockPartBytes();
  // Field 10, length-delimited: 0x52.
  assertEquals(bytes[0], 0x52);
  const v038 = new ChannelCodec(
    new ConsensusWatcher({ line: lineProfile("v0.38") }).getChannels()[0],
  );
  const d0 = v038.decode(bytes);
  assertEquals(d0.member, undefined);
  for (const setting of ["v1.0", "auto"] as const) {
    const c = new ChannelCodec(
      new ConsensusWatcher({ line: lineProfile(setting) }).getChannels()[0],
    );
    assertEquals(c.decode(bytes).member, "has_proposal_block_part");
  }
  // Empty and malformed stay errors, tolerant or not.
  let err = 0;
  for (const bad of [new Uint8Array(0), Uint8Array.of(0x52, 0x05, 0x08)]) {
    try {
      v038.decode(bad);
    } catch (e) {
      assert(e instanceof MessageCodecError);
      err++;
    }
  }
  assertEquals(err, 2);
});
