#include "inference/engine/model_graph.h"

#include <cmath>
#include <numbers>

#include "inference/engine/engine.h"
#include "models/formats/gguf.h"

namespace hearth {

namespace {

std::string shapeText(const int64_t* ne, size_t dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

size_t alignUp(size_t v, size_t a) { return (v + a - 1) / a * a; }

// llama3 rope scaling as per-dimension frequency divisors (what llama.cpp's converter stores in
// rope_freqs.weight); used when a file declares llama3 scaling without that tensor.
std::vector<float> llama3FreqFactors(const ModelSpec& s) {
    const auto& r = s.ropeScaling;
    double orig = r.originalContextLength ? r.originalContextLength : 8192;
    double lowWavelen = orig / r.lowFreqFactor, highWavelen = orig / r.highFreqFactor;
    std::vector<float> f(s.headDim / 2);
    for (size_t i = 0; i < f.size(); ++i) {
        double freq = std::pow(static_cast<double>(s.ropeTheta), -2.0 * static_cast<double>(i) / s.headDim);
        double wavelen = 2 * std::numbers::pi / freq;
        if (wavelen < highWavelen) {
            f[i] = 1.0f;
        } else if (wavelen > lowWavelen) {
            f[i] = r.factor;
        } else {
            double smooth = (orig / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
            f[i] = static_cast<float>(1.0 / ((1 - smooth) / r.factor + smooth));
        }
    }
    return f;
}

}  // namespace

Tensor firstTokens(const Tensor& t, int tokenDim, int64_t n) {
    Tensor v = t;
    v.ne[tokenDim] = n;
    return v;
}

ModelGraph::ModelGraph(const ModelSpec& spec, Backend& backend, RopeStyle style) : spec_(spec), be_(backend) {
    rope_.style = style;
}

std::unique_ptr<ModelGraph> ModelGraph::create(const ModelSpec& spec, const gguf::GgufFile& file, Backend& backend,
                                               Buffer& weights) {
    std::unique_ptr<ModelGraph> g;
    if (spec.architecture == "llama") g = makeLlamaGraph(spec, backend);
    else if (spec.architecture == "qwen2") g = makeQwen2Graph(spec, backend);
    else if (spec.architecture == "qwen3") g = makeQwen3Graph(spec, backend);
    else
        throw EngineError("unsupported architecture '" + spec.architecture +
                          "': Hearth runs llama (llama 2/3, mistral), qwen2 and qwen3 models");
    g->load(file, weights);
    return g;
}

Tensor ModelGraph::optional(const std::string& name, std::vector<int64_t> shape) const {
    const gguf::TensorInfo* info = file_->tensor(name);
    if (!info) return {};
    int64_t want[4] = {1, 1, 1, 1}, got[4] = {1, 1, 1, 1};
    for (size_t i = 0; i < shape.size(); ++i) want[i] = shape[i];
    for (size_t i = 0; i < info->shape.size() && i < 4; ++i) got[i] = static_cast<int64_t>(info->shape[i]);
    for (int i = 0; i < 4; ++i) {
        if (want[i] != got[i])
            throw EngineError(file_->path().string() + ": tensor " + name + " has shape " +
                              shapeText(got, info->shape.size()) + ", expected " + shapeText(want, shape.size()) +
                              " from the model's hyper-parameters");
    }
    if (!be_.supportsWeightType(info->type))
        throw EngineError(file_->path().string() + ": tensor " + name + " is " + std::string(dtypeName(info->type)) +
                          ", which the " + be_.device().backend + " backend cannot run");
    Tensor t;
    t.buffer = weightBuffer_;
    t.offset = static_cast<size_t>(info->data - (file_->mappedData() + file_->dataOffset()));
    t.type = info->type;
    for (int i = 0; i < 4; ++i) t.ne[i] = got[i];
    return t;
}

Tensor ModelGraph::required(const std::string& name, std::vector<int64_t> shape) const {
    Tensor t = optional(name, shape);
    if (!t.valid())
        throw EngineError(file_->path().string() + ": tensor " + name + " is missing (incomplete or not a " +
                          spec_.architecture + " model)");
    return t;
}

void ModelGraph::load(const gguf::GgufFile& file, Buffer& weights) {
    file_ = &file;
    weightBuffer_ = &weights;
    const auto& s = spec_;
    const int64_t hidden = s.hiddenSize, qDim = int64_t{s.numHeads} * s.headDim,
                  kvDim = int64_t{s.numKvHeads} * s.headDim, ffn = s.ffnSize, vocab = s.vocabSize;
    if (s.numKvHeads == 0 || s.numHeads % s.numKvHeads != 0)
        throw EngineError(file.path().string() + ": " + std::to_string(s.numHeads) + " attention heads cannot be shared by " +
                          std::to_string(s.numKvHeads) + " key/value heads");
    w_.tokenEmbd = required("token_embd.weight", {hidden, vocab});
    w_.outputNorm = required("output_norm.weight", {hidden});
    w_.output = s.tiedEmbeddings ? w_.tokenEmbd : required("output.weight", {hidden, vocab});
    w_.ropeFreqs = optional("rope_freqs.weight", {s.headDim / 2});
    w_.layers.resize(s.numLayers);
    for (uint32_t l = 0; l < s.numLayers; ++l) {
        auto& lw = w_.layers[l];
        const std::string p = "blk." + std::to_string(l) + ".";
        lw.attnNorm = required(p + "attn_norm.weight", {hidden});
        lw.wq = required(p + "attn_q.weight", {hidden, qDim});
        lw.wk = required(p + "attn_k.weight", {hidden, kvDim});
        lw.wv = required(p + "attn_v.weight", {hidden, kvDim});
        lw.wo = required(p + "attn_output.weight", {qDim, hidden});
        lw.ffnNorm = required(p + "ffn_norm.weight", {hidden});
        lw.wGate = required(p + "ffn_gate.weight", {hidden, ffn});
        lw.wUp = required(p + "ffn_up.weight", {hidden, ffn});
        lw.wDown = required(p + "ffn_down.weight", {ffn, hidden});
        loadLayerExtras(static_cast<int>(l), lw);
    }
    for (const auto& t : file.tensors()) weightBytes_ += t.bytes;
    setUpRope();
    file_ = nullptr;
}

void ModelGraph::setUpRope() {
    const auto& s = spec_;
    rope_.rotaryDims = static_cast<int>(s.headDim);
    rope_.theta = s.ropeTheta;
    switch (s.ropeScaling.type) {
        case RopeScalingType::None: break;
        case RopeScalingType::Linear: rope_.positionScale = 1.0f / s.ropeScaling.factor; break;
        case RopeScalingType::Llama3:
            if (!w_.ropeFreqs.valid()) {
                auto f = llama3FreqFactors(s);
                ropeFreqBuffer_ = be_.allocate(f.size() * sizeof(float), BufferUsage::Weights);
                Tensor t;
                t.buffer = ropeFreqBuffer_.get();
                t.ne[0] = static_cast<int64_t>(f.size());
                be_.upload(t, f.data(), f.size() * sizeof(float));
                w_.ropeFreqs = t;
            }
            break;
        case RopeScalingType::Yarn:
            throw EngineError("YaRN rope scaling is not supported yet (model " + s.name + ")");
    }
    rope_.freqFactors = w_.ropeFreqs;
}

uint64_t ModelGraph::kvBytes(const ModelSpec& s, int contextSize, DType kvType) {
    uint64_t elt = kvType == DType::F32 ? 4 : 2;
    return 2ull * s.numLayers * s.numKvHeads * s.headDim * static_cast<uint64_t>(contextSize) * elt;
}

namespace {

// Lays out the activation tensors of one session in a single buffer.
struct Layout {
    size_t bytes = 0;
    Tensor add(DType type, int64_t n0, int64_t n1 = 1, int64_t n2 = 1) {
        Tensor t;
        t.offset = bytes;
        t.type = type;
        t.ne[0] = n0; t.ne[1] = n1; t.ne[2] = n2;
        bytes = alignUp(bytes + t.bytes(), 256);
        return t;
    }
};

Layout layoutActivations(const ModelSpec& s, int B, ForwardState* st) {
    Layout L;
    ForwardState tmp;
    ForwardState& f = st ? *st : tmp;
    const int64_t hd = s.headDim;
    f.ids = L.add(DType::I32, B);
    f.positions = L.add(DType::I32, B);
    f.x = L.add(DType::F32, s.hiddenSize, B);
    f.h = L.add(DType::F32, s.hiddenSize, B);
    f.q = L.add(DType::F32, hd, s.numHeads, B);
    f.k = L.add(DType::F32, hd, s.numKvHeads, B);
    f.v = L.add(DType::F32, hd, s.numKvHeads, B);
    f.att = L.add(DType::F32, hd, s.numHeads, B);
    f.proj = L.add(DType::F32, s.hiddenSize, B);
    f.gate = L.add(DType::F32, s.ffnSize, B);
    f.up = L.add(DType::F32, s.ffnSize, B);
    f.last = L.add(DType::F32, s.hiddenSize);
    f.logits = L.add(DType::F32, s.vocabSize);
    f.next = L.add(DType::I32, 1);
    return L;
}

}  // namespace

uint64_t ModelGraph::activationBytes(const ModelSpec& s, int maxBatch) {
    return layoutActivations(s, maxBatch, nullptr).bytes;
}

ForwardState ModelGraph::makeState(int contextSize, int maxBatch, DType kvType) const {
    const auto& s = spec_;
    if (kvType != DType::F16 && kvType != DType::F32)
        throw EngineError("the KV cache can be f16 or f32, not " + std::string(dtypeName(kvType)));
    ForwardState st;
    st.contextSize = contextSize;
    st.maxBatch = maxBatch;
    Layout L = layoutActivations(s, maxBatch, &st);
    st.actBuffer = be_.allocate(L.bytes, BufferUsage::Activations);
    for (Tensor* t : {&st.ids, &st.positions, &st.x, &st.h, &st.q, &st.k, &st.v, &st.att, &st.proj, &st.gate,
                      &st.up, &st.last, &st.logits, &st.next})
        t->buffer = st.actBuffer.get();

    st.kvBuffer = be_.allocate(kvBytes(s, contextSize, kvType), BufferUsage::KvCache);
    size_t offset = 0;
    for (uint32_t l = 0; l < s.numLayers; ++l) {
        for (auto* cache : {&st.kCache, &st.vCache}) {
            Tensor t;
            t.buffer = st.kvBuffer.get();
            t.offset = offset;
            t.type = kvType;
            t.ne[0] = s.headDim; t.ne[1] = s.numKvHeads; t.ne[2] = contextSize;
            offset += t.bytes();
            cache->push_back(t);
        }
    }
    return st;
}

void ModelGraph::forward(ForwardState& st, int n) const {
    const float eps = spec_.normEps;
    Tensor x = firstTokens(st.x, 1, n);
    be_.embed(x, w_.tokenEmbd, firstTokens(st.ids, 0, n));
    named("token_embd", -1, x, n);
    for (size_t l = 0; l < w_.layers.size(); ++l) {
        attentionBlock(st, w_.layers[l], static_cast<int>(l), n);
        feedForwardBlock(st, w_.layers[l], static_cast<int>(l), n);
    }
    // Only the last position's logits are needed: next-token prediction.
    Tensor lastRow = st.x.rowRange(n - 1, 1).reshaped(spec_.hiddenSize);
    Tensor last = st.last.reshaped(spec_.hiddenSize, 1);
    be_.rmsNorm(last, lastRow.reshaped(spec_.hiddenSize, 1), w_.outputNorm, eps);
    named("output_norm", -1, last, 1);
    Projection out{st.logits.reshaped(spec_.vocabSize, 1), w_.output, {}};
    be_.matmul(last, {&out, 1});
    named("logits", -1, st.logits, 1);
    be_.argmax(st.next, st.logits.reshaped(spec_.vocabSize, 1));
}

void ModelGraph::attentionBlock(ForwardState& st, const LayerWeights& lw, int layer, int n) const {
    const auto& s = spec_;
    Tensor x = firstTokens(st.x, 1, n), h = firstTokens(st.h, 1, n), pos = firstTokens(st.positions, 0, n);
    Tensor q = firstTokens(st.q, 2, n), k = firstTokens(st.k, 2, n), v = firstTokens(st.v, 2, n);
    const int64_t qDim = int64_t{s.numHeads} * s.headDim, kvDim = int64_t{s.numKvHeads} * s.headDim;

    be_.rmsNorm(h, x, lw.attnNorm, s.normEps);
    named("attn_norm", layer, h, n);
    Projection qkv[3] = {{q.reshaped(qDim, n), lw.wq, lw.bq},
                         {k.reshaped(kvDim, n), lw.wk, lw.bk},
                         {v.reshaped(kvDim, n), lw.wv, lw.bv}};
    be_.matmul(h, qkv);
    afterQkv(st, lw, layer, n);
    be_.rope(q, pos, rope_);
    be_.rope(k, pos, rope_);
    named("q_rope", layer, q, n);
    named("k_rope", layer, k, n);
    be_.storeKv(st.kCache[static_cast<size_t>(layer)], st.vCache[static_cast<size_t>(layer)], k, v, pos);
    Tensor att = firstTokens(st.att, 2, n);
    be_.attention(att, q, st.kCache[static_cast<size_t>(layer)], st.vCache[static_cast<size_t>(layer)], pos,
                  1.0f / std::sqrt(static_cast<float>(s.headDim)));
    named("attn_out", layer, att, n);
    Tensor proj = firstTokens(st.proj, 1, n);
    Projection o{proj, lw.wo, {}};
    be_.matmul(att.reshaped(qDim, n), {&o, 1});
    be_.add(x, x, proj);
    named("attn_residual", layer, x, n);
}

void ModelGraph::feedForwardBlock(ForwardState& st, const LayerWeights& lw, int layer, int n) const {
    const auto& s = spec_;
    Tensor x = firstTokens(st.x, 1, n), h = firstTokens(st.h, 1, n);
    Tensor gate = firstTokens(st.gate, 1, n), up = firstTokens(st.up, 1, n), proj = firstTokens(st.proj, 1, n);
    be_.rmsNorm(h, x, lw.ffnNorm, s.normEps);
    named("ffn_norm", layer, h, n);
    Projection gu[2] = {{gate, lw.wGate, {}}, {up, lw.wUp, {}}};
    be_.matmul(h, gu);
    be_.siluMul(gate, gate, up);
    named("ffn_act", layer, gate, n);
    Projection down{proj, lw.wDown, {}};
    be_.matmul(gate, {&down, 1});
    be_.add(x, x, proj);
    named("ffn_residual", layer, x, n);
}

}  // namespace hearth
