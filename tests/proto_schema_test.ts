/**
 * The embedded wire schema (`p2p/proto_schema.ts`) matches the `.proto` files under `proto/`:
 * regenerated in memory, it equals the checked-in module (run `deno task proto` if not), and the
 * loaded Root knows every line's message types with CometBFT's field numbers.
 */
import { assert, assertEquals } from "./util/assert.ts";
import {
  buildSchema,
  listProtoFiles,
  renderSchemaModule,
  SCHEMA_MODULE,
} from "../proto/generate.ts";
import { PROTO_SCHEMA } from "../p2p/proto_schema.ts";
import { protoType } from "../p2p/proto.ts";

Deno.test("proto schema: the checked-in module equals one regenerated from proto/", async () => {
  const fresh = await buildSchema();
  assertEquals(
    PROTO_SCHEMA,
    fresh,
    "p2p/proto_schema.ts is stale: run `deno task proto` and commit the result",
  );
  // The text too (modulo deno fmt, which only reflows it): the generator is deterministic.
  const text = renderSchemaModule(fresh);
  assertEquals(renderSchemaModule(PROTO_SCHEMA), text);
  assert((await Deno.readTextFile(SCHEMA_MODULE)).startsWith(text.slice(0, 200)));
});

Deno.test("proto schema: every .proto file under proto/ contributes its package", async () => {
  const files = await listProtoFiles();
  assert(files.includes("tendermint/consensus/types.proto"));
  assert(files.includes("cometbft/consensus/v1/types.proto"));
  for (const f of files) {
    const text = await Deno.readTextFile(new URL(`../proto/${f}`, import.meta.url));
    const pkg = /^package ([\w.]+);/m.exec(text)?.[1];
    assert(pkg, `${f} has a package`);
    const first = /^message (\w+)/m.exec(text)?.[1];
    assert(first, `${f} declares a message`);
    assertEquals(protoType(`${pkg}.${first}`).fullName, `.${pkg}.${first}`);
  }
});

Deno.test("proto schema: consensus Message oneof field numbers per line", () => {
  const ids = (name: string) =>
    Object.fromEntries(protoType(name).oneofsArray[0].fieldsArray.map((f) => [f.name, f.id]));
  const base = {
    new_round_step: 1,
    new_valid_block: 2,
    proposal: 3,
    proposal_pol: 4,
    block_part: 5,
    vote: 6,
    has_vote: 7,
    vote_set_maj23: 8,
    vote_set_bits: 9,
  };
  assertEquals(ids("tendermint.consensus.Message"), base);
  assertEquals(ids("cometbft.consensus.v1.Message"), { ...base, has_proposal_block_part: 10 });
  const hp = protoType("cometbft.consensus.v1.HasProposalBlockPart");
  assertEquals(hp.fieldsArray.map((f) => [f.name, f.id, f.type]), [
    ["height", 1, "int64"],
    ["round", 2, "int32"],
    ["index", 3, "int32"],
  ]);
});
