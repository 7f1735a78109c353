// ModelSpec from a Hugging Face config.json or from GGUF metadata. Defaults follow the
// transformers configuration classes of each family where a config leaves a field out.
#include "models/formats/model_spec.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/formats/gguf.h"

namespace hearth {

namespace {

using nlohmann::json;

struct FamilyDefaults {
    std::string ggufArch;
    uint32_t contextLength;
    float normEps;
    bool attentionBias;
    bool qkNorm;
};

std::optional<FamilyDefaults> familyOf(const std::string& modelType) {
    if (modelType == "llama") return FamilyDefaults{"llama", 2048, 1e-6f, false, false};
    if (modelType == "mistral") return FamilyDefaults{"llama", 4096 * 32, 1e-6f, false, false};
    if (modelType == "qwen2") return FamilyDefaults{"qwen2", 32768, 1e-6f, true, false};
    if (modelType == "qwen3") return FamilyDefaults{"qwen3", 32768, 1e-6f, false, true};
    return std::nullopt;
}

std::string modelTypeFromArchitectures(const json& cfg) {
    auto it = cfg.find("architectures");
    if (it == cfg.end() || !it->is_array() || it->empty() || !(*it)[0].is_string()) return {};
    std::string a = (*it)[0].get<std::string>();
    if (a == "LlamaForCausalLM") return "llama";
    if (a == "MistralForCausalLM") return "mistral";
    if (a == "Qwen2ForCausalLM") return "qwen2";
    if (a == "Qwen3ForCausalLM") return "qwen3";
    return a;
}

class ConfigReader {
public:
    ConfigReader(const json& j, std::string file) : j_(j), file_(std::move(file)) {}

    [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
        throw FormatError(file_ + ": " + key + ": " + problem);
    }

    const json* get(const std::string& key) const {
        auto it = j_.find(key);
        if (it == j_.end() || it->is_null()) return nullptr;
        return &*it;
    }

    std::optional<uint32_t> optUInt(const std::string& key, bool allowZero = false) const {
        const json* v = get(key);
        if (!v) return std::nullopt;
        if (!v->is_number_integer()) fail(key, "expected a whole number, found " + std::string(v->type_name()));
        if (v->is_number_unsigned()) {
            auto x = v->get<uint64_t>();
            if (x > std::numeric_limits<uint32_t>::max()) fail(key, std::to_string(x) + " is out of range");
            if (x == 0 && !allowZero) fail(key, "must be positive");
            return static_cast<uint32_t>(x);
        }
        auto x = v->get<int64_t>();
        if (x < 0 || (x == 0 && !allowZero)) fail(key, "must be positive, found " + std::to_string(x));
        if (x > std::numeric_limits<uint32_t>::max()) fail(key, std::to_string(x) + " is out of range");
        return static_cast<uint32_t>(x);
    }

    uint32_t reqUInt(const std::string& key) const {
        auto v = optUInt(key);
        if (!v) fail(key, "missing (is this a causal language model config.json?)");
        return *v;
    }

    std::optional<double> optFloat(const std::string& key) const {
        const json* v = get(key);
        if (!v) return std::nullopt;
        if (!v->is_number()) fail(key, "expected a number, found " + std::string(v->type_name()));
        double x = v->get<double>();
        if (!std::isfinite(x) || x <= 0 || x > 1e30) fail(key, "must be a positive finite number");
        return x;
    }

    std::optional<bool> optBool(const std::string& key) const {
        const json* v = get(key);
        if (!v) return std::nullopt;
        if (!v->is_boolean()) fail(key, "expected true or false");
        return v->get<bool>();
    }

    std::vector<int32_t> idList(const std::string& key) const {
        const json* v = get(key);
        if (!v) return {};
        auto one = [&](const json& x) {
            if (!x.is_number_integer()) fail(key, "expected a token id");
            auto id = x.get<int64_t>();
            if (id < 0 || id > std::numeric_limits<int32_t>::max()) fail(key, "token id " + std::to_string(id) + " is out of range");
            return static_cast<int32_t>(id);
        };
        std::vector<int32_t> out;
        if (v->is_array()) {
            for (const auto& x : *v) out.push_back(one(x));
        } else {
            out.push_back(one(*v));
        }
        return out;
    }

