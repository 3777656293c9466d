import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./util/assert.ts";
import { handshakeVectors, hex, toHex } from "./util/vectors.ts";
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  isValidId,
  KeyFileError,
  NodeKey,
  pubKeyToId,
  signingBackend,
  validateId,
} from "../p2p/key.ts";
import { InvalidParametersError } from "../p2p/errors.ts";

const vectors = await handshakeVectors();

for (const name of ["node_A", "node_B"]) {
  const v = vectors[name];
  Deno.test(`key: vector ${name} seed -> pubkey, id, file text`, () => {
    const k = NodeKey.fromSeed(hex(v.ed25519_seed));
    assertEquals(toHex(k.pubKey), v.ed25519_pubkey);
    assertEquals(k.id, v.node_id);
    assertEquals(pubKeyToId(k.pubKey), v.node_id);
    assertEquals(k.toFileText(), v.node_key_json);
    assertEquals(toHex(k.privKey), v.ed25519_seed + v.ed25519_pubkey);
  });
}

Deno.test("key: spec §1.1 example (seed 00..1f)", () => {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
  const k = NodeKey.fromSeed(seed);
  assertEquals(k.id, "56475aa75463474c0285df5dbf2bcab73da65135");
  assertEquals(
    k.toFileText(),
    `{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8DoQe/884Qvh1w3RjnS8CZZ+TWMJulDV8d3IZkElUxuA=="}}`,
  );
});

Deno.test("key: native and noble signatures are identical and verify", async () => {
  const k = NodeKey.fromSeed(hex(vectors.node_A.ed25519_seed));
  for (const msg of [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(1000).fill(7)]) {
    const a = await k.sign(msg);
    const b = k.signNoble(msg);
    assertEquals(a.length, 64);
    assertEquals(toHex(a), toHex(b));
    assert(ed25519.verify(a, msg, k.pubKey));
  }
  // The native (node:crypto) signer ran, so the comparison above really compared two implementations.
  assertEquals(signingBackend(), "native");
  // The challenge signature from the handshake vector.
  const sig = await k.sign(hex(vectors.shared.challenge));
  assertEquals(toHex(sig), vectors.node_A.challenge_signature);
});

Deno.test("key: generate gives distinct valid keys", () => {
  const a = NodeKey.generate();
  const b = NodeKey.generate();
  assert(a.id !== b.id);
  assert(isValidId(a.id));
  assertEquals(toHex(ed25519.getPublicKey(a.privKey.subarray(0, 32))), toHex(a.pubKey));
});

Deno.test("key: fromSeed rejects wrong length", () => {
  assertThrows(() => NodeKey.fromSeed(new Uint8Array(31)), InvalidParametersError);
});

Deno.test("key: validateId / isValidId", () => {
  const good = "56475aa75463474c0285df5dbf2bcab73da65135";
  validateId(good);
  validateId(good.toUpperCase()); // Go's hex decoder accepts upper case
  const bad: [string, string][] = [
    ["", "no ID"],
    ["zz475aa75463474c0285df5dbf2bcab73da65135", "invalid byte"],
    [good.slice(1), "odd length"],
    [good.slice(2), "invalid hex length - got 19, expected 20"],
    [good + "00", "invalid hex length - got 21, expected 20"],
  ];
  for (const [id, msg] of bad) {
    const err = assertThrows(() => validateId(id), InvalidParametersError);
    assert(err.message.includes(msg), `${id}: ${err.message}`);
    assertEquals(isValidId(id), false);
  }
  assertEquals(isValidId(good), true);
});

