/**
 * `examples/reactor-template/` is a separate Deno project that uses switchyard only through its
 * public exports (`mod.ts`, `testing.ts`), as a user's reactor would: its own test task must
 * pass, so the main test task (and CI) runs it.
 */
import { assertEquals } from "./util/assert.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const TEMPLATE = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "examples",
  "reactor-template",
);

Deno.test("reactor template: its own tests pass, importing switchyard only through mod.ts and testing.ts", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "test"],
    cwd: TEMPLATE,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, text);
  assertEquals(/(\d+) passed \| 0 failed/.exec(text)?.[1] !== undefined, true, text);
});

Deno.test("reactor template: imports nothing of switchyard but its two exports", async () => {
  for await (const e of Deno.readDir(TEMPLATE)) {
    if (!e.name.endsWith(".ts")) continue;
    const src = await Deno.readTextFile(join(TEMPLATE, e.name));
    const specs = [...src.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]);
    const bad = specs.filter((s) =>
      !s.startsWith("./") && s !== "switchyard" && s !== "switchyard/testing"
    );
    assertEquals(bad, [], e.name);
  }
  const cfg = JSON.parse(await Deno.readTextFile(join(TEMPLATE, "deno.json")));
  assertEquals(cfg.imports, {
    "switchyard": "../../mod.ts",
    "switchyard/testing": "../../testing.ts",
  });
});
