/**
 * A mesh of real switches on the loopback interface for unit-testing a reactor: each node is a
 * {@link createSwitch} on 127.0.0.1 (any free port) whose reactors are wrapped in grammar
 * recorders; the nodes connect as asked (full mesh, a line, or not at all), and
 * {@link TestMesh.stop} stops them and asserts the reactor grammar by node ID on every node.
 * Everything runs the full stack (SecretConnection, MConnection, Switch), so what passes here
 * behaves the same against other nodes.
 * @module
 */
import { createSwitch, type LocalSwitch } from "../p2p/local_switch.ts";
import type { Peer, Reactor } from "../p2p/reactor_api.ts";
import type { LocalSwitchConfig } from "../p2p/local_switch.ts";
import type { Logger } from "../p2p/reactor_api.ts";
import { checkSwitchGrammar, type RecordedReactor, recordReactor } from "./reactor_grammar.ts";

/** Options of {@link createTestMesh}. */
export interface TestMeshOptions {
  /** Number of nodes (default 2). */
  readonly size?: number;
  /** The reactors of node `index`, as `[name, reactor]` pairs in registration order. */
  readonly reactors: (index: number) => Iterable<readonly [string, Reactor]>;
  /** How the nodes connect once started (default `"full"`: every pair, lower index dials). */
  readonly connect?: "full" | "line" | "none";
  /** Chain ID of every node (default `"switchyard-test"`). */
  readonly network?: string;
  /** Switch settings of every node (duplicate IPs are always allowed: all are 127.0.0.1). */
  readonly config?: LocalSwitchConfig;
  /** Logger of every node (default: silent). */
  readonly logger?: Logger;
}

/** One node of a {@link TestMesh}. */
export interface MeshNode extends LocalSwitch {
  /** Our node ID. */
  readonly id: string;
  /** The recorders wrapping this node's reactors, in registration order. */
  readonly recorders: readonly (RecordedReactor<Reactor> & { readonly name: string })[];
  /** The reactor registered under `name` (the object given, not its recorder). */
  reactor<R extends Reactor = Reactor>(name: string): R;
  /** Our connected peer for `other`, if connected. */
  peer(other: MeshNode): Peer | undefined;
}

/** Nodes connected over loopback. */
export interface TestMesh {
  /** The nodes, in creation order. */
  readonly nodes: readonly MeshNode[];
  /** `a` dials `b`; resolves once both list each other as peers. */
  connect(a: MeshNode, b: MeshNode): Promise<void>;
  /**
   * Stops every node, then throws if any reactor broke the reactor grammar (by node ID, see
   * `reactor_grammar.ts`). Idempotent.
   */
  stop(): Promise<void>;
  /** Makes `using mesh = await createTestMesh(...)` stop the mesh (grammar errors then throw). */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long (default 10 s): a broken test ends instead of hanging. */
  readonly timeoutMs?: number;
  /** How often `cond` is checked (default 10 ms). */
  readonly intervalMs?: number;
  /** Gives up early when aborted. */
  readonly signal?: AbortSignal;
}

/** Resolves once `cond()` is true; rejects naming `what` after the timeout. */
export async function waitFor(
  cond: () => boolean,
  what = "condition",
  opts: WaitForOptions = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (!cond()) {
    opts.signal?.throwIfAborted();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 10));
  }
}

/**
 * Builds and starts `size` nodes with the given reactors and connects them. Call
 * {@link TestMesh.stop} at the end of the test (or use `await using`).
 */
export async function createTestMesh(opts: TestMeshOptions): Promise<TestMesh> {
  const size = opts.size ?? 2;
  const nodes: MeshNode[] = [];
  try {
    for (let i = 0; i < size; i++) nodes.push(await meshNode(opts, i));
  } catch (e) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw e;
  }
  let stopping: Promise<void> | undefined;
  const mesh: TestMesh = {
    nodes,
    connect: (a, b) => connectPair(a, b),
    stop: () => stopping ??= stopMesh(nodes),
    [Symbol.asyncDispose]: () => mesh.stop(),
  };
  const pairs: [number, number][] = [];
  if (opts.connect === "line") { for (let i = 1; i < size; i++) pairs.push([i - 1, i]); }
  else if ((opts.connect ?? "full") === "full") {
    for (let i = 0; i < size; i++) for (let j = i + 1; j < size; j++) pairs.push([i, j]);
  }
  try {
    for (const [i, j] of pairs) await connectPair(nodes[i], nodes[j]);
  } catch (e) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw e;
  }
  return mesh;
}

/**
 * A two-node mesh, connected: `reactors(0)` on the first node, `reactors(1)` on the second.
 */
export function createTestPair(
  reactors: (index: number) => Iterable<readonly [string, Reactor]>,
  opts: Omit<TestMeshOptions, "size" | "reactors"> = {},
): Promise<TestMesh> {
  return createTestMesh({ ...opts, size: 2, reactors });
}

async function meshNode(opts: TestMeshOptions, index: number): Promise<MeshNode> {
  const given = new Map<string, Reactor>();
  const recorders: (RecordedReactor<Reactor> & { name: string })[] = [];
  for (const [name, reactor] of opts.reactors(index)) {
    given.set(name, reactor);
    recorders.push(Object.assign(recordReactor(reactor), { name }));
  }
  const local = await createSwitch({
    reactors: recorders.map((r) => [r.name, r] as const),
    network: opts.network ?? "switchyard-test",
    moniker: `mesh-${index}`,
    config: { ...opts.config, allowDuplicateIP: true },
    logger: opts.logger,
  });
  return {
    ...local,
    id: local.key.id,
    recorders,
    reactor<R extends Reactor = Reactor>(name: string): R {
      const r = given.get(name);
      if (r === undefined) throw new Error(`node ${index} has no reactor ${name}`);
      return r as R;
    },
    peer: (other) => local.sw.peers().get(other.key.id),
  };
}

async function connectPair(a: MeshNode, b: MeshNode): Promise<void> {
  if (b.addr === undefined) throw new Error("the node to dial does not listen");
  await a.sw.dialPeerWithAddress(b.addr);
  await waitFor(
    () => a.sw.peers().has(b.id) && b.sw.peers().has(a.id),
    `${a.id.slice(0, 8)} and ${b.id.slice(0, 8)} connected`,
  );
}

async function stopMesh(nodes: readonly MeshNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop()));
  const problems: string[] = [];
  nodes.forEach((n, i) => {
    for (const v of checkSwitchGrammar(n.recorders)) problems.push(`node ${i}: ${v}`);
  });
  if (problems.length > 0) {
    throw new Error(`reactor grammar violated:\n  ${problems.join("\n  ")}`);
  }
}
