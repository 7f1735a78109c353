#!/usr/bin/env python3
"""Writes the hostile-input corpus under tests/formats/corrupt/ (python3 stdlib only).

Each entry is one malformed .gguf / .safetensors file or HF model folder, built from a small
valid model by one deliberate defect. MANIFEST.tsv lists every entry with a fragment of the
message the reader must refuse it with, so the tests check that it is refused for the right
reason. Also writes tests/formats/data/tiny_llama.gguf, the valid base, built here by a GGUF
writer independent of Hearth's.

    python3 tests/formats/make_corrupt.py        # regenerate (deterministic)
"""
import json
import os
import shutil
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "corrupt"
DATA = HERE / "data"

# GGUF value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
              BOOL: "<B", U64: "<Q", I64: "<q", F64: "<d"}
# ggml types used here: id -> (block size, bytes per block)
GGML = {0: (1, 4), 1: (1, 2), 8: (32, 34), 12: (256, 144)}


def gstr(s):
    b = s if isinstance(s, bytes) else s.encode()
    return struct.pack("<Q", len(b)) + b


def gvalue(vtype, value):
    if vtype == STR:
        return gstr(value)
    if vtype == ARR:
        etype, items = value
        out = struct.pack("<IQ", etype, len(items))
        for it in items:
            out += gvalue(etype, it)
        return out
    return struct.pack(SCALAR_FMT[vtype], value)


