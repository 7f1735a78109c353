// Qwen3: llama with an RMSNorm over each head of q and k before RoPE (no q/k/v biases), NeoX-style
// rotary pairs, and a head_dim that need not be hidden / heads.
#include "inference/engine/model_graph.h"

namespace hearth {

namespace {

class Qwen3Graph final : public ModelGraph {
public:
    Qwen3Graph(const ModelSpec& spec, Backend& backend) : ModelGraph(spec, backend, RopeStyle::Neox) {}

protected:
    void loadLayerExtras(int layer, LayerWeights& lw) override {
        const std::string p = "blk." + std::to_string(layer) + ".";
        lw.qNorm = required(p + "attn_q_norm.weight", {spec_.headDim});
        lw.kNorm = required(p + "attn_k_norm.weight", {spec_.headDim});
        // Some Qwen3 exports keep the (zero) biases; use them if present.
        const int64_t qDim = int64_t{spec_.numHeads} * spec_.headDim, kvDim = int64_t{spec_.numKvHeads} * spec_.headDim;
        lw.bq = optional(p + "attn_q.bias", {qDim});
        lw.bk = optional(p + "attn_k.bias", {kvDim});
        lw.bv = optional(p + "attn_v.bias", {kvDim});
    }

    void afterQkv(const ForwardState& st, const LayerWeights& lw, int layer, int n) const override {
        const int64_t hd = spec_.headDim;
        // Each head is a row of headDim values: one RMSNorm row per (head, token).
        Tensor q = firstTokens(st.q, 2, n).reshaped(hd, int64_t{spec_.numHeads} * n);
        Tensor k = firstTokens(st.k, 2, n).reshaped(hd, int64_t{spec_.numKvHeads} * n);
        be_.rmsNorm(q, q, lw.qNorm, spec_.normEps);
        be_.rmsNorm(k, k, lw.kNorm, spec_.normEps);
        named("q_norm", layer, q, n);
        named("k_norm", layer, k, n);
    }
};

}  // namespace

std::unique_ptr<ModelGraph> makeQwen3Graph(const ModelSpec& spec, Backend& backend) {
    return std::make_unique<Qwen3Graph>(spec, backend);
}

}  // namespace hearth
