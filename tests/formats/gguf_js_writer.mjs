// Writes a metadata-only GGUF with the reference library (@huggingface/gguf's
// serializeGgufMetadata), one key per value type plus arrays, and prints what it wrote in the
// same JSON form as gguf_oracle.mjs. Usage: node gguf_js_writer.mjs OUT.gguf
import { serializeGgufMetadata, GGUFValueType as T } from "@huggingface/gguf";
import { writeFileSync } from "node:fs";

const typed = {
    version: { value: 3, type: T.UINT32 },
    tensor_count: { value: 0n, type: T.UINT64 },
    kv_count: { value: 0n, type: T.UINT64 },
    "general.architecture": { value: "llama", type: T.STRING },
    "js.u8": { value: 250, type: T.UINT8 },
    "js.i8": { value: -7, type: T.INT8 },
    "js.u16": { value: 65000, type: T.UINT16 },
    "js.i16": { value: -32000, type: T.INT16 },
    "js.u32": { value: 4000000000, type: T.UINT32 },
    "js.i32": { value: -123456789, type: T.INT32 },
    "js.f32": { value: 0.25, type: T.FLOAT32 },
    "js.bool": { value: true, type: T.BOOL },
    "js.string": { value: "¿ünïcödé? 🦙", type: T.STRING },
    "js.u64": { value: 12345678901234567890n, type: T.UINT64 },
    "js.i64": { value: -1234567890123456789n, type: T.INT64 },
    "js.f64": { value: -2.5e-300, type: T.FLOAT64 },
    "js.strings": { value: ["a", "", "ccc"], type: T.ARRAY, subType: T.STRING },
    "js.i32s": { value: [1, -2, 3], type: T.ARRAY, subType: T.INT32 },
    "js.f32s": { value: [0.5, -1.5], type: T.ARRAY, subType: T.FLOAT32 },
};
writeFileSync(process.argv[2], serializeGgufMetadata(typed, { alignment: 32 }));
const metadata = {};
for (const [key, e] of Object.entries(typed)) {
    if (key === "version" || key === "tensor_count" || key === "kv_count") continue;
    metadata[key] = { type: e.type, subType: e.subType, value: e.value };
}
process.stdout.write(JSON.stringify({ version: 3, metadata }, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