Deno.test("key: save writes exact text, mode 0600, creates dirs; load round trips", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a/b/config/node_key.json`;
    const k = NodeKey.fromSeed(hex(vectors.node_B.ed25519_seed));
    await k.save(path);
    assertEquals(await Deno.readTextFile(path), vectors.node_B.node_key_json);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    const loaded = await NodeKey.load(path);
    assertEquals(loaded.id, k.id);
    assertEquals(toHex(loaded.privKey), toHex(k.privKey));
    // Overwrite is atomic and leaves no temp files behind.
    await NodeKey.generate().save(path);
    const names = [];
    for await (const e of Deno.readDir(`${dir}/a/b/config`)) names.push(e.name);
    assertEquals(names, ["node_key.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("key: loadOrGen generates once then loads the same key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config/node_key.json`;
    const a = await NodeKey.loadOrGen(path);
    const b = await NodeKey.loadOrGen(path);
    assertEquals(a.id, b.id);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("key: load errors are KeyFileError naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/node_key.json`;
    const seedB64 = btoa(String.fromCharCode(...new Uint8Array(64)));
    const k = NodeKey.fromSeed(hex(vectors.node_A.ed25519_seed));
    const mismatched = k.privKey.slice();
    mismatched[63] ^= 1;
    const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
    const cases: [string | null, string][] = [
      [null, "does not exist"],
      ["", "not valid JSON"],
      ["{not json", "not valid JSON"],
      ["null", `missing "priv_key"`],
      [`{"priv_key":"x"}`, `missing "priv_key"`],
      [`{"priv_key":{"type":"tendermint/PrivKeySecp256k1","value":"${seedB64}"}}`, "unsupported"],
      [`{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":5}}`, "base64 string"],
      [`{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"@@@@"}}`, "not valid standard"],
      [
        `{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"${
          b64(k.privKey.subarray(0, 32))
        }"}}`,
        "must be 64 bytes",
      ],
      [
        `{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"${b64(mismatched)}"}}`,
        "does not match",
      ],
    ];
    for (const [text, msg] of cases) {
      if (text === null) await Deno.remove(path).catch(() => {});
      else await Deno.writeTextFile(path, text);
      const err = await assertRejects(() => NodeKey.load(path), KeyFileError);
      assert(err instanceof InvalidParametersError);
      assert(err.message.includes(path), err.message);
      assert(err.message.includes(msg), `${JSON.stringify(text)}: ${err.message}`);
    }
    // A valid file with surrounding whitespace / pretty printing still loads.
    await Deno.writeTextFile(path, JSON.stringify(JSON.parse(k.toFileText()), null, 2) + "\n");
    assertEquals((await NodeKey.load(path)).id, k.id);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- interop with the real cometbft binary ----

async function findCometbft(): Promise<string | null> {
  const candidates = ["/root/go/bin/cometbft"];
  for (const d of (Deno.env.get("PATH") ?? "").split(":")) if (d) candidates.push(`${d}/cometbft`);
  for (const c of candidates) {
    try {
      const st = await Deno.stat(c);
      if (st.isFile) return c;
    } catch {
      // not here
    }
  }
  return null;
}

const cometbft = await findCometbft();
const ci = Deno.env.get("CI") === "true";
if (!cometbft && !ci) console.log("key_test: cometbft binary not found; skipping interop tests");

async function run(bin: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `${bin} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test({
  name: "key interop: cometbft init key loads with the same ID as show-node-id",
  ignore: !cometbft && !ci,
  async fn() {
    if (!cometbft) throw new Error("CI=true but cometbft binary not found");
    const home = await Deno.makeTempDir();
    try {
      await run(cometbft, ["init", "--home", home]);
      const goId = await run(cometbft, ["show-node-id", "--home", home]);
      const k = await NodeKey.load(`${home}/config/node_key.json`);
      assertEquals(k.id, goId);
      // And our serialisation of that key is byte-identical to Go's file.
      assertEquals(k.toFileText(), await Deno.readTextFile(`${home}/config/node_key.json`));
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "key interop: a key we save is accepted by cometbft show-node-id",
  ignore: !cometbft && !ci,
  async fn() {
    if (!cometbft) throw new Error("CI=true but cometbft binary not found");
    const home = await Deno.makeTempDir();
    try {
      const k = NodeKey.generate();
      await k.save(`${home}/config/node_key.json`);
      const goId = await run(cometbft, ["show-node-id", "--home", home]);
      assertEquals(goId, k.id);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test("key: a garbage file's bytes never reach the error message (one line, no secret)", () => {
  const garbage = 'x\n{"priv_key":SECRET-BYTES\x01\x02';
  const err = assertThrows(() => NodeKey.parse(garbage, "/h/config/node_key.json"), KeyFileError);
  assert(!err.message.includes("\n"), err.message);
  assert(!err.message.includes("SECRET"), err.message);
  assertStringIncludes(err.message, "/h/config/node_key.json");
  assertStringIncludes(err.message, "not valid JSON");
});