class Gguf:
    """A GGUF image whose every field can be overridden to make it wrong."""

    def __init__(self):
        self.magic = b"GGUF"
        self.version = 3
        self.alignment = 32
        self.kv = []        # (key, type, value) or raw bytes
        self.tensors = []   # dicts: name, dims, type, data (bytes), offset (None = computed)
        self.tensor_count = None
        self.kv_count = None

    def add(self, key, vtype, value):
        self.kv.append((key, vtype, value))

    def tensor(self, name, dims, ttype, data=None, offset=None):
        bs, ts = GGML.get(ttype, (1, 4))
        n = 1
        for d in dims:
            n *= d
        if data is None:
            data = bytes((i * 7 + len(name)) & 0xFF for i in range(max(n // bs * ts, 0)))
        self.tensors.append(dict(name=name, dims=dims, type=ttype, data=data, offset=offset))

    def build(self):
        head = self.magic + struct.pack("<I", self.version)
        head += struct.pack("<QQ", len(self.tensors) if self.tensor_count is None else self.tensor_count,
                            len(self.kv) if self.kv_count is None else self.kv_count)
        for item in self.kv:
            if isinstance(item, bytes):
                head += item
            else:
                key, vtype, value = item
                head += gstr(key) + struct.pack("<I", vtype) + gvalue(vtype, value)
        offset = 0
        placed = []
        for t in self.tensors:
            off = offset if t["offset"] is None else t["offset"]
            placed.append(off)
            if t["offset"] is None or off + len(t["data"]) <= 1 << 20:
                offset = (off + len(t["data"]) + self.alignment - 1) // self.alignment * self.alignment
            head += gstr(t["name"]) + struct.pack("<I", len(t["dims"]))
            for d in t["dims"]:
                head += struct.pack("<Q", d)
            head += struct.pack("<IQ", t["type"], off)
        pad = (-len(head)) % self.alignment
        body = bytearray()
        for t, off in zip(self.tensors, placed):
            if off + len(t["data"]) > 1 << 20:
                continue  # an offset far past the end: leave the file small
            if len(body) < off:
                body += bytes(off - len(body))
            body[off:off + len(t["data"])] = t["data"]
            body += bytes((-len(body)) % self.alignment)
        return head + bytes(pad) + bytes(body)


def base_gguf():
    g = Gguf()
    tokens = ["<unk>", "<s>", "</s>"] + [f"tok{i}" for i in range(13)]
    g.add("general.architecture", STR, "llama")
    g.add("general.name", STR, "tiny llama")
    g.add("llama.context_length", U32, 2048)
    g.add("llama.embedding_length", U32, 32)
    g.add("llama.block_count", U32, 1)
    g.add("llama.feed_forward_length", U32, 64)
    g.add("llama.attention.head_count", U32, 4)
    g.add("llama.attention.head_count_kv", U32, 2)
    g.add("llama.rope.freq_base", F32, 500000.0)
    g.add("llama.attention.layer_norm_rms_epsilon", F32, 1e-5)
    g.add("tokenizer.ggml.model", STR, "llama")
    g.add("tokenizer.ggml.tokens", ARR, (STR, tokens))
    g.add("tokenizer.ggml.scores", ARR, (F32, [0.0] * len(tokens)))
    g.add("tokenizer.ggml.bos_token_id", U32, 1)
    g.add("tokenizer.ggml.eos_token_id", U32, 2)
    g.add("tokenizer.chat_template", STR, "{% for m in messages %}{{ m['content'] }}{% endfor %}")
    g.tensor("token_embd.weight", [32, 16], 1)         # f16
    g.tensor("blk.0.attn_q.weight", [32, 32], 8)       # q8_0
    g.tensor("blk.0.ffn_down.weight", [256, 2], 12)    # q4_k
    g.tensor("output_norm.weight", [32], 0)            # f32
    g.tensor("output.weight", [32, 16], 8)             # q8_0
    return g


def set_kv(g, key, vtype, value):
    g.kv = [(k, t, v) if k != key else (k, vtype, value) for (k, t, v) in g.kv]


def gguf_cases():
    """name -> (bytes, expected message fragment)"""
    cases = {}

    def case(name, expect, mutate=None, raw=None):
        if raw is None:
            g = base_gguf()
            mutate(g)
            raw = g.build()
        cases[name] = (raw, expect)

    good = base_gguf().build()
    case("bad_magic.gguf", "not a GGUF file", lambda g: setattr(g, "magic", b"GGML"))
    case("empty.gguf", "too short", raw=b"")
    case("only_magic.gguf", "version", raw=b"GGUF")
    case("version1.gguf", "version 1", lambda g: setattr(g, "version", 1))
    case("version_future.gguf", "unsupported GGUF version 4", lambda g: setattr(g, "version", 4))
    case("version_zero.gguf", "unsupported GGUF version 0", lambda g: setattr(g, "version", 0))
    case("big_endian.gguf", "big-endian", lambda g: setattr(g, "version", 0x03000000))
    case("huge_tensor_count.gguf", "tensors cannot fit", lambda g: setattr(g, "tensor_count", 1 << 60))
    case("huge_kv_count.gguf", "metadata entries cannot fit", lambda g: setattr(g, "kv_count", (1 << 64) - 1))
    case("kv_count_too_high.gguf", "", lambda g: setattr(g, "kv_count", len(g.kv) + 1))
    case("key_length_past_end.gguf", "runs past the end",
         lambda g: g.kv.insert(0, struct.pack("<Q", 1 << 40) + b"general.x"))
    case("key_length_huge.gguf", "runs past the end",
         lambda g: g.kv.insert(0, struct.pack("<Q", (1 << 64) - 1) + b"k"))
    case("empty_key.gguf", "empty key", lambda g: g.kv.insert(0, ("", U32, 1)))
    case("string_value_past_end.gguf", "runs past the end",
         lambda g: g.kv.append(gstr("general.note") + struct.pack("<IQ", STR, 1 << 50) + b"abc"))
    case("huge_array_count.gguf", "cannot fit",
         lambda g: g.kv.append(gstr("test.arr") + struct.pack("<IIQ", ARR, U8, 1 << 60) + b"\0" * 16))
    case("huge_string_array.gguf", "cannot fit",
         lambda g: g.kv.append(gstr("test.arr") + struct.pack("<IIQ", ARR, STR, 1 << 40) + b"\0" * 64))
    case("nested_array.gguf", "nested arrays",
         lambda g: g.kv.append(gstr("test.nested") + struct.pack("<IIQ", ARR, ARR, 1) + struct.pack("<IQ", U8, 1) + b"\1"))
    case("unknown_value_type.gguf", "unknown value type 13",
         lambda g: g.kv.append(gstr("test.v") + struct.pack("<II", 13, 0)))
    case("unknown_array_type.gguf", "unknown array element type 99",
         lambda g: g.kv.append(gstr("test.v") + struct.pack("<IIQ", ARR, 99, 1) + b"\0" * 8))
    case("duplicate_key.gguf", "duplicate key 'general.name'", lambda g: g.add("general.name", STR, "again"))
    case("invalid_utf8_key.gguf", "not valid UTF-8", lambda g: g.kv.insert(0, (b"general.\xff\xfe", U8, 1)))
    case("overlong_utf8_key.gguf", "not valid UTF-8", lambda g: g.kv.insert(0, (b"k\xc0\xaf", U8, 1)))
    case("invalid_utf8_tensor_name.gguf", "not valid UTF-8", lambda g: g.tensors[0].update(name=b"tok\xed\xa0\x80"))
    case("alignment_zero.gguf", "power of two", lambda g: g.add("general.alignment", U32, 0))
    case("alignment_not_power_of_two.gguf", "power of two", lambda g: g.add("general.alignment", U32, 48))
    case("alignment_huge.gguf", "power of two", lambda g: g.add("general.alignment", U64, 1 << 40))
    case("alignment_string.gguf", "must be an unsigned integer", lambda g: g.add("general.alignment", STR, "32"))
    case("alignment_negative.gguf", "must be an unsigned integer", lambda g: g.add("general.alignment", I32, -32))
    case("unknown_tensor_type.gguf", "unknown tensor type 4", lambda g: g.tensors[3].update(type=4))
    case("future_tensor_type.gguf", "unknown tensor type 1000", lambda g: g.tensors[3].update(type=1000))
    case("too_many_dims.gguf", "5 dimensions", lambda g: g.tensors[3].update(dims=[32, 1, 1, 1, 1]))
    case("zero_n_dims.gguf", "0 dimensions", lambda g: g.tensors[3].update(dims=[]))
    case("huge_n_dims.gguf", "dimensions (must be 1 to 4)", lambda g: g.tensors[3].update(dims=[32] * 4096))
    case("zero_dim.gguf", "is zero", lambda g: g.tensors[3].update(dims=[32, 0], data=b""))
    case("overflowing_dims.gguf", "overflows 64 bits",
         lambda g: g.tensors[3].update(dims=[1 << 32, 1 << 32, 1 << 32], data=b""))
    case("overflowing_bytes.gguf", "overflows 64 bits",
         lambda g: g.tensors[3].update(dims=[1 << 31, 1 << 31], type=28, data=b""))  # f64: 2^62 * 8
    case("row_not_whole_blocks.gguf", "block size 32", lambda g: g.tensors[1].update(dims=[30, 32]))
    case("tensor_past_end.gguf", "runs past the end", lambda g: g.tensors[4].update(dims=[32, 4096], data=b""))
    case("offset_past_end.gguf", "runs past the end", lambda g: g.tensors[4].update(offset=1 << 40))
    case("offset_overflow.gguf", "runs past the end", lambda g: g.tensors[4].update(offset=(1 << 64) - 32))
    case("offset_misaligned.gguf", "not a multiple of the alignment", lambda g: g.tensors[2].update(offset=1096))
    case("overlapping_tensors.gguf", "overlaps", lambda g: g.tensors[4].update(offset=0))
    case("duplicate_tensor.gguf", "duplicate tensor name 'output_norm.weight'",
         lambda g: g.tensors[4].update(name="output_norm.weight"))
    case("empty_tensor_name.gguf", "empty tensor name", lambda g: g.tensors[0].update(name=""))
    case("missing_model_key.gguf", "llama.block_count: missing",
         lambda g: g.kv.remove(("llama.block_count", U32, 1)))
    case("bad_head_count.gguf", "must divide", lambda g: set_kv(g, "llama.attention.head_count_kv", U32, 3))
    case("partial_rotary.gguf", "partial rotary", lambda g: g.add("llama.rope.dimension_count", U32, 4))

    # Truncation inside each section of an otherwise valid file.
    g = base_gguf()
    header_end = 24
    kv_bytes = sum(len(gstr(k)) + 4 + len(gvalue(t, v)) for k, t, v in g.kv)
    infos_end = header_end + kv_bytes + sum(len(gstr(t["name"])) + 4 + 8 * len(t["dims"]) + 12 for t in g.tensors)
    case("truncated_in_header.gguf", "truncated", raw=good[:12])
    case("truncated_in_counts.gguf", "truncated", raw=good[:20])
    case("truncated_in_key.gguf", "", raw=good[:header_end + 12])
    case("truncated_in_value.gguf", "", raw=good[:header_end + kv_bytes // 2])
    case("truncated_in_array.gguf", "", raw=good[:header_end + kv_bytes - 200])
    case("truncated_in_tensor_info.gguf", "", raw=good[:infos_end - 10])
    case("truncated_before_data.gguf", "truncated", raw=good[:infos_end])
    case("truncated_in_data.gguf", "runs past the end", raw=good[:len(good) - 100])
    return cases


# ---- safetensors --------------------------------------------------------------------------------

def st_image(header, data, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


def st_good_header():
    return {"__metadata__": {"format": "pt"},
            "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
            "b": {"dtype": "F16", "shape": [4], "data_offsets": [16, 24]}}


def st_cases():
    cases = {}
    data = bytes(range(24))

    def case(name, expect, header=None, raw=None, data_=data, raw_header=None):
        if raw is None:
            raw = st_image(header, data_, raw_header)
        cases[name] = (raw, expect)

    def mod(fn):
        h = st_good_header()
        fn(h)
        return h

    case("st_too_short.safetensors", "too short", raw=b"\x10\0\0")
    case("st_header_past_end.safetensors", "runs past the end", raw=struct.pack("<Q", 5000) + b"{}")
    case("st_header_huge.safetensors", "exceeds", raw=struct.pack("<Q", 1 << 62) + b"{}")
    case("st_not_json.safetensors", "not valid JSON", raw_header=b'{"a": {"dtype": ')
    case("st_not_object.safetensors", "does not start with", raw_header=b"[1, 2, 3]")
    case("st_binary_header.safetensors", "does not start with", raw_header=bytes(range(1, 64)))
    case("st_invalid_utf8.safetensors", "not valid JSON", raw_header=b'{"\xff\xfe": 1}')
    case("st_unknown_dtype.safetensors", "unknown dtype 'F24'", mod(lambda h: h["a"].update(dtype="F24")))
    case("st_dtype_not_string.safetensors", "expected a string", mod(lambda h: h["a"].update(dtype=4)))
    case("st_reversed_offsets.safetensors", "end is before begin",
         mod(lambda h: h["b"].update(data_offsets=[24, 16])))
    case("st_offsets_past_end.safetensors", "runs past the end",
         mod(lambda h: h["b"].update(data_offsets=[16, 4096], shape=[2040])))
    case("st_offset_huge.safetensors", "runs past the end",
         mod(lambda h: h["b"].update(data_offsets=[16, 18446744073709551615])))
    case("st_shape_size_mismatch.safetensors", "shape and dtype need", mod(lambda h: h["a"].update(shape=[3, 2])))
    case("st_shape_overflow.safetensors", "overflows",
         mod(lambda h: h["a"].update(shape=[4294967296, 4294967296, 4294967296])))
    case("st_negative_shape.safetensors", "non-negative", mod(lambda h: h["a"].update(shape=[-2, -2])))
    case("st_overlap.safetensors", "overlaps", mod(lambda h: h["b"].update(data_offsets=[8, 16])), data_=data[:16])
    case("st_gap.safetensors", "gap of 8 bytes", mod(lambda h: h["b"].update(data_offsets=[24, 32])),
         data_=bytes(32))
    case("st_trailing_bytes.safetensors", "belong to no tensor", st_good_header(), data_=bytes(40))
    case("st_missing_offsets.safetensors", "has no \"data_offsets\"", mod(lambda h: h["a"].pop("data_offsets")))
    case("st_metadata_not_string.safetensors", "is not a string", mod(lambda h: h["__metadata__"].update(n=1)))
    case("st_deep_json.safetensors", "nested deeper", raw_header=b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}")
    case("st_duplicate_name.safetensors", "duplicate tensor name 'a'",
         raw_header=b'{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},'
                    b'"a":{"dtype":"U8","shape":[16],"data_offsets":[8,24]}}')
    return cases


# ---- Hugging Face folders -----------------------------------------------------------------------

GOOD_CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8,
               "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
               "intermediate_size": 16, "vocab_size": 4, "max_position_embeddings": 64,
               "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 2}


def folder_cases():
    good_st = st_image({"model.embed_tokens.weight": {"dtype": "F32", "shape": [4, 8], "data_offsets": [0, 128]}},
                       bytes(128))
    cases = {}

    def case(name, expect, config=None, files=None):
        entry = {"config.json": config if isinstance(config, bytes) else json.dumps(config, indent=1).encode()}
        if config is None:
            entry = {}
        entry.update(files if files is not None else {"model.safetensors": good_st})
        cases[name] = (entry, expect)

    def cfg(**changes):
        c = dict(GOOD_CONFIG)
        for k, v in changes.items():
            if v is None:
                c.pop(k)
            else:
                c[k] = v
        return c

    case("hf_config_not_json", "not valid JSON", b'{"model_type": "llama", ')
    case("hf_config_empty", "not valid JSON", b"")
    case("hf_config_not_object", "expected a JSON object", b'["llama"]')
    case("hf_config_unsupported_arch", "unsupported architecture 'gpt_neox'",
         cfg(model_type="gpt_neox", architectures=["GPTNeoXForCausalLM"]))
    case("hf_config_missing_hidden_size", "hidden_size: missing", cfg(hidden_size=None))
    case("hf_config_string_number", "expected a whole number", cfg(num_hidden_layers="1"))
    case("hf_config_zero_heads", "must be positive", cfg(num_attention_heads=0))
    case("hf_config_bad_kv_heads", "must divide", cfg(num_key_value_heads=3))
    case("hf_config_huge_vocab", "out of range", cfg(vocab_size=1 << 40))
    case("hf_config_bad_rope", "unsupported rope scaling 'dynamic'", cfg(rope_scaling={"type": "dynamic", "factor": 2}))
    case("hf_no_weights", "no model.safetensors", GOOD_CONFIG, files={})
    case("hf_no_config", "no config.json", None)
    case("hf_bad_weights", "not valid JSON", GOOD_CONFIG,
         files={"model.safetensors": st_image(None, b"", raw_header=b"{oops")})
    index_missing = json.dumps({"weight_map": {"model.embed_tokens.weight": "model-00001-of-00001.safetensors",
                                               "lm_head.weight": "model-00001-of-00001.safetensors"}}).encode()
    case("hf_index_missing_tensor", "has no tensor 'lm_head.weight'", GOOD_CONFIG,
         files={"model.safetensors.index.json": index_missing, "model-00001-of-00001.safetensors": good_st})
    index_escape = json.dumps({"weight_map": {"model.embed_tokens.weight": "../secret.safetensors"}}).encode()
    case("hf_index_escapes_folder", "not a file name inside", GOOD_CONFIG,
         files={"model.safetensors.index.json": index_escape})
    case("hf_index_not_json", "not valid JSON", GOOD_CONFIG, files={"model.safetensors.index.json": b"{,}"})
    return cases


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    DATA.mkdir(exist_ok=True)
    (DATA / "tiny_llama.gguf").write_bytes(base_gguf().build())
    manifest = []
    for name, (raw, expect) in list(gguf_cases().items()) + list(st_cases().items()):
        (OUT / name).write_bytes(raw)
        manifest.append((name, expect))
    for name, (files, expect) in folder_cases().items():
        folder = OUT / name
        folder.mkdir()
        for fname, content in files.items():
            (folder / fname).write_bytes(content)
        manifest.append((name, expect))
    with open(OUT / "MANIFEST.tsv", "w") as f:
        f.write("# entry\texpected message fragment (empty: any message)\n")
        for name, expect in sorted(manifest):
            f.write(f"{name}\t{expect}\n")
    print(f"wrote {len(manifest)} corrupt entries to {OUT}")


if __name__ == "__main__":
    main()
