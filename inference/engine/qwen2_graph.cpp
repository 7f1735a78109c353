// Qwen2 / Qwen2.5: llama with biases on the q, k and v projections and NeoX-style rotary pairs
// (i, i + headDim/2), since converters keep Hugging Face's layout for this family.
#include "inference/engine/model_graph.h"

namespace hearth {

namespace {

class Qwen2Graph final : public ModelGraph {
public:
    Qwen2Graph(const ModelSpec& spec, Backend& backend) : ModelGraph(spec, backend, RopeStyle::Neox) {}

protected:
    void loadLayerExtras(int layer, LayerWeights& lw) override {
        const std::string p = "blk." + std::to_string(layer) + ".";
        const int64_t qDim = int64_t{spec_.numHeads} * spec_.headDim, kvDim = int64_t{spec_.numKvHeads} * spec_.headDim;
        lw.bq = optional(p + "attn_q.bias", {qDim});
        lw.bk = optional(p + "attn_k.bias", {kvDim});
        lw.bv = optional(p + "attn_v.bias", {kvDim});
    }
};

}  // namespace

std::unique_ptr<ModelGraph> makeQwen2Graph(const ModelSpec& spec, Backend& backend) {
    return std::make_unique<Qwen2Graph>(spec, backend);
}

}  // namespace hearth
