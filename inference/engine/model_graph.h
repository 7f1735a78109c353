// The forward pass of a decoder-only transformer, written once against the Backend interface.
//
// Three structs, as in llama2.c: the hyper-parameters (ModelSpec), the weights (ModelWeights:
// views into the mapped GGUF file) and the per-session state (ForwardState: KV cache and
// activations). ModelGraph::create() picks the architecture family; each family lives in its own
// file (llama_graph.cpp, qwen2_graph.cpp, qwen3_graph.cpp) with its tensor names and its
// differences from the llama graph.
//
// All ops are enqueued; the token ids and positions of a step live in device tensors
// (ForwardState::ids/positions), so a decode step can be captured once and replayed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.h"
#include "models/formats/model_spec.h"

namespace hearth {

namespace gguf { class GgufFile; }

struct LayerWeights {
    Tensor attnNorm;               // (hidden)
    Tensor wq, wk, wv;             // (hidden, heads * headDim), (hidden, kvHeads * headDim) x2
    Tensor bq, bk, bv;             // optional biases (qwen2): (heads * headDim), (kvHeads * headDim)
    Tensor qNorm, kNorm;           // optional per-head RMSNorm (qwen3): (headDim)
    Tensor wo;                     // (heads * headDim, hidden)
    Tensor ffnNorm;                // (hidden)
    Tensor wGate, wUp;             // (hidden, ffn)
    Tensor wDown;                  // (ffn, hidden)
};

struct ModelWeights {
    Tensor tokenEmbd;              // (hidden, vocab)
    std::vector<LayerWeights> layers;
    Tensor outputNorm;             // (hidden)
    Tensor output;                 // (hidden, vocab); the token embedding when tied
    Tensor ropeFreqs;              // optional (headDim / 2): llama3 frequency divisors
};

// One session's device memory: the KV cache and the activations of a batch of up to maxBatch
// tokens. Tensors are sized for maxBatch; forward() uses views of the first n columns.
struct ForwardState {
    int contextSize = 0;
    int maxBatch = 0;
    std::unique_ptr<Buffer> kvBuffer;
    std::unique_ptr<Buffer> actBuffer;
    std::vector<Tensor> kCache, vCache;  // per layer (headDim, kvHeads, contextSize)
    Tensor ids, positions;               // I32 (maxBatch): inputs of the step
    Tensor x;                            // residual stream (hidden, maxBatch)
    Tensor h;                            // normed input of a block (hidden, maxBatch)
    Tensor q, k, v;                      // (headDim, heads | kvHeads, maxBatch)
    Tensor att;                          // attention output (headDim, heads, maxBatch)
    Tensor proj;                         // output of wo / wDown (hidden, maxBatch)
    Tensor gate, up;                     // (ffn, maxBatch)
    Tensor last;                         // normed last position (hidden)
    Tensor logits;                       // (vocab)
    Tensor next;                         // I32 (1): argmax of logits
};

// Called after each named step when set: ("attn_norm", layer, tensor). Debug dumps only; the
// callback may download the tensor (which synchronizes).
using IntermediateHook = std::function<void(std::string_view name, int layer, const Tensor& t, int n)>;

class ModelGraph {
public:
    // Reads the weights of `file` (already made device memory as `weights`, whose byte 0 is the
    // file's tensor data section). Throws EngineError naming a missing or misshapen tensor or an
    // unsupported architecture.
    static std::unique_ptr<ModelGraph> create(const ModelSpec& spec, const gguf::GgufFile& file,
                                              Backend& backend, Buffer& weights);
    virtual ~ModelGraph() = default;

    const ModelSpec& spec() const { return spec_; }
    const ModelWeights& weights() const { return w_; }
    RopeStyle ropeStyle() const { return rope_.style; }
    uint64_t weightBytes() const { return weightBytes_; }

    ForwardState makeState(int contextSize, int maxBatch, DType kvType) const;
    static uint64_t kvBytes(const ModelSpec& spec, int contextSize, DType kvType);
    static uint64_t activationBytes(const ModelSpec& spec, int maxBatch);

    // Enqueues the pass over n tokens whose ids/positions are in st.ids/st.positions; leaves the
    // last position's logits in st.logits and their argmax in st.next.
    void forward(ForwardState& st, int n) const;

    // Debug dumps only: the hook changes no result, so it may be set on a shared (const) graph;
    // it must not be changed while a session runs.
    void setIntermediateHook(IntermediateHook hook) const { hook_ = std::move(hook); }

protected:
    ModelGraph(const ModelSpec& spec, Backend& backend, RopeStyle style);
    // Reads the tensors every family shares; families add theirs in loadLayerExtras.
    void load(const gguf::GgufFile& file, Buffer& weights);
    virtual void loadLayerExtras(int /*layer*/, LayerWeights& /*lw*/) {}
    // Between the q/k/v projections and RoPE (qwen3 normalizes q and k per head here).
    virtual void afterQkv(const ForwardState& /*st*/, const LayerWeights& /*lw*/, int /*layer*/, int /*n*/) const {}

    Tensor required(const std::string& name, std::vector<int64_t> shape) const;
    Tensor optional(const std::string& name, std::vector<int64_t> shape) const;
    void named(std::string_view name, int layer, const Tensor& t, int n) const {
        if (hook_) hook_(name, layer, t, n);
    }

    ModelSpec spec_;
    Backend& be_;
    ModelWeights w_;
    RopeParams rope_;

private:
    void attentionBlock(ForwardState& st, const LayerWeights& lw, int layer, int n) const;
    void feedForwardBlock(ForwardState& st, const LayerWeights& lw, int layer, int n) const;
    void setUpRope();

    const gguf::GgufFile* file_ = nullptr;  // only during load()
    Buffer* weightBuffer_ = nullptr;
    std::unique_ptr<Buffer> ropeFreqBuffer_;  // llama3 factors computed here when the file has none
    uint64_t weightBytes_ = 0;
    mutable IntermediateHook hook_;
};

// One per family (llama_graph.cpp, qwen2_graph.cpp, qwen3_graph.cpp).
std::unique_ptr<ModelGraph> makeLlamaGraph(const ModelSpec& spec, Backend& backend);
std::unique_ptr<ModelGraph> makeQwen2Graph(const ModelSpec& spec, Backend& backend);
std::unique_ptr<ModelGraph> makeQwen3Graph(const ModelSpec& spec, Backend& backend);

// A view of the first n tokens of an activation tensor whose dimension `tokenDim` counts tokens
// (0 for ids/positions, 1 for (hidden, tokens), 2 for (headDim, heads, tokens)).
Tensor firstTokens(const Tensor& t, int tokenDim, int64_t n);

}  // namespace hearth
