// What users ask for ("q4_k_m", "f16", "q8_0") and the type each tensor gets under it.
//
// The mixtures follow the GGUF ecosystem's quantize tool: a preset has a base type, and some
// tensors get more bits — output.weight (or the tied token_embd) Q6_K, and for q4_k_m / q5_k_m
// attn_v and ffn_down Q6_K in the first and last eighth of the layers and every third layer
// between. Norms, biases and other 1-D tensors stay F32.
//
// Rows that are not a whole number of blocks fall back, as the ecosystem's tool does, to a
// 32-weight type of at least the same precision: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0; a row
// that is not a multiple of 32 either is stored as F16.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backends/dtype.h"

namespace hearth::quant {

struct QuantPreset {
    std::string name;     // "q4_k_m"
    DType base;           // the type most 2-D weights get
    uint32_t fileType;    // general.file_type (the ecosystem's LLAMA_FTYPE numbering)
    bool moreBitsMixture; // the _M rule for attn_v / ffn_down
    bool smallMixture;    // the _S rule (q4_k_s: a few attn_v / ffn_down in Q5_K)
};

std::optional<QuantPreset> presetFromName(std::string_view name);
// A single tensor type the quantizer can write ("q6_k", "Q8_0", "f16"); nullopt otherwise.
std::optional<DType> tensorTypeFromName(std::string_view name);
// All preset names, for help texts: "f32, f16, bf16, q8_0, ...".
std::string presetNameList();

struct TensorDesc {
    std::string name;             // GGUF name
    std::vector<uint64_t> shape;  // ne, innermost first
    DType sourceType = DType::F32;
};

// What users of the ecosystem's quantize tool can override (--pure, --output-tensor-type,
// --token-embedding-type).
struct PlanOverrides {
    bool pure = false;                 // no mixture: every quantizable tensor gets the base type
    std::optional<DType> outputType;   // output.weight (or the tied token_embd)
    std::optional<DType> embeddingType;  // token_embd.weight when an output.weight exists
};

struct TensorPlan {
    DType type;
    std::string fallbackNote;  // non-empty when the preferred type did not fit the row length
};

// The type of every tensor, in order. `numLayers` is the block count of the model.
std::vector<TensorPlan> planTensorTypes(const QuantPreset& preset, const std::vector<TensorDesc>& tensors,
                                        int numLayers, const PlanOverrides& overrides = {});

}  // namespace hearth::quant
