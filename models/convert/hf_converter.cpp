#include "models/convert/hf_converter.h"

#include <cmath>
#include <cstring>
#include <map>
#include <numbers>
#include <set>

#include "models/convert/hf_vocab.h"
#include "models/formats/format_error.h"
#include "models/formats/model_spec.h"
#include "models/formats/safetensors.h"
#include "models/quant/quant_preset.h"

namespace hearth::convert {
namespace {

namespace fs = std::filesystem;
namespace st = safetensors;

struct Expected {
    std::string hfName;
    std::string ggufName;
    std::vector<uint64_t> hfShape;  // outermost first, as in the checkpoint
    bool required = true;
    int permuteHeads = 0;  // > 0: apply the llama Q/K permutation with this many heads
};

std::string shapeText(const std::vector<uint64_t>& s) {
    std::string t = "[";
    for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

// The tensors a model of this spec has, under their HF and GGUF names.
std::vector<Expected> expectedTensors(const ModelSpec& s) {
    const bool llama = s.architecture == "llama";
    const uint64_t hidden = s.hiddenSize, qRows = uint64_t{s.numHeads} * s.headDim,
                   kvRows = uint64_t{s.numKvHeads} * s.headDim, ffn = s.ffnSize;
    std::vector<Expected> e;
    e.push_back({"model.embed_tokens.weight", "token_embd.weight", {s.vocabSize, hidden}});
    for (uint32_t l = 0; l < s.numLayers; ++l) {
        std::string hf = "model.layers." + std::to_string(l) + ".", gg = "blk." + std::to_string(l) + ".";
        int qPerm = llama ? static_cast<int>(s.numHeads) : 0, kPerm = llama ? static_cast<int>(s.numKvHeads) : 0;
        e.push_back({hf + "input_layernorm.weight", gg + "attn_norm.weight", {hidden}});
        e.push_back({hf + "self_attn.q_proj.weight", gg + "attn_q.weight", {qRows, hidden}, true, qPerm});
        e.push_back({hf + "self_attn.q_proj.bias", gg + "attn_q.bias", {qRows}, s.attentionBias, qPerm});
        e.push_back({hf + "self_attn.k_proj.weight", gg + "attn_k.weight", {kvRows, hidden}, true, kPerm});
        e.push_back({hf + "self_attn.k_proj.bias", gg + "attn_k.bias", {kvRows}, s.attentionBias, kPerm});
        e.push_back({hf + "self_attn.v_proj.weight", gg + "attn_v.weight", {kvRows, hidden}});
        e.push_back({hf + "self_attn.v_proj.bias", gg + "attn_v.bias", {kvRows}, s.attentionBias});
        e.push_back({hf + "self_attn.o_proj.weight", gg + "attn_output.weight", {hidden, qRows}});
        e.push_back({hf + "self_attn.o_proj.bias", gg + "attn_output.bias", {hidden}, false});
        if (s.qkNorm) {
            e.push_back({hf + "self_attn.q_norm.weight", gg + "attn_q_norm.weight", {s.headDim}});
            e.push_back({hf + "self_attn.k_norm.weight", gg + "attn_k_norm.weight", {s.headDim}});
        }
        e.push_back({hf + "post_attention_layernorm.weight", gg + "ffn_norm.weight", {hidden}});
        e.push_back({hf + "mlp.gate_proj.weight", gg + "ffn_gate.weight", {ffn, hidden}});
        e.push_back({hf + "mlp.up_proj.weight", gg + "ffn_up.weight", {ffn, hidden}});
        e.push_back({hf + "mlp.down_proj.weight", gg + "ffn_down.weight", {hidden, ffn}});
    }
    e.push_back({"model.norm.weight", "output_norm.weight", {hidden}});
    e.push_back({"lm_head.weight", "output.weight", {s.vocabSize, hidden}, !s.tiedEmbeddings});
    return e;
}

DType sourceDType(st::Dtype d, const std::string& name, const fs::path& folder) {
    switch (d) {
        case st::Dtype::F32: return DType::F32;
        case st::Dtype::F16: return DType::F16;
        case st::Dtype::BF16: return DType::BF16;
        default:
            throw FormatError(folder.string() + ": tensor '" + name + "' is " + std::string(st::dtypeName(d)) +
                              "; only F32, F16 and BF16 checkpoints can be converted");
    }
}

// Row order the GGUF llama architecture expects: within each head, HF keeps the two halves that
// RoPE rotates together apart (rotate_half); GGUF interleaves them. Output row (h, i, j) comes from
// HF row (h, j, i) for i < headDim/2, j in {0, 1}.
uint64_t permutedRow(uint64_t row, uint64_t headDim) {
    uint64_t h = row / headDim, rem = row % headDim;
    return h * headDim + (rem % 2) * (headDim / 2) + rem / 2;
}

quant::SourceTensor makeSource(const Expected& e, const st::TensorView& v, const fs::path& folder) {
    quant::SourceTensor s;
    s.name = e.ggufName;
    s.shape.assign(v.shape.rbegin(), v.shape.rend());
    s.sourceType = sourceDType(v.dtype, e.hfName, folder);
    s.data = v.data;
    if (e.permuteHeads <= 0) return s;
    const uint64_t rows = v.shape[0];
    if (rows % static_cast<uint64_t>(e.permuteHeads) != 0 || (rows / e.permuteHeads) % 2 != 0)
        throw FormatError(folder.string() + ": tensor '" + e.hfName + "' has " + std::to_string(rows) +
                          " rows, not a whole number of even-sized heads");
    const uint64_t headDim = rows / static_cast<uint64_t>(e.permuteHeads);
    if (v.shape.size() >= 2) {
        s.rowMap = [headDim](uint64_t r) { return permutedRow(r, headDim); };
        return s;
    }
    // A bias is one row: permute its elements into owned storage.
    const size_t elem = st::dtypeSize(v.dtype);
    auto buf = std::make_shared<std::vector<uint8_t>>(v.bytes);
    for (uint64_t r = 0; r < rows; ++r) std::memcpy(buf->data() + r * elem, v.data + permutedRow(r, headDim) * elem, elem);
    s.storage = buf;
    s.data = buf->data();
    return s;
}

// llama3 rope scaling as per-dimension frequency divisors, computed as the ecosystem's converter
// does (frequencies in f32, wavelength bands in double).
quant::SourceTensor ropeFreqs(const ModelSpec& s) {
    const auto& rs = s.ropeScaling;
    const uint32_t dim = s.headDim;
    const double lowWavelen = rs.originalContextLength / rs.lowFreqFactor;
    const double highWavelen = rs.originalContextLength / rs.highFreqFactor;
    auto buf = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(dim / 2) * 4);
    for (uint32_t i = 0; i < dim / 2; ++i) {
        float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
        float freq = 1.0f / std::pow(s.ropeTheta, exponent);
        double wavelen = 2 * std::numbers::pi / static_cast<double>(freq);
        double factor;
        if (wavelen < highWavelen) {
            factor = 1;
        } else if (wavelen > lowWavelen) {
            factor = rs.factor;
        } else {
            double smooth = (rs.originalContextLength / wavelen - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
            factor = 1 / ((1 - smooth) / rs.factor + smooth);
        }
        float f = static_cast<float>(factor);
        std::memcpy(buf->data() + i * 4, &f, 4);
    }
    quant::SourceTensor t;
    t.name = "rope_freqs.weight";
    t.shape = {dim / 2};
    t.sourceType = DType::F32;
    t.storage = buf;
    t.data = buf->data();
    return t;
}

Metadata modelMetadata(const ModelSpec& s, const quant::QuantPreset& preset) {
    const std::string a = s.architecture;
    auto u32 = [](uint64_t v) { return gguf::Value{static_cast<uint32_t>(v)}; };
    Metadata md = {
        {"general.architecture", gguf::Value{a}},
        {"general.type", gguf::Value{std::string("model")}},
        {"general.name", gguf::Value{s.name}},
        {"general.file_type", u32(preset.fileType)},
        {"general.quantization_version", u32(2)},
        {a + ".vocab_size", u32(s.vocabSize)},
        {a + ".context_length", u32(s.contextLength)},
        {a + ".embedding_length", u32(s.hiddenSize)},
        {a + ".block_count", u32(s.numLayers)},
        {a + ".feed_forward_length", u32(s.ffnSize)},
        {a + ".attention.head_count", u32(s.numHeads)},
        {a + ".attention.head_count_kv", u32(s.numKvHeads)},
        {a + ".attention.key_length", u32(s.headDim)},
        {a + ".attention.value_length", u32(s.headDim)},
        {a + ".attention.layer_norm_rms_epsilon", gguf::Value{s.normEps}},
        {a + ".rope.dimension_count", u32(s.headDim)},
        {a + ".rope.freq_base", gguf::Value{s.ropeTheta}},
    };
    const auto& rs = s.ropeScaling;
    if (rs.type == RopeScalingType::Linear) {
        md.emplace_back(a + ".rope.scaling.type", gguf::Value{std::string("linear")});
        md.emplace_back(a + ".rope.scaling.factor", gguf::Value{rs.factor});
    } else if (rs.type == RopeScalingType::Yarn) {
        md.emplace_back(a + ".rope.scaling.type", gguf::Value{std::string("yarn")});
        md.emplace_back(a + ".rope.scaling.factor", gguf::Value{rs.factor});
        md.emplace_back(a + ".rope.scaling.original_context_length", u32(rs.originalContextLength));
    }
    return md;
}

void checkFolder(const fs::path& folder) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw FormatError(folder.string() + ": not a folder (expected a Hugging Face model folder)");
    if (!fs::exists(folder / "config.json", ec))
        throw FormatError(folder.string() + ": no config.json; this does not look like a Hugging Face model folder");
    if (!fs::exists(folder / "model.safetensors", ec) && !fs::exists(folder / "model.safetensors.index.json", ec)) {
        std::string hint = fs::exists(folder / "pytorch_model.bin", ec) || fs::exists(folder / "pytorch_model.bin.index.json", ec)
                               ? " (only PyTorch .bin weights found; download the safetensors version)"
                               : "";
        throw FormatError(folder.string() + ": no model.safetensors or model.safetensors.index.json" + hint);
    }
    if (!fs::exists(folder / "tokenizer.json", ec))
        throw FormatError(folder.string() + ": no tokenizer.json; the converter needs the Hugging Face fast tokenizer file");
}

}  // namespace

quant::WriteResult convertHfFolder(const fs::path& folder, const fs::path& out, std::string_view presetName,
                                   const quant::WriteOptions& options) {
    auto preset = quant::presetFromName(presetName);
    if (!preset)
        throw quant::QuantizeError("unknown type '" + std::string(presetName) + "'; choose one of " +
                                   quant::presetNameList());
    checkFolder(folder);
    ModelSpec spec = specFromHfConfig(folder / "config.json");
    auto checkpoint = st::SafetensorsCheckpoint::open(folder);

    std::vector<quant::SourceTensor> sources;
    std::set<std::string> used;
    for (const auto& e : expectedTensors(spec)) {
        const st::TensorView* v = checkpoint.tensor(e.hfName);
        if (!v) {
            if (e.required)
                throw FormatError(folder.string() + ": tensor '" + e.hfName + "' is missing from the checkpoint");
            continue;
        }
        used.insert(e.hfName);
        if (e.ggufName == "output.weight" && spec.tiedEmbeddings) continue;  // tied: the embedding serves
        if (v->shape != e.hfShape)
            throw FormatError(folder.string() + ": tensor '" + e.hfName + "' has shape " + shapeText(v->shape) +
                              " but config.json implies " + shapeText(e.hfShape));
        sources.push_back(makeSource(e, *v, folder));
        if (e.ggufName == "token_embd.weight" && spec.ropeScaling.type == RopeScalingType::Llama3)
            sources.push_back(ropeFreqs(spec));
    }
    for (const auto& name : checkpoint.tensorNames())
        if (!used.count(name) && name.find("rotary_emb.inv_freq") == std::string::npos)
            throw FormatError(folder.string() + ": unexpected tensor '" + name + "' for a " + spec.architecture +
                              " model (a different architecture or an adapter?)");

    Metadata metadata = modelMetadata(spec, *preset);
    for (auto& kv : tokenizerMetadata(folder, spec.vocabSize)) metadata.push_back(std::move(kv));

    std::vector<quant::TensorDesc> descs;
    for (const auto& s : sources) descs.push_back({s.name, s.shape, s.sourceType});
    auto plan = quant::planTensorTypes(*preset, descs, static_cast<int>(spec.numLayers), options.overrides);
    std::vector<DType> types;
    std::vector<std::string> notes;
    for (const auto& p : plan) {
        types.push_back(p.type);
        notes.push_back(p.fallbackNote);
    }
    return quant::writeGguf(out, metadata, sources, types, notes, options);
}

}  // namespace hearth::convert
