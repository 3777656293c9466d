/**
 * switchyard's test kit for reactor authors: a mesh (or pair) of real switches on the loopback
 * interface to run a reactor against, and the reactor grammar (CometBFT's
 * `spec/p2p/reactor-api/reactor.md`, checked by node ID) as a recorder and a public assertion.
 *
 * @example
 * ```ts
 * import { createTestPair, waitFor } from "switchyard/testing";
 * const mesh = await createTestPair(() => [["ping", new PingReactor()]]);
 * // … drive the reactors, wait for what they should do …
 * await mesh.stop(); // throws if a reactor saw an out-of-grammar call sequence
 * ```
 * @module
 */
export {
  createTestMesh,
  createTestPair,
  type MeshNode,
  type TestMesh,
  type TestMeshOptions,
  waitFor,
  type WaitForOptions,
} from "./testing/mesh.ts";
export {
  assertReactorGrammar,
  checkReactorGrammar,
  checkSwitchGrammar,
  type GrammarViolation,
  type NamedTrace,
  nodeIdOf,
  type PeerCallback,
  peerKey,
  type ReactorEvent,
  type RecordedReactor,
  recordReactor,
} from "./testing/reactor_grammar.ts";
