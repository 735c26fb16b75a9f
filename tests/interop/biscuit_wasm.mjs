// biscuit-wasm (npm @biscuit-auth/biscuit-wasm) under node, for
// tests/interop/wasm.rs.
//
// Run as `node biscuit_wasm.mjs NODE_MODULES` with one JSON object on stdin
// {"token", "public_key", "block"}: parses the token with the root public key
// (`ed25519/<hex>`, as `tessera export --public-key` prints it), which
// verifies its signature, then appends `block` when given. The last line of
// stdout is one JSON object: {"verified": true, "authority": source,
// "token": base64 | null, "blocks": n} or {"verified": false, "error": text}.
//
// The package is built for bundlers (it imports its .wasm file as a module),
// so it is instantiated here by hand: the .wasm with each module it imports
// (the glue and its snippets) loaded from the package.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules] = process.argv.slice(2);
if (!modules) {
  console.error("usage: node biscuit_wasm.mjs NODE_MODULES < request.json");
  process.exit(2);
}
const dir = join(modules, "@biscuit-auth", "biscuit-wasm", "module");
const glue = await import(pathToFileURL(join(dir, "biscuit_bg.js")).href);
const wasm = await WebAssembly.compile(readFileSync(join(dir, "biscuit_bg.wasm")));
const imports = {};
for (const { module } of WebAssembly.Module.imports(wasm)) {
  imports[module] ??= await import(pathToFileURL(join(dir, module)).href);
}
const instance = await WebAssembly.instantiate(wasm, imports);
glue.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();

const args = JSON.parse(readFileSync(0, "utf8"));
const [algorithm, hex] = args.public_key.split("/");
if (algorithm !== "ed25519" || !hex) {
  throw new Error(`expected ed25519/<hex>, got ${args.public_key}`);
}
let answer;
try {
  const root = glue.PublicKey.fromString(hex, glue.SignatureAlgorithm.Ed25519);
  let token = glue.Biscuit.fromBase64(args.token, root);
  const authority = token.getBlockSource(0);
  let text = null;
  if (args.block) {
    const block = new glue.BlockBuilder();
    block.addCode(args.block);
    token = token.appendBlock(block);
    text = token.toBase64();
  }
  answer = { verified: true, authority, token: text, blocks: token.countBlocks() };
} catch (e) {
  answer = { verified: false, error: String(e?.message ?? e) };
}
console.log(JSON.stringify(answer));
