// make_random_gguf: writes a GGUF with random weights in the shape of a real model, for
// benchmarks (speed depends on shapes and types, not on the values).
//
//   make_random_gguf --preset llama-3.2-1b --type q4_0 out.gguf
//   make_random_gguf --preset llama-3.1-8b --type q4_k_m --layers 4 out.gguf
//
// Each tensor gets the type `hearth quantize` (and the ecosystem's quantize tool) gives it under
// that preset (models/quant/quant_preset.h): a q4_0 file's output matrix, or the tied
// token_embd, is Q6_K (Q8_0 where rows are not a multiple of 256), as in the Q4_0 files users
// download; --pure gives every matrix the preset's base type instead. Quantized blocks get random
// quants with sane f16 scales, which are valid weights. The file has a small byte-level tokenizer
// (256 byte tokens + placeholders) so the engine loads it like any model.
//
// It needs only the GGUF writer and the quantizer's type plan, so it also builds without CMake or
// Qt (the GPU machine):
//   g++ -O2 -std=c++20 -I. bench/engine/make_random_gguf.cpp models/quant/quant_preset.cpp
//       models/formats/gguf_writer.cpp models/formats/gguf.cpp models/formats/mapped_file.cpp
//       models/formats/byte_cursor.cpp
// (one command line).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "backends/dtype.h"
#include "models/formats/gguf.h"
#include "models/quant/quant_preset.h"

namespace {

using hearth::DType;
using hearth::gguf::Value;

struct Shape {
    std::string arch;
    uint32_t hidden, layers, heads, kvHeads, headDim, ffn, vocab, context;
    float theta;
    bool tied, qkvBias, qkNorm;
};

std::optional<Shape> preset(const std::string& name) {
    if (name == "llama-3.2-1b") return Shape{"llama", 2048, 16, 32, 8, 64, 8192, 128256, 131072, 500000, true, false, false};
    if (name == "llama-3.2-3b") return Shape{"llama", 3072, 28, 24, 8, 128, 8192, 128256, 131072, 500000, true, false, false};
    if (name == "llama-3.1-8b") return Shape{"llama", 4096, 32, 32, 8, 128, 14336, 128256, 131072, 500000, false, false, false};
    if (name == "qwen2.5-0.5b") return Shape{"qwen2", 896, 24, 14, 2, 64, 4864, 151936, 32768, 1000000, true, true, false};
    if (name == "qwen2.5-1.5b") return Shape{"qwen2", 1536, 28, 12, 2, 128, 8960, 151936, 32768, 1000000, true, true, false};
    if (name == "qwen3-0.6b") return Shape{"qwen3", 1024, 28, 16, 8, 128, 3072, 151936, 40960, 1000000, true, false, true};
    if (name == "tiny") return Shape{"llama", 256, 2, 4, 2, 64, 512, 1024, 2048, 10000, false, false, false};
    return std::nullopt;
}

struct Rng {
    uint64_t s;
    uint64_t next() {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        return s;
    }
    float normal() {  // Box-Muller
        double u1 = (static_cast<double>(next() >> 11) + 1.0) / 9007199254740993.0;
        double u2 = static_cast<double>(next() >> 11) / 9007199254740992.0;
        return static_cast<float>(std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2));
    }
    float uniform(float lo, float hi) { return lo + (hi - lo) * static_cast<float>(next() >> 40) / 16777216.0f; }
};

// Random bytes, then every f16 scale field set to a sane value so dequantized weights are ~0.02.
void fillRandom(DType type, std::vector<uint8_t>& buf, Rng& rng, float scale = 0.02f) {
    const size_t n = buf.size();
    auto put16 = [&](size_t at, float v) {
        uint16_t h = hearth::f32ToF16(v);
        std::memcpy(&buf[at], &h, 2);
    };
    switch (type) {
        case DType::F32:
            for (size_t i = 0; i + 4 <= n; i += 4) {
                float v = rng.normal() * scale;
                std::memcpy(&buf[i], &v, 4);
            }
            return;
        case DType::F16:
            for (size_t i = 0; i + 2 <= n; i += 2) put16(i, rng.normal() * scale);
            return;
        case DType::BF16:
            for (size_t i = 0; i + 2 <= n; i += 2) {
                uint16_t b = hearth::f32ToBf16(rng.normal() * scale);
                std::memcpy(&buf[i], &b, 2);
            }
            return;
        default: break;
    }
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t r = rng.next();
        std::memcpy(&buf[i], &r, 8);
    }
    const auto tr = *hearth::dtypeTraits(type);
    for (size_t b = 0; b + tr.typeSize <= n; b += tr.typeSize) {
        switch (type) {
            case DType::Q4_0: case DType::Q5_0: put16(b, scale / 4 * rng.uniform(0.5f, 1.5f)); break;
            case DType::Q8_0: put16(b, scale / 64 * rng.uniform(0.5f, 1.5f)); break;
            case DType::Q4_1: case DType::Q5_1:
                put16(b, scale / 4 * rng.uniform(0.5f, 1.5f));
                put16(b + 2, -scale * 2 * rng.uniform(0.5f, 1.5f));
                break;
            case DType::Q4_K: case DType::Q5_K:
                put16(b, scale / 256 * rng.uniform(0.5f, 1.5f));
                put16(b + 2, scale / 128 * rng.uniform(0.5f, 1.5f));
                break;
            case DType::Q6_K: {
                put16(b + offsetof(hearth::BlockQ6_K, d), scale / 1024 * rng.uniform(0.5f, 1.5f));
                break;
            }
            default: break;
        }
    }
}

