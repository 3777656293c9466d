/**
 * CometBFT release lines switchyard speaks, and what each one changes on the wire (the
 * `cometbft_line` setting). A {@link LineProfile} is a plain value handed to the NodeInfo builder
 * and to each built-in reactor at construction, never a global, so two chains served by one
 * process may speak different lines.
 *
 * What differs between the lines, by field number (compared tag by tag in CometBFT's
 * `proto/` and `version/version.go`; see docs/cometbft_lines.md):
 * - `ProtocolVersion.p2p`: 8 for v0.34-v0.40, 9 for v1.0. `block` is 11 in every line (the only
 *   number peers compare). NodeInfo `version` is the release's version string.
 * - Consensus `Message` oneof (channels 0x20-0x23): v1.0 adds `HasProposalBlockPart = 10`
 *   (package `cometbft.consensus.v1`); fields 1-9 are identical in every line.
 * - SecretConnection, MConnection packets, NodeInfo, PEX and mempool `Txs`: identical in every
 *   line (v1.0 only renames the packages `tendermint.*` to `cometbft.*.v1`, which is not on the
 *   wire).
 * @module
 */

/** The lines, oldest first. */
export const COMETBFT_LINES = ["v0.34", "v0.37", "v0.38", "v0.39", "v0.40", "v1.0"] as const;
/** One CometBFT release line. */
export type CometbftLine = typeof COMETBFT_LINES[number];
/** Every value `cometbft_line` accepts. */
export const COMETBFT_LINE_SETTINGS = [...COMETBFT_LINES, "auto"] as const;
/**
 * A `cometbft_line` value. `auto` advertises {@link AUTO_ADVERTISED_LINE} and decodes the
 * consensus channel with the union of every line's messages (peers' NodeInfos arrive at the same
 * time as ours leaves, so what we advertise cannot follow them; what we accept can).
 */
export type CometbftLineSetting = typeof COMETBFT_LINE_SETTINGS[number];
/** The default line: today's behaviour (CometBFT v0.38's wire, byte for byte). */
export const DEFAULT_COMETBFT_LINE: CometbftLineSetting = "v0.38";
/** What `auto` advertises: the default line (p2p 8 is accepted by every line's peers). */
export const AUTO_ADVERTISED_LINE: CometbftLine = "v0.38";

/** PEX channel (identical in every line). */
const PEX = 0x00;
/** Consensus State channel. */
const CONSENSUS_STATE = 0x20;
/** Mempool channel. */
const MEMPOOL = 0x30;

/** The consensus envelope of the v0.34-v0.40 lines. */
const CONSENSUS_V0 = "tendermint.consensus.Message";
/** The consensus envelope of the v1.0 line; a superset of {@link CONSENSUS_V0}. */
const CONSENSUS_V1 = "cometbft.consensus.v1.Message";

/** What one line advertises and which message type each built-in channel uses. */
export interface LineProfile {
  /** The configured value (`auto` stays `auto`). */
  readonly setting: CometbftLineSetting;
  /** The line whose versions we advertise. */
  readonly line: CometbftLine;
  /** NodeInfo `protocol_version.p2p` (Go `version.P2PProtocol`). */
  readonly p2pProtocol: number;
  /** NodeInfo `protocol_version.block` (Go `version.BlockProtocol`). */
  readonly blockProtocol: number;
  /** Default NodeInfo `version`: the line's reference release (the one the interop tests run). */
  readonly version: string;
  /** Full protobuf type name of each built-in channel's envelope, by channel id. */
  readonly channelMessages: Readonly<Record<number, string>>;
}

interface LineFacts {
  p2p: number;
  version: string;
  consensus: string;
}

/** Per line: Go `version.P2PProtocol`, the reference release, the consensus envelope. */
const FACTS: Readonly<Record<CometbftLine, LineFacts>> = {
  "v0.34": { p2p: 8, version: "0.34.35", consensus: CONSENSUS_V0 },
  "v0.37": { p2p: 8, version: "0.37.18", consensus: CONSENSUS_V0 },
  "v0.38": { p2p: 8, version: "0.38.25", consensus: CONSENSUS_V0 },
  "v0.39": { p2p: 8, version: "0.39.4", consensus: CONSENSUS_V0 },
  "v0.40": { p2p: 8, version: "0.40.0", consensus: CONSENSUS_V0 },
  "v1.0": { p2p: 9, version: "1.0.1", consensus: CONSENSUS_V1 },
};

/** Go `version.BlockProtocol`: 11 in every line. */
const BLOCK_PROTOCOL_ALL_LINES = 11;

/** Whether `v` is a value `cometbft_line` accepts. */
export function isCometbftLineSetting(v: string): v is CometbftLineSetting {
  return (COMETBFT_LINE_SETTINGS as readonly string[]).includes(v);
}

const profiles = new Map<CometbftLineSetting, LineProfile>();

/** The (shared, frozen) profile of a `cometbft_line` value. */
export function lineProfile(setting: CometbftLineSetting = DEFAULT_COMETBFT_LINE): LineProfile {
  const cached = profiles.get(setting);
  if (cached) return cached;
  if (!isCometbftLineSetting(setting)) {
    throw new RangeError(
      `unknown CometBFT line "${setting}" (allowed: ${COMETBFT_LINE_SETTINGS.join(", ")})`,
    );
  }
  const line = setting === "auto" ? AUTO_ADVERTISED_LINE : setting;
  const facts = FACTS[line];
  const profile: LineProfile = Object.freeze({
    setting,
    line,
    p2pProtocol: facts.p2p,
    blockProtocol: BLOCK_PROTOCOL_ALL_LINES,
    version: facts.version,
    channelMessages: Object.freeze({
      [PEX]: "tendermint.p2p.Message",
      // auto: the union of every line's consensus messages, which is v1.0's.
      [CONSENSUS_STATE]: setting === "auto" ? CONSENSUS_V1 : facts.consensus,
      [MEMPOOL]: "tendermint.mempool.Message",
    }),
  });
  profiles.set(setting, profile);
  return profile;
}

/** The envelope type name `profile` uses on `channelId`; throws for a channel it does not list. */
export function lineMessageName(profile: LineProfile, channelId: number): string {
  const name = profile.channelMessages[channelId];
  if (name === undefined) {
    throw new RangeError(
      `CometBFT line ${profile.setting} has no message table for channel 0x${
        channelId.toString(16)
      }`,
    );
  }
  return name;
}
