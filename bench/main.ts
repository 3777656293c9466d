/**
 * `deno task bench [name...]`: runs every benchmark in `bench/` (or the named ones) one after
 * another, each in its own process so one's memory and JIT state never colour another's, and
 * prints their result lines. Benchmarks never assert timings; they report.
 * @module
 */

const benchDir = new URL("./", import.meta.url);

async function listBenches(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(benchDir)) {
    if (e.isFile && e.name.endsWith(".ts") && e.name !== "main.ts") {
      names.push(e.name.slice(0, -3));
    }
  }
  return names.sort();
}

async function run(name: string): Promise<boolean> {
  const file = new URL(`${name}.ts`, benchDir).pathname;
  console.log(`\n=== bench/${name}.ts`);
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", file],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const status = await child.status;
  console.log(
    `=== bench/${name}.ts ${status.success ? "done" : `FAILED (exit ${status.code})`} in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`,
  );
  return status.success;
}

if (import.meta.main) {
  const all = await listBenches();
  const wanted = Deno.args.length > 0 ? Deno.args : all;
  const unknown = wanted.filter((n) => !all.includes(n));
  if (unknown.length > 0) {
    console.error(`error: unknown benchmark ${unknown.join(", ")} (have: ${all.join(", ")})`);
    Deno.exit(2);
  }
  let failed = 0;
  for (const name of wanted) if (!(await run(name))) failed++;
  Deno.exit(failed === 0 ? 0 : 1);
}
