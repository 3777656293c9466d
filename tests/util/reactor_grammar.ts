/**
 * The reactor grammar checker, for the repository's own tests: the public one of
 * `testing/reactor_grammar.ts` (exported by `testing.ts`), re-exported under the path the tests
 * have always used.
 * @module
 */
export * from "../../testing/reactor_grammar.ts";
