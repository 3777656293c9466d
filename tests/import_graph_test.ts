/**
 * The import graph of `p2p/` (every `import`/`export … from` of a relative module, type-only
 * imports included: they bind the modules as tightly for a reader) has no cycle. The
 * reactor-facing contract lives in `p2p/reactor_api.ts`, which implementations import and which
 * imports none of them.
 */
import { assertEquals } from "./util/assert.ts";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const P2P = join(ROOT, "p2p");

/** Every `.ts` file under `dir`, recursively. */
function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...listTs(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** The relative `.ts` modules `file` imports or re-exports. */
function importsOf(file: string): string[] {
  const src = Deno.readTextFileSync(file);
  const out: string[] = [];
  const re =
    /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*"(\.{1,2}\/[^"]+)"|import\s*"(\.{1,2}\/[^"]+)"/g;
  for (const m of src.matchAll(re)) out.push(resolve(dirname(file), m[1] ?? m[2]));
  return out;
}

/** Every cycle found by a depth-first walk, as a list of paths relative to the repository. */
export function findCycles(files: readonly string[]): string[][] {
  const inScope = new Set(files);
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => inScope.has(t))]));
  const state = new Map<string, "active" | "done">();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (f: string) => {
    state.set(f, "active");
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      const s = state.get(t);
      if (s === "active") {
        cycles.push([...stack.slice(stack.indexOf(t)), t].map((p) => relative(ROOT, p)));
      } else if (s === undefined) visit(t);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of [...files].sort()) if (!state.has(f)) visit(f);
  return cycles;
}

Deno.test("import graph: p2p/ has no import cycle", () => {
  assertEquals(findCycles(listTs(P2P)), []);
});

Deno.test("import graph: the cycle finder finds a planted cycle", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(
      join(dir, "a.ts"),
      'import type { B } from "./b.ts";\nexport type A = B;\n',
    );
    Deno.writeTextFileSync(join(dir, "b.ts"), 'export { x } from "./c.ts";\nexport type B = 1;\n');
    Deno.writeTextFileSync(join(dir, "c.ts"), 'import "./a.ts";\nexport const x = 1;\n');
    const cycles = findCycles(listTs(dir));
    assertEquals(cycles.length, 1);
    assertEquals(cycles[0].length, 4);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("import graph: the reactor contract imports only types, and no implementation of it", () => {
  const api = join(P2P, "reactor_api.ts");
  const src = Deno.readTextFileSync(api);
  // Only `import type` (erased at run time): the contract loads no code at all.
  assertEquals([...src.matchAll(/^import (?!type )[^;]*;/gm)].map((m) => m[0]), []);
  // Nothing it reaches (even by type) is an implementation of the contract.
  const seen = new Set<string>();
  const walk = (f: string) => {
    for (const t of importsOf(f)) {
      if (!seen.has(t) && t.startsWith(P2P)) {
        seen.add(t);
        walk(t);
      }
    }
  };
  walk(api);
  const impl = /\/p2p\/(switch[a-z_]*|peer|peer_set|reactor|transport|conn\/mconnection)\.ts$/;
  assertEquals([...seen].filter((f) => impl.test(f)).map((f) => relative(ROOT, f)), []);
});
