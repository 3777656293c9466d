/**
 * The reactor grammar as a checkable assertion. {@link recordReactor} wraps any reactor and
 * records every call the switch makes on it (and when each returned promise settled);
 * {@link checkReactorGrammar} checks one reactor's trace and {@link checkSwitchGrammar} the
 * traces of all reactors of one switch together, against the grammar of CometBFT's
 * `spec/p2p/reactor-api/reactor.md`:
 *
 * ```
 * start           = registration on-start *peer-management on-stop
 * registration    = get-channels set-switch        (either order; getChannels may repeat)
 * peer-management = init-peer [*receive] [add-peer *receive] remove-peer
 * ```
 *
 * A peer connection is one `Peer` object, named `<node id>#<n>` (a reconnect is a new one).
 * Checked beyond the grammar, by node ID: at most one peer management per node ID at any time
 * (a second connection to a node starts only after the first one's `removePeer`); no peer
 * callback before `start` resolved nor after `stop`; a reactor whose `start` failed gets no
 * peer callback and no `stop`; `receive` only on the reactor's own channels, never while the
 * same peer's previous `receive` promise is pending, and never after `removePeer`; `addPeer`
 * never while `initPeer` is pending; `removePeer` never while any callback of that peer is
 * pending; no promise settles after `stop`. Across the reactors of one switch: `start`s in
 * registration order, each after the previous one resolved; each peer's `initPeer`, `addPeer`
 * and `removePeer` calls in registration order, every `initPeer` before the first `addPeer`.
 * @module
 */
import type {
  InboundEnvelope,
  Peer,
  Reactor,
  ReactorSwitch,
  StopReason,
  StreamDescriptor,
} from "../p2p/reactor_api.ts";

/** The peer callbacks whose returned promise is tracked. */
export type PeerCallback = "initPeer" | "addPeer" | "removePeer" | "receive";

/**
 * One recorded call. `peer` names a peer connection: `<id>#<n>`. `seq` orders the events of
 * all recorders; `async` marks a peer callback that returned a promise (a `settled` event for
 * it follows once it settles).
 */
export type ReactorEvent =
  & { readonly seq?: number; readonly async?: boolean }
  & (
    | { readonly call: "getChannels"; readonly channels: readonly number[] }
    | { readonly call: "setSwitch" }
    | { readonly call: "start" }
    /** `start`'s promise settled (`ok` false: it rejected). */
    | { readonly call: "started"; readonly ok: boolean }
    | { readonly call: "stop" }
    | { readonly call: "initPeer"; readonly peer: string }
    | { readonly call: "addPeer"; readonly peer: string }
    | { readonly call: "removePeer"; readonly peer: string; readonly reason?: StopReason }
    | { readonly call: "receive"; readonly peer: string; readonly channelId: number }
    /** The promise a peer callback returned settled (only recorded for callbacks that return one). */
    | { readonly call: "settled"; readonly of: PeerCallback; readonly peer: string }
  );

/** One broken rule, with the index of the offending event (or the length for end-of-trace). */
export interface GrammarViolation {
  /** Index of the offending event (the trace length for an incomplete trace). */
  readonly index: number;
  /** What is wrong. */
  readonly message: string;
}

type PeerPhase = "initialized" | "added" | "removed";

/** The node ID of a peer connection name `<id>#<n>`. */
export function nodeIdOf(peer: string): string {
  const i = peer.lastIndexOf("#");
  return i < 0 ? peer : peer.slice(0, i);
}

