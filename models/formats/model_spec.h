// ModelSpec: the hyper-parameters the engine needs, read from a Hugging Face config.json or from
// GGUF metadata. Both sources give the same ModelSpec for the same model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "models/formats/format_error.h"

namespace hearth {

namespace gguf { class GgufFile; }

enum class RopeScalingType { None, Linear, Llama3, Yarn };

struct RopeScaling {
    RopeScalingType type = RopeScalingType::None;
    float factor = 1.0f;
    float lowFreqFactor = 1.0f;           // llama3
    float highFreqFactor = 4.0f;          // llama3
    uint32_t originalContextLength = 0;   // llama3 / yarn
};
// Note: llama.cpp's GGUF files keep no llama3 factors in metadata; they store the per-dimension
// frequency divisors as the tensor rope_freqs.weight instead (see ModelSpec::ropeFreqsTensor).

struct ModelSpec {
    // GGUF architecture name: "llama" (llama 2/3, mistral), "qwen2", "qwen3".
    std::string architecture;
    std::string name;                 // general.name or the HF folder name
    uint32_t hiddenSize = 0;          // d_model
    uint32_t numLayers = 0;
    uint32_t numHeads = 0;
    uint32_t numKvHeads = 0;
    uint32_t headDim = 0;             // hidden/heads unless the config says otherwise
    uint32_t ffnSize = 0;             // intermediate size
    uint32_t vocabSize = 0;
    uint32_t contextLength = 0;       // max_position_embeddings
    float ropeTheta = 10000.0f;
    RopeScaling ropeScaling;
    // GGUF only: the file holds rope_freqs.weight (head_dim/2 f32 divisors of the RoPE
    // frequencies). llama3 scaling is then given by that tensor, not by the factors above.
    bool ropeFreqsTensor = false;
    float normEps = 1e-5f;
    bool tiedEmbeddings = false;      // output projection reuses token_embd
    bool attentionBias = false;       // q/k/v biases (qwen2)
    bool qkNorm = false;              // per-head RMSNorm on q and k (qwen3)
    std::optional<int32_t> bosId;
    std::vector<int32_t> eosIds;      // every end-of-generation id the config lists
};

// Throws FormatError naming the file and key for missing/invalid values, and for architectures
// other than llama, mistral, qwen2, qwen3 ("unsupported architecture 'gpt_neox'").
ModelSpec specFromHfConfig(const std::filesystem::path& configJson);
ModelSpec specFromHfConfigText(const std::string& json, const std::string& displayName);
ModelSpec specFromGguf(const gguf::GgufFile& file);

}  // namespace hearth
