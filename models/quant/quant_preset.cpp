#include "models/quant/quant_preset.h"

#include <algorithm>

namespace hearth::quant {
namespace {

const std::vector<QuantPreset>& presets() {
    static const std::vector<QuantPreset> all = {
        {"f32", DType::F32, 0, false, false},     {"f16", DType::F16, 1, false, false},
        {"bf16", DType::BF16, 32, false, false},  {"q8_0", DType::Q8_0, 7, false, false},
        {"q4_0", DType::Q4_0, 2, false, false},   {"q4_1", DType::Q4_1, 3, false, false},
        {"q5_0", DType::Q5_0, 8, false, false},   {"q5_1", DType::Q5_1, 9, false, false},
        {"q4_k_s", DType::Q4_K, 14, false, true}, {"q4_k_m", DType::Q4_K, 15, true, false},
        {"q5_k_s", DType::Q5_K, 16, false, false}, {"q5_k_m", DType::Q5_K, 17, true, false},
        {"q6_k", DType::Q6_K, 18, false, false},
    };
    return all;
}

bool endsWith(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// Layer index from "blk.N.<rest>", or -1.
int layerOf(std::string_view name) {
    if (name.substr(0, 4) != "blk.") return -1;
    int layer = 0;
    size_t i = 4;
    if (i >= name.size() || name[i] < '0' || name[i] > '9') return -1;
    for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) layer = layer * 10 + (name[i] - '0');
    return layer;
}

// First and last eighth of the layers, and every third layer in between.
bool useMoreBits(int layer, int layers) {
    return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}

bool isQuantizable(const TensorDesc& t) {
    return endsWith(t.name, "weight") && t.shape.size() >= 2 && !contains(t.name, "_norm.weight");
}

// The ecosystem's per-tensor rules for the K mixtures and the output projection.
DType mixtureType(const QuantPreset& p, const TensorDesc& t, bool hasOutput, int attnVIndex, int numLayers) {
    DType type = p.base;
    bool isOutput = t.name == "output.weight" || (!hasOutput && t.name == "token_embd.weight");
    if (isOutput) {
        if (t.shape[0] % 256 != 0) return DType::Q8_0;
        return type == DType::Q8_0 ? type : DType::Q6_K;
    }
    if (contains(t.name, "attn_v.weight")) {
        if (p.moreBitsMixture && useMoreBits(attnVIndex, numLayers)) return DType::Q6_K;
        if (p.smallMixture && attnVIndex < 4) return DType::Q5_K;
    } else if (contains(t.name, "ffn_down")) {
        int layer = std::max(0, layerOf(t.name));
        if (p.moreBitsMixture && useMoreBits(layer, numLayers)) return DType::Q6_K;
        if (p.smallMixture && layer < numLayers / 8) return DType::Q5_K;
    }
    return type;
}

TensorPlan fitRowLength(DType wanted, uint64_t rowLength) {
    auto fits = [&](DType t) { return rowLength % dtypeTraits(t)->blockSize == 0; };
    if (fits(wanted)) return {wanted, {}};
    DType next = wanted;
    switch (wanted) {
        case DType::Q4_K: next = DType::Q5_0; break;
        case DType::Q5_K: next = DType::Q5_1; break;
        case DType::Q6_K: next = DType::Q8_0; break;
        default: break;
    }
    if (!fits(next)) next = DType::F16;
    return {next, "rows of " + std::to_string(rowLength) + " are not a multiple of the " +
                      std::string(dtypeName(wanted)) + " block size; stored as " + std::string(dtypeName(next))};
}

}  // namespace

std::optional<QuantPreset> presetFromName(std::string_view name) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    if (lower == "q4_k") lower = "q4_k_m";  // what users of the ecosystem mean by it
    if (lower == "q5_k") lower = "q5_k_m";
    for (const auto& p : presets())
        if (p.name == lower) return p;
    return std::nullopt;
}

std::optional<DType> tensorTypeFromName(std::string_view name) {
    auto t = dtypeFromName(name);
    if (!t) return std::nullopt;
    switch (*t) {
        case DType::F32: case DType::F16: case DType::BF16: case DType::Q8_0: case DType::Q4_0:
        case DType::Q4_1: case DType::Q5_0: case DType::Q5_1: case DType::Q4_K: case DType::Q5_K:
        case DType::Q6_K:
            return t;
        default:
            return std::nullopt;
    }
}

std::string presetNameList() {
    std::string out;
    for (const auto& p : presets()) out += (out.empty() ? "" : ", ") + p.name;
    return out;
}

std::vector<TensorPlan> planTensorTypes(const QuantPreset& preset, const std::vector<TensorDesc>& tensors,
                                        int numLayers, const PlanOverrides& overrides) {
    bool hasOutput = std::any_of(tensors.begin(), tensors.end(), [](auto& t) { return t.name == "output.weight"; });
    bool floatPreset = !dtypeTraits(preset.base)->quantized;
    std::vector<TensorPlan> plan;
    plan.reserve(tensors.size());
    int attnVIndex = 0;
    for (const auto& t : tensors) {
        if (t.shape.size() < 2 || t.shape[0] == 0) {
            plan.push_back({DType::F32, {}});
            continue;
        }
        const bool quantizable = isQuantizable(t);
        const bool isOutput = t.name == "output.weight" || (!hasOutput && t.name == "token_embd.weight");
        const bool isAttnV = contains(t.name, "attn_v.weight");
        if (quantizable && isOutput && overrides.outputType) {
            plan.push_back(fitRowLength(*overrides.outputType, t.shape[0]));
        } else if (quantizable && t.name == "token_embd.weight" && overrides.embeddingType) {
            plan.push_back(fitRowLength(*overrides.embeddingType, t.shape[0]));
        } else if (floatPreset) {
            plan.push_back({preset.base, {}});
        } else if (!quantizable) {
            plan.push_back({t.sourceType == DType::F32 ? DType::F32 : DType::F16, {}});
        } else {
            DType wanted = overrides.pure ? preset.base
                                          : mixtureType(preset, t, hasOutput, attnVIndex, std::max(numLayers, 1));
            plan.push_back(fitRowLength(wanted, t.shape[0]));
        }
        if (isAttnV) ++attnVIndex;
    }
    return plan;
}

}  // namespace hearth::quant