/**
 * Checks one reactor's `events`. With `final` (the default) the trace must be complete: a
 * started reactor ended by `stop` with every initialised peer removed (or by a failed start).
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
  /** undefined: start not settled (or not recorded: traces without `started` events). */
  let startOk: boolean | undefined;
  // Traces recorded by recordReactor say when start settled; hand-written ones may not.
  const sawStartedEvents = events.some((e) => e.call === "started");
  let stopped = false;
  const owned = new Set<number>();
  const peers = new Map<string, PeerPhase>();
  /** Node ID → the peer connection whose management is open. */
  const openById = new Map<string, string>();
  /** Peer connection → its callbacks whose promise is pending. */
  const pending = new Map<string, Set<PeerCallback>>();
  const isPending = (peer: string, cb: PeerCallback) => pending.get(peer)?.has(cb) ?? false;
  const peerCallAllowed = (i: number, what: string) => {
    if (!started) bad(i, `${what} before start`);
    else if (startOk === false) bad(i, `${what} after a failed start`);
    else if (sawStartedEvents && startOk === undefined) bad(i, `${what} before start resolved`);
  };

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
      case "started":
        if (!started) bad(i, "start settled before it was called");
        startOk = ev.ok;
        return;
      case "stop":
        if (!started) bad(i, "stop before start");
        if (startOk === false) bad(i, "stop after a failed start");
        if (stopped) return;
        stopped = true;
        for (const [peer, phase] of peers) {
          if (phase !== "removed") bad(i, `stop while peer ${peer} is ${phase} (no removePeer)`);
        }
        return;
      case "initPeer": {
        peerCallAllowed(i, `initPeer(${ev.peer})`);
        if (peers.has(ev.peer)) bad(i, `initPeer(${ev.peer}) twice for one peer connection`);
        const id = nodeIdOf(ev.peer);
        const open = openById.get(id);
        if (open !== undefined && open !== ev.peer) {
          bad(i, `initPeer(${ev.peer}) while ${open} of the same node is not removed`);
        }
        openById.set(id, ev.peer);
        peers.set(ev.peer, "initialized");
        break;
      }
      case "addPeer": {
        const phase = peers.get(ev.peer);
        if (phase === undefined) bad(i, `addPeer(${ev.peer}) without initPeer`);
        else if (phase === "added") bad(i, `addPeer(${ev.peer}) twice`);
        else if (phase === "removed") bad(i, `addPeer(${ev.peer}) after removePeer`);
        if (isPending(ev.peer, "initPeer")) bad(i, `addPeer(${ev.peer}) while initPeer pending`);
        peers.set(ev.peer, phase === "removed" ? "removed" : "added");
        break;
      }
      case "removePeer": {
        const phase = peers.get(ev.peer);
        if (phase === undefined) bad(i, `removePeer(${ev.peer}) without initPeer`);
        else if (phase === "removed") bad(i, `removePeer(${ev.peer}) twice`);
        for (const cb of ["initPeer", "addPeer", "receive"] as const) {
          if (isPending(ev.peer, cb)) bad(i, `removePeer(${ev.peer}) while ${cb} pending`);
        }
        peers.set(ev.peer, "removed");
        const id = nodeIdOf(ev.peer);
        if (openById.get(id) === ev.peer) openById.delete(id);
        break;
      }
      case "receive": {
        const phase = peers.get(ev.peer);
        if (phase === undefined) bad(i, `receive from ${ev.peer} without initPeer`);
        else if (phase === "removed") bad(i, `receive from ${ev.peer} after removePeer`);
        if (!owned.has(ev.channelId)) {
          bad(i, `receive on channel 0x${ev.channelId.toString(16)} the reactor does not own`);
        }
        if (isPending(ev.peer, "receive")) {
          bad(i, `receive from ${ev.peer} while its previous receive is pending`);
        }
        break;
      }
      case "settled":
        pending.get(ev.peer)?.delete(ev.of);
        return;
    }
    // A peer callback that returned a promise is pending until its `settled` event.
    if (ev.async) {
      let set = pending.get(ev.peer);
      if (set === undefined) pending.set(ev.peer, set = new Set());
      set.add(ev.call as PeerCallback);
    }
  });
  // A reactor never started (its switch was not, or an earlier reactor's start failed) is done.
  if (final && started && !stopped && startOk !== false) {
    bad(events.length, "trace ends without stop");
  }
  return out;
}

/** A recorded reactor with its registration name, for {@link checkSwitchGrammar}. */
export interface NamedTrace {
  /** The reactor's registration name. */
  readonly name: string;
  /** Its recorded calls. */
  readonly events: readonly ReactorEvent[];
}

/**
 * Checks the traces of every reactor of one switch, given in registration order: each
 * reactor's own grammar ({@link checkReactorGrammar}, messages prefixed with its name) and the
 * order across reactors (events need the `seq` that {@link recordReactor} sets).
 */
export function checkSwitchGrammar(
  traces: readonly NamedTrace[],
  opts: { final?: boolean } = {},
): string[] {
  const out: string[] = [];
  for (const t of traces) {
    for (const v of checkReactorGrammar(t.events, opts)) out.push(`${t.name}: ${v.message}`);
  }
  type Step = { seq: number; reactor: number; ev: ReactorEvent };
  const all: Step[] = [];
  traces.forEach((t, reactor) => {
    for (const ev of t.events) if (ev.seq !== undefined) all.push({ seq: ev.seq, reactor, ev });
  });
  all.sort((a, b) => a.seq - b.seq);
  let nextStart = 0;
  let startsDone = 0;
  const last = new Map<string, { call: string; reactor: number }>();
  for (const { reactor, ev } of all) {
    const name = traces[reactor].name;
    if (ev.call === "start") {
      if (reactor !== nextStart) out.push(`start of ${name} out of registration order`);
      if (startsDone < reactor) out.push(`start of ${name} before the previous start resolved`);
      nextStart = reactor + 1;
    } else if (ev.call === "started" && ev.ok) startsDone = reactor + 1;
    if (ev.call !== "initPeer" && ev.call !== "addPeer" && ev.call !== "removePeer") continue;
    if (startsDone < traces.length) {
      out.push(`${ev.call}(${ev.peer}) on ${name} before every reactor started`);
    }
    const prev = last.get(ev.peer);
    if (prev !== undefined) {
      const rank = { initPeer: 0, addPeer: 1, removePeer: 2 } as Record<string, number>;
      const sameCall = prev.call === ev.call;
      if (rank[ev.call] < rank[prev.call]) {
        out.push(
          `${ev.call}(${ev.peer}) on ${name} after ${prev.call} on ${traces[prev.reactor].name}`,
        );
      } else if (sameCall && reactor <= prev.reactor) {
        out.push(`${ev.call}(${ev.peer}) on ${name} out of registration order`);
      } else if (!sameCall && ev.call === "addPeer" && prev.reactor !== traces.length - 1) {
        out.push(`addPeer(${ev.peer}) on ${name} before every reactor's initPeer`);
      }
    }
    last.set(ev.peer, { call: ev.call, reactor });
  }
  return out;
}

