/**
 * The fuzzer as a normal test: every saved regression input (`tests/fixtures/fuzz/<decoder>/`)
 * is replayed, then 10^4 fresh inputs per decoder are run (seed `SWITCHYARD_FUZZ_SEED`, default
 * 1, so a failure reproduces). Each must be accepted or rejected with the decoder's typed error.
 * The 1 s per-input limit and the heap check are left to `deno task fuzz` (no timed assertion
 * in tests; 10^4 inputs are too few for a heap trend).
 */
import { assert, assertEquals } from "./util/assert.ts";
import { describe, fixturesOf, fuzzTarget, runOne } from "../fuzz/runner.ts";
import { TARGETS } from "../fuzz/targets.ts";

const RUNS = Number(Deno.env.get("SWITCHYARD_FUZZ_RUNS") ?? 10_000);
const SEED = Number(Deno.env.get("SWITCHYARD_FUZZ_SEED") ?? 1);

for (const target of TARGETS) {
  Deno.test(`fuzz ${target.name}: saved regression inputs are accepted or rejected with a typed error`, async () => {
    const failures: string[] = [];
    for (const { file, bytes } of await fixturesOf(target.name)) {
      const out = await runOne(target, bytes);
      if (out.kind === "finding") failures.push(`${file}: ${describe(out.error)}`);
    }
    assertEquals(failures, []);
  });

  Deno.test(`fuzz ${target.name}: ${RUNS} mutated inputs, no untyped throw`, async () => {
    const r = await fuzzTarget(target, {
      runs: RUNS,
      seed: SEED,
      save: false,
      slowMs: Infinity,
      checkHeap: false,
    });
    assertEquals(r.runs, RUNS);
    assertEquals(r.findings.map((f) => `${f.kind}: ${f.message}`), []);
    // Some seed must pass, or the mutations start from nothing valid (a few seeds are invalid
    // on purpose: a bad signature, an address the book refuses).
    const kinds = await Promise.all(
      target.seeds().map(async (s) => (await runOne(target, s)).kind),
    );
    assert(kinds.includes("accepted"), `no seed of ${target.name} is accepted: ${kinds}`);
  });
}

Deno.test("fuzz harness: an untyped throw is a finding, a typed one a rejection, and runs reproduce", async () => {
  class Typed extends Error {}
  const seen: string[] = [];
  const target = {
    name: "harness_probe",
    kind: "proto" as const,
    seeds: () => [Uint8Array.of(0x08, 0x01)],
    run(input: Uint8Array) {
      seen.push(Array.from(input).join(","));
      if (input.length === 0) throw new TypeError("untyped on empty input");
      if (input[0] !== 0x08) throw new Typed("not field 1 varint");
    },
    typed: (e: unknown) => e instanceof Typed,
  };
  const a = await fuzzTarget(target, { runs: 2000, seed: 7, save: false, checkHeap: false });
  assertEquals(a.accepted + a.rejected + a.findingsTotal, 2000);
  assertEquals(a.findings.length > 0, true);
  assertEquals(a.findings[0].kind, "untyped-throw");
  assertEquals(a.findings[0].message, "TypeError: untyped on empty input");
  const first = seen.splice(0);
  const b = await fuzzTarget(target, { runs: 2000, seed: 7, save: false, checkHeap: false });
  assertEquals(seen, first);
  assertEquals([b.accepted, b.rejected, b.findingsTotal], [
    a.accepted,
    a.rejected,
    a.findingsTotal,
  ]);
});
