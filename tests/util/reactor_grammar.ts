/**
 * Test helper for the reactor contract: {@link recordReactor} wraps any reactor and records
 * every call the switch makes on it; {@link checkReactorGrammar} checks a recorded sequence
 * against the grammar of CometBFT's `spec/p2p/reactor-api/reactor.md`:
 *
 * ```
 * start           = registration on-start *peer-management on-stop
 * registration    = get-channels set-switch        (either order; getChannels may repeat)
 * peer-management = init-peer [*receive] [add-peer *receive] remove-peer
 * ```
 *
 * Peer managements of different peer connections interleave freely. A peer connection is one
 * `Peer` object (a reconnect is a new one). Extra rules: never a `receive` on a channel the
 * reactor did not return from `getChannels`, never anything for a peer after its
 * `removePeer`, nothing at all after `stop`.
 * @module
 */
import type { InboundEnvelope, Reactor, StreamDescriptor } from "../../p2p/reactor.ts";
import type { Peer } from "../../p2p/peer.ts";
import type { StopReason } from "../../p2p/stop_reason.ts";
import type { Switch } from "../../p2p/switch.ts";

/** One recorded call. `peer` identifies a peer connection: `<id>#<n>`. */
export type ReactorEvent =
  | { readonly call: "getChannels"; readonly channels: readonly number[] }
  | { readonly call: "setSwitch" }
  | { readonly call: "start" }
  | { readonly call: "stop" }
  | { readonly call: "initPeer"; readonly peer: string }
  | { readonly call: "addPeer"; readonly peer: string }
  | { readonly call: "removePeer"; readonly peer: string; readonly reason?: StopReason }
  | { readonly call: "receive"; readonly peer: string; readonly channelId: number };

/** One broken rule, with the index of the offending event (or the length for end-of-trace). */
export interface GrammarViolation {
  readonly index: number;
  readonly message: string;
}

type PeerPhase = "initialized" | "added" | "removed";

/**
 * Checks `events` against the reactor grammar. With `final` (the default), the trace must be
 * complete: ended by `stop`, with every initialised peer removed before it.
 */
export function checkReactorGrammar(
  events: readonly ReactorEvent[],
  opts: { final?: boolean } = {},
): GrammarViolation[] {
  const final = opts.final ?? true;
  const out: GrammarViolation[] = [];
  const bad = (index: number, message: string) => out.push({ index, message });
  let gotChannels = false;
  let setSwitch = false;
  let started = false;
  let stopped = false;
  const owned = new Set<number>();
  const peers = new Map<string, PeerPhase>();

  events.forEach((ev, i) => {
    if (stopped) bad(i, `${ev.call} after stop`);
    switch (ev.call) {
      case "getChannels":
        gotChannels = true;
        for (const c of ev.channels) owned.add(c);
        return;
      case "setSwitch":
        if (setSwitch) bad(i, "setSwitch called twice");
        if (started) bad(i, "setSwitch after start");
        setSwitch = true;
        return;
      case "start":
        if (started) bad(i, "start called twice");
        if (!gotChannels || !setSwitch) {
          bad(i, "start before registration (getChannels, setSwitch)");
        }
        started = true;
        return;
      case "stop":
        if (!started) bad(i, "stop before start");
        if (stopped) return;
        stopped = true;
        for (const [peer, phase] of peers) {
          if (phase !== "removed") bad(i, `stop while peer ${peer} is ${phase} (no removePeer)`);
        }
        return;
      case "initPeer": {
        if (!started) bad(i, `initPeer(${ev.peer}) before start`);
        if (peers.has(ev.peer)) bad(i, `initPeer(${ev.peer}) twice for one peer connection`);
        peers.set(ev.peer, "initialized");
        return;
      }
      case "addPeer": {
        const phase = peers.get(ev.peer);
        if (phase === undefined) bad(i, `addPeer(${ev.peer}) without initPeer`);
        else if (phase === "added") bad(i, `addPeer(${ev.peer}) twice`);
        else if (phase === "removed") bad(i, `addPeer(${ev.peer}) after removePeer`);
        peers.set(ev.peer, phase === "removed" ? "removed" : "added");
        return;
      }
      case "removePeer": {
        const phase = peers.get(ev.peer);
        if (phase === undefined) bad(i, `removePeer(${ev.peer}) without initPeer`);
        else if (phase === "removed") bad(i, `removePeer(${ev.peer}) twice`);
        peers.set(ev.peer, "removed");
        return;
      }
      case "receive": {
        const phase = peers.get(ev.peer);
        if (phase === undefined) bad(i, `receive from ${ev.peer} without initPeer`);
        else if (phase === "removed") bad(i, `receive from ${ev.peer} after removePeer`);
        if (!owned.has(ev.channelId)) {
          bad(i, `receive on channel 0x${ev.channelId.toString(16)} the reactor does not own`);
        }
        return;
      }
    }
  });
  if (final && !stopped) {
    bad(events.length, started ? "trace ends without stop" : "trace ends without start/stop");
  }
  return out;
}

/** Distinct keys per peer connection object, shared by all recorders of a test. */
const peerKeys = new WeakMap<Peer, string>();
let peerSeq = 0;

/** The grammar's identity for a peer connection: `<id>#<n>`, one per `Peer` object. */
export function peerKey(peer: Peer): string {
  let k = peerKeys.get(peer);
  if (k === undefined) {
    k = `${peer.id}#${++peerSeq}`;
    peerKeys.set(peer, k);
  }
  return k;
}

/** A reactor wrapper that records calls; `events` is the trace, `violations()` checks it. */
export interface RecordedReactor<R extends Reactor> extends Reactor {
  readonly inner: R;
  readonly events: ReactorEvent[];
  /** Grammar violations so far (`final` requires the trace to be complete). */
  violations(opts?: { final?: boolean }): GrammarViolation[];
}

/** Wraps `inner` so every call is recorded (before it is forwarded) and then forwarded. */
export function recordReactor<R extends Reactor>(inner: R): RecordedReactor<R> {
  const events: ReactorEvent[] = [];
  return {
    inner,
    events,
    violations: (opts) => checkReactorGrammar(events, opts),
    getChannels(): readonly StreamDescriptor[] {
      const chs = inner.getChannels();
      events.push({ call: "getChannels", channels: chs.map((c) => c.id) });
      return chs;
    },
    setSwitch(sw: Switch): void {
      events.push({ call: "setSwitch" });
      inner.setSwitch(sw);
    },
    start(): Promise<void> {
      events.push({ call: "start" });
      return inner.start();
    },
    stop(): Promise<void> {
      events.push({ call: "stop" });
      return inner.stop();
    },
    initPeer(peer: Peer): void {
      events.push({ call: "initPeer", peer: peerKey(peer) });
      inner.initPeer(peer);
    },
    addPeer(peer: Peer): void {
      events.push({ call: "addPeer", peer: peerKey(peer) });
      inner.addPeer(peer);
    },
    removePeer(peer: Peer, reason: StopReason): void {
      events.push({ call: "removePeer", peer: peerKey(peer), reason });
      inner.removePeer(peer, reason);
    },
    receive(envelope: InboundEnvelope): void {
      events.push({ call: "receive", peer: peerKey(envelope.src), channelId: envelope.channelId });
      inner.receive(envelope);
    },
  };
}
