/**
 * Consensus-channel messages as the height watcher sees them: the consensus `Message` envelope of
 * the configured CometBFT line (spec §11.1; `tendermint.consensus.Message` for v0.34-v0.40,
 * `cometbft.consensus.v1.Message` for v1.0 and `auto`), conversion of protobufjs int64 values, and
 * the parts of Go's `MsgFromProto` + `ValidateBasic` + `ValidateHeight` that apply to the fields
 * we model.
 *
 * `NewRoundStep` is validated exactly as Go does. Of the other variants only the scalar
 * fields are modelled (nested chain types are opaque bytes in our `.proto`), so only their
 * scalar checks run — every one of them is a check Go also makes, so a message we reject is
 * one a Go node rejects too.
 * @module
 */
import type protobuf from "protobufjs";
import { protoType } from "../p2p/proto.ts";
import { lineMessageName, type LineProfile, lineProfile } from "../p2p/cometbft_line.ts";
import { isValidRoundStep, type RoundStepUpdate } from "./peer_state.ts";

/** Consensus State channel id (Go `consensus.StateChannel`). */
const STATE_CHANNEL = 0x20;

/** The consensus envelope type of `line` (default: the default line's, v0.38). */
export function consensusMessageType(line: LineProfile = lineProfile()): protobuf.Type {
  return protoType(lineMessageName(line, STATE_CHANNEL));
}

/** A consensus message that fails Go's validation: the sender is stopped for error. */
export class InvalidConsensusMessageError extends Error {
  /** The oneof member (e.g. `new_round_step`). */
  readonly member: string;
  constructor(member: string, message: string) {
    super(`invalid ${member}: ${message}`);
    this.name = "InvalidConsensusMessageError";
    this.member = member;
  }
}

/** Converts a protobufjs int64 (number, Long, string or bigint) to bigint; absent → 0n. */
export function int64ToBigInt(v: unknown): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(Math.trunc(v));
  if (typeof v === "string") return BigInt(v);
  if (typeof v === "object" && "low" in v && "high" in v) {
    const l = v as { low: number; high: number; unsigned?: boolean };
    const u = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
    return l.unsigned ? u : BigInt.asIntN(64, u);
  }
  throw new TypeError(`not an int64: ${String(v)}`);
}

/** A bigint as protobufjs wants an int64 for encoding (number when exact, Long otherwise). */
export function bigIntToInt64(
  v: bigint,
): number | { low: number; high: number; unsigned: false } {
  if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) {
    return Number(v);
  }
  const u = BigInt.asUintN(64, v);
  // protobufjs accepts any {low, high} object where it accepts a Long.
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: false };
}

function num(v: unknown): number {
  return typeof v === "number" ? v : 0;
}

/**
 * Go's `MsgFromProto` + `NewRoundStepMessage.ValidateBasic` + `ValidateHeight(initialHeight)`
 * for a decoded `NewRoundStep`; throws {@link InvalidConsensusMessageError}.
 */
export function validateNewRoundStep(
  raw: Record<string, unknown>,
  initialHeight: bigint,
): RoundStepUpdate {
  const m: RoundStepUpdate = {
    height: int64ToBigInt(raw.height),
    round: num(raw.round),
    step: num(raw.step),
    secondsSinceStartTime: int64ToBigInt(raw.seconds_since_start_time),
    lastCommitRound: num(raw.last_commit_round),
  };
  const bad = (msg: string) => new InvalidConsensusMessageError("new_round_step", msg);
  // MsgFromProto: the step must fit a uint8.
  if (m.step > 255) throw bad("denying message due to possible overflow");
  if (m.height < 0n) throw bad("negative Height");
  if (m.round < 0) throw bad("negative Round");
  if (!isValidRoundStep(m.step)) throw bad("invalid Step");
  if (m.lastCommitRound < -1) throw bad("invalid LastCommitRound (cannot be < -1)");
  if (m.height < initialHeight) {
    throw bad(`invalid Height ${m.height} (lower than initial height ${initialHeight})`);
  }
  if (m.height === initialHeight && m.lastCommitRound !== -1) {
    throw bad(
      `invalid LastCommitRound ${m.lastCommitRound} (must be -1 for initial height ${initialHeight})`,
    );
  }
  if (m.height > initialHeight && m.lastCommitRound < 0) {
    throw bad(`LastCommitRound can only be negative for initial height ${initialHeight}`);
  }
  return m;
}

/** Go's `IsVoteTypeValid`: prevote (1) or precommit (2). */
function isVoteType(t: number): boolean {
  return t === 1 || t === 2;
}

/**
 * The scalar part of `ValidateBasic` for the variants the watcher ignores. Throws
 * {@link InvalidConsensusMessageError}. Opaque sub-messages (proposal, vote, part, bit arrays,
 * block IDs) are not checked: we never use them.
 */
export function validateOtherScalars(member: string, raw: Record<string, unknown>): void {
  const bad = (msg: string) => new InvalidConsensusMessageError(member, msg);
  const height = int64ToBigInt(raw.height);
  const round = num(raw.round);
  switch (member) {
    case "new_valid_block":
    case "block_part":
      if (height < 0n) throw bad("negative Height");
      if (round < 0) throw bad("negative Round");
      return;
    case "proposal_pol":
      if (height < 0n) throw bad("negative Height");
      if (num(raw.proposal_pol_round) < 0) throw bad("negative ProposalPOLRound");
      return;
    case "has_vote":
      if (height < 0n) throw bad("negative Height");
      if (round < 0) throw bad("negative Round");
      if (!isVoteType(num(raw.type))) throw bad("invalid Type");
      if (num(raw.index) < 0) throw bad("negative Index");
      return;
    case "has_proposal_block_part":
      // v1.0 HasProposalBlockPartMessage.ValidateBasic.
      if (height < 1n) throw bad("invalid Height (< 1)");
      if (round < 0) throw bad("negative Round");
      if (num(raw.index) < 0) throw bad("negative Index");
      return;
    case "vote_set_maj23":
    case "vote_set_bits":
      if (height < 0n) throw bad("negative Height");
      if (round < 0) throw bad("negative Round");
      if (!isVoteType(num(raw.type))) throw bad("invalid Type");
      return;
    default:
      // proposal, vote: only opaque bytes, nothing to check.
      return;
  }
}

/** Builds our announcement: `NewRoundStep{height, round 0, step NewHeight}`. */
export function newRoundStepMessage(
  height: bigint,
  initialHeight: bigint,
): Record<string, unknown> {
  return {
    new_round_step: {
      height: bigIntToInt64(height),
      round: 0,
      step: 1,
      seconds_since_start_time: 0,
      // Go requires −1 exactly at the initial height and ≥ 0 above it.
      last_commit_round: height === initialHeight ? -1 : 0,
    },
  };
}
