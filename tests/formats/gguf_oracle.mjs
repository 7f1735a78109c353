// Reads a GGUF file with the reference parser (@huggingface/gguf) and prints what it found as
// JSON, so the C++ tests can compare our writer's output with another tool's reading of it.
// Usage: node gguf_oracle.mjs FILE.gguf
import { gguf } from "@huggingface/gguf";
import path from "node:path";

const file = path.resolve(process.argv[2]);
const out = await gguf(file, { allowLocalFile: true, typedMetadata: true, computeParametersCount: true });
const big = (_k, v) => (typeof v === "bigint" ? v.toString() : v);
const metadata = {};
for (const [key, entry] of Object.entries(out.typedMetadata)) {
    if (key === "version" || key === "tensor_count" || key === "kv_count") continue;
    metadata[key] = { type: entry.type, subType: entry.subType, value: entry.value };
}
const result = {
    version: Number(out.typedMetadata.version.value),
    metadata,
    tensors: out.tensorInfos.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype, offset: t.offset })),
    tensorDataOffset: out.tensorDataOffset,
    parameterCount: out.parameterCount,
};
process.stdout.write(JSON.stringify(result, big));
