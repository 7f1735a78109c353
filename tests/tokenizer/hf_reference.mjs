// Reference encodings for the differential tokenizer tests, computed with @huggingface/tokenizers
// (tests/node_modules; run `npm ci` in tests/ first).
//   node hf_reference.mjs TOKENIZER_DIR CORPUS.json  ->  [{ids, decoded, decodedSkip, prefixes}, ...]
// `prefixes` decodes ids[0..k) for every k, so cut points inside multi-byte characters are compared
// too (they decode to U+FFFD).
//
// One deliberate addition to the library's output: when tokenizer_config.json sets add_bos_token /
// add_eos_token, transformers (LlamaTokenizerFast.update_post_processor and friends) rebuilds the
// post-processor from those flags, which tokenizers.js does not do; we apply the same rule here so
// the reference equals what Python users get (DeepSeek-V3 adds its BOS this way).
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "node:fs";
import path from "node:path";

const [dir, corpusPath] = process.argv.slice(2);
const tokenizerJson = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
const configPath = path.join(dir, "tokenizer_config.json");
const config = fs.existsSync(configPath) ? JSON.parse(fs.readFileSync(configPath, "utf8")) : {};
const tok = new Tokenizer(tokenizerJson, config);
const corpus = JSON.parse(fs.readFileSync(corpusPath, "utf8"));

const tokenContent = (t) => (t === null || t === undefined ? null : typeof t === "string" ? t : t.content ?? null);
const bosText = tokenContent(config.bos_token);
const eosText = tokenContent(config.eos_token);
const overrides = typeof config.add_bos_token === "boolean" || typeof config.add_eos_token === "boolean";

function encode(text) {
  if (!overrides) return tok.encode(text).ids;
  const ids = tok.encode(text, { add_special_tokens: false }).ids;
  const bos = bosText !== null ? tok.token_to_id(bosText) : undefined;
  const eos = eosText !== null ? tok.token_to_id(eosText) : undefined;
  if (config.add_bos_token === true && bos !== undefined) ids.unshift(bos);
  if (config.add_eos_token === true && eos !== undefined) ids.push(eos);
  return ids;
}

const decode = (ids, skip) => (ids.length === 0 ? "" : tok.decode(ids, { skip_special_tokens: skip }));

const out = corpus.map((text) => {
  const ids = encode(text);
  const prefixes = [];
  for (let k = 1; k < ids.length && k <= 64; ++k) prefixes.push(decode(ids.slice(0, k), false));
  return { ids, decoded: decode(ids, false), decodedSkip: decode(ids, true), prefixes };
});
process.stdout.write(JSON.stringify(out));