struct Planned {
    std::string name;
    DType type;
    std::vector<uint64_t> shape;
    float scale = 0.02f;
    bool ones = false;  // norm weights: 1 + noise
};

int usage() {
    std::fprintf(stderr,
                 "Usage: make_random_gguf --preset NAME [--type T] [--pure] [--layers N] [--vocab N] [--seed S] "
                 "OUT.gguf\n"
                 "  presets: llama-3.2-1b, llama-3.2-3b, llama-3.1-8b, qwen2.5-0.5b, qwen2.5-1.5b, qwen3-0.6b, tiny\n"
                 "  types:   %s (default q4_0), as `hearth quantize` makes them\n"
                 "  --pure   every matrix the type's base type (no Q6_K output, no mixture)\n",
                 hearth::quant::presetNameList().c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string presetName, typeName = "q4_0", out;
    long layers = -1, vocab = -1;
    uint64_t seed = 1;
    bool pure = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--preset") presetName = next();
        else if (a == "--type") typeName = next();
        else if (a == "--pure") pure = true;
        else if (a == "--layers") layers = std::atol(next().c_str());
        else if (a == "--vocab") vocab = std::atol(next().c_str());
        else if (a == "--seed") seed = std::strtoull(next().c_str(), nullptr, 10);
        else if (a == "--help" || a == "-h") return usage();
        else if (!a.empty() && a[0] != '-' && out.empty()) out = a;
        else return usage();
    }
    auto shape = preset(presetName);
    if (!shape || out.empty()) return usage();
    if (layers > 0) shape->layers = static_cast<uint32_t>(layers);
    if (vocab > 0) shape->vocab = static_cast<uint32_t>(vocab);
    const auto quantPreset = hearth::quant::presetFromName(typeName);
    if (!quantPreset) return usage();
    const Shape& s = *shape;
    const uint64_t qDim = uint64_t{s.heads} * s.headDim, kvDim = uint64_t{s.kvHeads} * s.headDim;

    std::vector<Planned> plan;
    auto matrix = [&](std::string name, uint64_t k, uint64_t rows) {
        plan.push_back({std::move(name), DType::F32, {k, rows}, 1.0f / std::sqrt(static_cast<float>(k))});
    };
    auto vec = [&](std::string name, uint64_t n, bool ones) {
        plan.push_back({std::move(name), DType::F32, {n}, ones ? 0.05f : 0.02f, ones});
    };
    matrix("token_embd.weight", s.hidden, s.vocab);
    plan.back().scale = 1.0f;
    for (uint32_t l = 0; l < s.layers; ++l) {
        std::string p = "blk." + std::to_string(l) + ".";
        vec(p + "attn_norm.weight", s.hidden, true);
        matrix(p + "attn_q.weight", s.hidden, qDim);
        matrix(p + "attn_k.weight", s.hidden, kvDim);
        matrix(p + "attn_v.weight", s.hidden, kvDim);
        if (s.qkvBias) {
            vec(p + "attn_q.bias", qDim, false);
            vec(p + "attn_k.bias", kvDim, false);
            vec(p + "attn_v.bias", kvDim, false);
        }
        if (s.qkNorm) {
            vec(p + "attn_q_norm.weight", s.headDim, true);
            vec(p + "attn_k_norm.weight", s.headDim, true);
        }
        matrix(p + "attn_output.weight", qDim, s.hidden);
        vec(p + "ffn_norm.weight", s.hidden, true);
        matrix(p + "ffn_gate.weight", s.hidden, s.ffn);
        matrix(p + "ffn_up.weight", s.hidden, s.ffn);
        matrix(p + "ffn_down.weight", s.ffn, s.hidden);
    }
    vec("output_norm.weight", s.hidden, true);
    if (!s.tied) matrix("output.weight", s.hidden, s.vocab);
    std::vector<hearth::quant::TensorDesc> descs;
    for (const auto& t : plan) descs.push_back({t.name, t.shape, DType::F32});
    hearth::quant::PlanOverrides overrides;
    overrides.pure = pure;
    const auto tensorTypes =
        hearth::quant::planTensorTypes(*quantPreset, descs, static_cast<int>(s.layers), overrides);
    for (size_t i = 0; i < plan.size(); ++i) plan[i].type = tensorTypes[i].type;

    hearth::gguf::GgufWriter w;
    const std::string a = s.arch;
    w.set("general.architecture", Value{a});
    w.set("general.name", Value{"random " + presetName + " " + typeName + (pure ? " pure" : "")});
    w.set(a + ".embedding_length", Value{s.hidden});
    w.set(a + ".block_count", Value{s.layers});
    w.set(a + ".attention.head_count", Value{s.heads});
    w.set(a + ".attention.head_count_kv", Value{s.kvHeads});
    w.set(a + ".attention.key_length", Value{s.headDim});
    w.set(a + ".attention.value_length", Value{s.headDim});
    w.set(a + ".feed_forward_length", Value{s.ffn});
    w.set(a + ".context_length", Value{s.context});
    w.set(a + ".rope.freq_base", Value{s.theta});
    w.set(a + ".attention.layer_norm_rms_epsilon", Value{1e-5f});
    w.set(a + ".vocab_size", Value{s.vocab});
    // A byte-level tokenizer: the 256 GPT-2 byte symbols, then placeholders.
    hearth::gguf::Array tokens{hearth::gguf::ValueType::String, {}}, types{hearth::gguf::ValueType::Int32, {}};
    auto byteSymbol = [](int b) {
        // GPT-2's bytes_to_unicode: printable Latin-1 stays, the rest maps to U+0100 + n.
        static std::vector<int> table = [] {
            std::vector<int> t(256, -1);
            int n = 0;
            for (int c = 0; c < 256; ++c) {
                bool printable = (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255);
                t[c] = printable ? c : 256 + n++;
            }
            return t;
        }();
        int cp = table[b];
        std::string s8;
        if (cp < 0x80) s8 += static_cast<char>(cp);
        else {
            s8 += static_cast<char>(0xC0 | (cp >> 6));
            s8 += static_cast<char>(0x80 | (cp & 0x3F));
        }
        return s8;
    };
    for (uint32_t i = 0; i < s.vocab; ++i) {
        bool special = i + 1 == s.vocab;
        tokens.items.push_back(Value{i < 256 ? byteSymbol(static_cast<int>(i))
                                             : special ? std::string("<|end|>") : "<t" + std::to_string(i) + ">"});
        types.items.push_back(Value{int32_t{special ? 3 : 1}});
    }
    w.set("tokenizer.ggml.model", Value{std::string("gpt2")});
    w.set("tokenizer.ggml.pre", Value{std::string(a == "llama" ? "llama-bpe" : "qwen2")});
    w.set("tokenizer.ggml.tokens", Value{tokens});
    w.set("tokenizer.ggml.token_type", Value{types});
    w.set("tokenizer.ggml.merges", Value{hearth::gguf::Array{hearth::gguf::ValueType::String, {}}});
    w.set("tokenizer.ggml.eos_token_id", Value{s.vocab - 1});
    for (const auto& t : plan) w.addTensor(t.name, t.type, t.shape);
    std::fprintf(stderr, "writing %s: %.2f GB\n", out.c_str(), static_cast<double>(w.plannedFileSize()) / 1e9);
    w.begin(out);
    Rng rng{seed * 0x9E3779B97F4A7C15ull + 1};
    std::vector<uint8_t> buf;
    for (const auto& t : plan) {
        uint64_t rows = t.shape.size() > 1 ? t.shape[1] : 1;
        uint64_t rowBytes = *hearth::dtypeRowBytes(t.type, t.shape[0]);
        buf.resize(rowBytes * rows);
        fillRandom(t.type, buf, rng, t.scale);
        if (t.ones) {
            for (size_t i = 0; i + 4 <= buf.size(); i += 4) {
                float v = 1.0f + rng.normal() * t.scale;
                std::memcpy(&buf[i], &v, 4);
            }
        }
        w.writeTensorData(t.name, buf);
    }
    w.commit();
    return 0;
}