    const json& root() const { return j_; }
    const std::string& file() const { return file_; }

private:
    const json& j_;
    std::string file_;
};

// rope_scaling (transformers < 4.56) or rope_parameters (newer): {"rope_type"|"type": ..., ...}.
void readRopeScaling(const ConfigReader& cfg, ModelSpec& s) {
    const json* rs = cfg.get("rope_parameters");
    std::string key = "rope_parameters";
    if (!rs) {
        rs = cfg.get("rope_scaling");
        key = "rope_scaling";
    }
    if (!rs) return;
    if (!rs->is_object()) cfg.fail(key, "expected an object");
    ConfigReader r(*rs, cfg.file() + ": " + key);
    if (auto theta = r.optFloat("rope_theta")) s.ropeTheta = static_cast<float>(*theta);
    const json* type = r.get("rope_type");
    if (!type) type = r.get("type");
    if (!type) return;
    if (!type->is_string()) r.fail("rope_type", "expected a string");
    std::string t = type->get<std::string>();
    if (t == "default") return;
    if (t == "linear") s.ropeScaling.type = RopeScalingType::Linear;
    else if (t == "llama3") s.ropeScaling.type = RopeScalingType::Llama3;
    else if (t == "yarn") s.ropeScaling.type = RopeScalingType::Yarn;
    else r.fail("rope_type", "unsupported rope scaling '" + t + "' (supported: linear, llama3, yarn)");
    s.ropeScaling.factor = static_cast<float>(r.optFloat("factor").value_or(1.0));
    if (t == "llama3") {
        s.ropeScaling.lowFreqFactor = static_cast<float>(r.optFloat("low_freq_factor").value_or(1.0));
        s.ropeScaling.highFreqFactor = static_cast<float>(r.optFloat("high_freq_factor").value_or(4.0));
    }
    s.ropeScaling.originalContextLength = r.optUInt("original_max_position_embeddings").value_or(0);
}

void checkShape(const std::string& file, const ModelSpec& s) {
    auto fail = [&](const std::string& what) { throw FormatError(file + ": " + what); };
    if (s.numKvHeads > s.numHeads || s.numHeads % s.numKvHeads != 0)
        fail("num_key_value_heads (" + std::to_string(s.numKvHeads) + ") must divide num_attention_heads (" +
             std::to_string(s.numHeads) + ")");
    if (s.headDim == 0) fail("head_dim is zero");
    if (static_cast<uint64_t>(s.headDim) * s.numHeads > (1u << 20)) fail("attention is implausibly wide");
    if (s.headDim % 2 != 0) fail("head_dim " + std::to_string(s.headDim) + " must be even for RoPE");
}

}  // namespace

ModelSpec specFromHfConfigText(const std::string& text, const std::string& displayName) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw FormatError(displayName + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw FormatError(displayName + ": expected a JSON object");
    ConfigReader cfg(j, displayName);

    std::string modelType;
    if (const json* mt = cfg.get("model_type")) {
        if (!mt->is_string()) cfg.fail("model_type", "expected a string");
        modelType = mt->get<std::string>();
    } else {
        modelType = modelTypeFromArchitectures(j);
    }
    if (modelType.empty()) cfg.fail("model_type", "missing; cannot tell the architecture");
    auto family = familyOf(modelType);
    if (!family)
        throw FormatError(displayName + ": unsupported architecture '" + modelType +
                          "' (Hearth runs llama, mistral, qwen2 and qwen3 models)");

    ModelSpec s;
    s.architecture = family->ggufArch;
    s.hiddenSize = cfg.reqUInt("hidden_size");
    s.numLayers = cfg.reqUInt("num_hidden_layers");
    s.numHeads = cfg.reqUInt("num_attention_heads");
    s.numKvHeads = cfg.optUInt("num_key_value_heads").value_or(s.numHeads);
    if (auto hd = cfg.optUInt("head_dim")) {
        s.headDim = *hd;
    } else {
        if (s.hiddenSize % s.numHeads != 0)
            cfg.fail("hidden_size", "is not a multiple of num_attention_heads and no head_dim is given");
        s.headDim = s.hiddenSize / s.numHeads;
    }
    s.ffnSize = cfg.reqUInt("intermediate_size");
    s.vocabSize = cfg.reqUInt("vocab_size");
    s.contextLength = cfg.optUInt("max_position_embeddings").value_or(family->contextLength);
    s.ropeTheta = static_cast<float>(cfg.optFloat("rope_theta").value_or(10000.0));
    readRopeScaling(cfg, s);
    s.normEps = static_cast<float>(cfg.optFloat("rms_norm_eps").value_or(family->normEps));
    // transformers defaults tie_word_embeddings to false for all four; small Qwen configs say true.
    s.tiedEmbeddings = cfg.optBool("tie_word_embeddings").value_or(false);
    s.attentionBias = family->attentionBias || cfg.optBool("attention_bias").value_or(false);
    s.qkNorm = family->qkNorm;
    // The engine has no MLP biases; running such a model without them would give wrong answers.
    if (cfg.optBool("mlp_bias").value_or(false)) cfg.fail("mlp_bias", "models with MLP biases are not supported");
    auto bos = cfg.idList("bos_token_id");
    if (!bos.empty()) s.bosId = bos.front();
    s.eosIds = cfg.idList("eos_token_id");
    if (const json* n = cfg.get("_name_or_path"); n && n->is_string()) s.name = n->get<std::string>();
    checkShape(displayName, s);
    return s;
}

ModelSpec specFromHfConfig(const std::filesystem::path& configJson) {
    std::error_code ec;
    if (std::filesystem::is_directory(configJson, ec))
        throw FormatError(configJson.string() + ": is a folder; expected its config.json");
    std::ifstream in(configJson, std::ios::binary);
    if (!in) throw FormatError(configJson.string() + ": cannot open (missing config.json?)");
    auto size = std::filesystem::file_size(configJson, ec);
    if (!ec && size > (16u << 20)) throw FormatError(configJson.string() + ": too large for a config.json");
    std::ostringstream ss;
    ss << in.rdbuf();
    ModelSpec s = specFromHfConfigText(ss.str(), configJson.string());
    auto folder = configJson.parent_path().filename().string();
    if (!folder.empty()) s.name = folder;
    return s;
}

// ---- GGUF --------------------------------------------------------------------------------------

namespace {

class GgufKeys {
public:
    GgufKeys(const gguf::GgufFile& f, std::string arch) : f_(f), arch_(std::move(arch)) {}