/** Distinct keys per peer connection object, shared by all recorders. */
const peerKeys = new WeakMap<object, string>();
let peerSeq = 0;
/** Orders the events of all recorders (one process-wide counter). */
let eventSeq = 0;

/** The grammar's name for a peer connection: `<id>#<n>`, one per `Peer` object. */
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
  /** The wrapped reactor. */
  readonly inner: R;
  /** The calls so far, in order. */
  readonly events: ReactorEvent[];
  /** Grammar violations so far (`final` requires the trace to be complete). */
  violations(opts?: { final?: boolean }): GrammarViolation[];
}

/**
 * Wraps `inner` so every call is recorded (before it is forwarded) and forwarded; when a peer
 * callback returns a promise, a `settled` event is recorded once it settles (its rejection is
 * passed on unchanged).
 */
export function recordReactor<R extends Reactor>(inner: R): RecordedReactor<R> {
  const events: ReactorEvent[] = [];
  const push = (ev: ReactorEvent): { async?: boolean } => {
    const rec = { ...ev, seq: ++eventSeq };
    events.push(rec);
    return rec;
  };
  /** Forwards a peer callback, recording the call first and its settling if it is async. */
  const call = (
    of: PeerCallback,
    peer: Peer,
    extra: Record<string, unknown>,
    fwd: () => void | Promise<void>,
  ): void | Promise<void> => {
    const key = peerKey(peer);
    const rec = push({ call: of, peer: key, ...extra } as ReactorEvent);
    const r = fwd();
    if (!(r instanceof Promise)) return r;
    rec.async = true;
    return r.finally(() => push({ call: "settled", of, peer: key }));
  };
  return {
    inner,
    events,
    violations: (opts) => checkReactorGrammar(events, opts),
    getChannels(): readonly StreamDescriptor[] {
      const chs = inner.getChannels();
      push({ call: "getChannels", channels: chs.map((c) => c.id) });
      return chs;
    },
    setSwitch(sw: ReactorSwitch): void {
      push({ call: "setSwitch" });
      inner.setSwitch(sw);
    },
    async start(): Promise<void> {
      push({ call: "start" });
      try {
        await inner.start();
      } catch (e) {
        push({ call: "started", ok: false });
        throw e;
      }
      push({ call: "started", ok: true });
    },
    stop(): Promise<void> {
      push({ call: "stop" });
      return inner.stop();
    },
    initPeer(peer: Peer): void | Promise<void> {
      return call("initPeer", peer, {}, () => inner.initPeer(peer));
    },
    addPeer(peer: Peer): void | Promise<void> {
      return call("addPeer", peer, {}, () => inner.addPeer(peer));
    },
    removePeer(peer: Peer, reason: StopReason): void | Promise<void> {
      return call("removePeer", peer, { reason }, () => inner.removePeer(peer, reason));
    },
    receive(envelope: InboundEnvelope): void | Promise<void> {
      const extra = { channelId: envelope.channelId };
      return call("receive", envelope.src, extra, () => inner.receive(envelope));
    },
  };
}

/**
 * Throws an `Error` listing every violation of the reactors' traces (registration order),
 * checked together with {@link checkSwitchGrammar}. For tests: call after the switch stopped.
 */
export function assertReactorGrammar(
  recorders: readonly (NamedTrace | (RecordedReactor<Reactor> & { name?: string }))[],
  opts: { final?: boolean } = {},
): void {
  const traces = recorders.map((r, i) => ({
    name: "name" in r && typeof r.name === "string" ? r.name : `reactor#${i}`,
    events: r.events,
  }));
  const v = checkSwitchGrammar(traces, opts);
  if (v.length > 0) throw new Error(`reactor grammar violated:\n  ${v.join("\n  ")}`);
}
