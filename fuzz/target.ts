/**
 * What a fuzz target is: a decoder that takes outside bytes, the valid encodings its mutations
 * start from, and the errors it documents. Anything else it throws is a finding.
 * @module
 */
import type { InputKind } from "./mutate.ts";

/** One decoder under fuzz. */
export interface FuzzTarget {
  /** Short name: `--decoder NAME` and the fixture directory `tests/fixtures/fuzz/<name>/`. */
  readonly name: string;
  /** Which structure-aware mutations apply. */
  readonly kind: InputKind;
  /** Valid encodings (the seed corpus); at least one. */
  seeds(): Uint8Array[];
  /**
   * Feeds one input through the decoder (and the checks that run on its output where the node
   * runs them). Returns normally when accepted; throws when rejected.
   */
  run(input: Uint8Array): void | Promise<void>;
  /** Whether `err` is one of the decoder's documented, typed rejections. */
  typed(err: unknown): boolean;
}

/** `typed` for targets whose documented errors are these classes. */
export function typedBy(...classes: Array<abstract new (...args: never[]) => Error>) {
  return (err: unknown): boolean => classes.some((c) => err instanceof c);
}