    [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
        throw FormatError(f_.path().string() + ": " + key + ": " + problem);
    }

    std::optional<uint32_t> optUInt(const std::string& suffix) const {
        std::string key = arch_ + "." + suffix;
        const gguf::Value* v = f_.find(key);
        if (!v) return std::nullopt;
        auto x = v->asUInt();
        if (!x) fail(key, "expected an unsigned integer");
        if (*x == 0 || *x > std::numeric_limits<uint32_t>::max()) fail(key, std::to_string(*x) + " is out of range");
        return static_cast<uint32_t>(*x);
    }
    uint32_t reqUInt(const std::string& suffix) const {
        auto v = optUInt(suffix);
        if (!v) fail(arch_ + "." + suffix, "missing");
        return *v;
    }
    std::optional<float> optFloat(const std::string& suffix) const {
        std::string key = arch_ + "." + suffix;
        const gguf::Value* v = f_.find(key);
        if (!v) return std::nullopt;
        auto x = v->asFloat();
        if (!x || !std::isfinite(*x) || *x <= 0) fail(key, "expected a positive number");
        return static_cast<float>(*x);
    }
    std::optional<int32_t> tokenId(const std::string& key) const {
        const gguf::Value* v = f_.find(key);
        if (!v) return std::nullopt;
        auto x = v->asInt();
        if (!x || *x < 0 || *x > std::numeric_limits<int32_t>::max()) fail(key, "expected a token id");
        return static_cast<int32_t>(*x);
    }

private:
    const gguf::GgufFile& f_;
    std::string arch_;
};

}  // namespace

ModelSpec specFromGguf(const gguf::GgufFile& file) {
    const std::string display = file.path().string();
    auto arch = file.getString("general.architecture");
    if (!arch) throw FormatError(display + ": general.architecture: missing (not a model file?)");
    if (*arch != "llama" && *arch != "qwen2" && *arch != "qwen3")
        throw FormatError(display + ": unsupported architecture '" + *arch +
                          "' (Hearth runs llama, mistral, qwen2 and qwen3 models)");
    GgufKeys k(file, *arch);
    ModelSpec s;
    s.architecture = *arch;
    s.name = file.getString("general.name").value_or("");
    s.hiddenSize = k.reqUInt("embedding_length");
    s.numLayers = k.reqUInt("block_count");
    s.numHeads = k.reqUInt("attention.head_count");
    s.numKvHeads = k.optUInt("attention.head_count_kv").value_or(s.numHeads);
    if (auto kl = k.optUInt("attention.key_length")) {
        s.headDim = *kl;
    } else {
        if (s.hiddenSize % s.numHeads != 0)
            k.fail(*arch + ".embedding_length", "is not a multiple of the head count and no key_length is given");
        s.headDim = s.hiddenSize / s.numHeads;
    }
    // The engine rotates whole heads and uses one head size for keys and values.
    if (auto rot = k.optUInt("rope.dimension_count"); rot && *rot != s.headDim)
        k.fail(*arch + ".rope.dimension_count", "partial rotary embeddings (" + std::to_string(*rot) + " of " +
                                                    std::to_string(s.headDim) + ") are not supported");
    if (auto vl = k.optUInt("attention.value_length"); vl && *vl != s.headDim)
        k.fail(*arch + ".attention.value_length", "differs from the key length; not supported");
    s.ffnSize = k.reqUInt("feed_forward_length");
    s.contextLength = k.reqUInt("context_length");
    s.ropeTheta = k.optFloat("rope.freq_base").value_or(10000.0f);
    s.normEps = k.optFloat("attention.layer_norm_rms_epsilon").value_or(1e-5f);

    if (auto type = file.getString(*arch + ".rope.scaling.type")) {
        if (*type == "linear") s.ropeScaling.type = RopeScalingType::Linear;
        else if (*type == "yarn") s.ropeScaling.type = RopeScalingType::Yarn;
        else if (*type == "llama3") s.ropeScaling.type = RopeScalingType::Llama3;
        else if (*type != "none") k.fail(*arch + ".rope.scaling.type", "unsupported rope scaling '" + *type + "'");
    }
    if (auto f = k.optFloat("rope.scaling.factor")) s.ropeScaling.factor = *f;
    s.ropeScaling.originalContextLength = k.optUInt("rope.scaling.original_context_length").value_or(0);
    // llama.cpp stores llama3 scaling only as per-dimension divisors in this tensor.
    s.ropeFreqsTensor = file.tensor("rope_freqs.weight") != nullptr;
    if (s.ropeFreqsTensor && s.ropeScaling.type == RopeScalingType::None)
        s.ropeScaling.type = RopeScalingType::Llama3;

    if (const gguf::Array* tokens = file.getArray("tokenizer.ggml.tokens")) {
        if (tokens->items.size() > std::numeric_limits<uint32_t>::max())
            k.fail("tokenizer.ggml.tokens", "too many tokens");
        s.vocabSize = static_cast<uint32_t>(tokens->items.size());
    } else if (auto v = k.optUInt("vocab_size")) {
        s.vocabSize = *v;
    } else if (const auto* embd = file.tensor("token_embd.weight"); embd && embd->shape.size() == 2 &&
                                                                     embd->shape[1] <= std::numeric_limits<uint32_t>::max()) {
        s.vocabSize = static_cast<uint32_t>(embd->shape[1]);
    } else {
        k.fail("tokenizer.ggml.tokens", "missing, and no vocab_size or token_embd.weight to tell the vocabulary size");
    }

    s.tiedEmbeddings = file.tensor("output.weight") == nullptr;
    s.attentionBias = file.tensor("blk.0.attn_q.bias") != nullptr;
    s.qkNorm = file.tensor("blk.0.attn_q_norm.weight") != nullptr;
    s.bosId = k.tokenId("tokenizer.ggml.bos_token_id");
    for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
        auto id = k.tokenId(key);
        if (id && std::find(s.eosIds.begin(), s.eosIds.end(), *id) == s.eosIds.end()) s.eosIds.push_back(*id);
    }
    checkShape(display, s);
    return s;
}

}  // namespace hearth
