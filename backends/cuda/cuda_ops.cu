// CudaBackend's ops: shape checks on the host, then one or two kernel launches each.
#include <algorithm>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/kernels.h"

namespace hearth::cuda {
namespace {

std::string shape(const Tensor& t) {
    return std::string(dtypeName(t.type)) + " {" + std::to_string(t.ne[0]) + ", " + std::to_string(t.ne[1]) + ", " +
           std::to_string(t.ne[2]) + ", " + std::to_string(t.ne[3]) + "}";
}

}  // namespace

#define HEARTH_REQUIRE(cond, what, detail)                 \
    do {                                                   \
        if (!(cond)) fail(std::string(what) + ": " + (detail)); \
    } while (0)

void CudaBackend::embed(const Tensor& out, const Tensor& table, const Tensor& ids) {
    HEARTH_REQUIRE(supportsWeightType(table.type), "embed", "unsupported table type " + shape(table));
    int64_t dim = table.ne[0], vocab = table.rows(), n = ids.elements();
    HEARTH_REQUIRE(ids.type == DType::I32, "embed", "ids must be i32, got " + shape(ids));
    HEARTH_REQUIRE(out.type == DType::F32 && out.ne[0] == dim && out.rows() == n, "embed",
                   "out " + shape(out) + " does not match table " + shape(table) + " and " + std::to_string(n) + " ids");
    if (n == 0) return;
    cuda::embed(table.type, ptr<uint8_t>(table, "embed"), dim, vocab, ptr<int32_t>(ids, "embed"), n,
                ptr<float>(out, "embed"), stream_);
    afterLaunch("embed");
}

void CudaBackend::matmulOne(const Tensor& x, const Projection& p, const void* xq) {
    int64_t k = x.ne[0], n = x.rows(), rows = p.weight.rows();
    const auto* w = ptr<uint8_t>(p.weight, "matmul");
    auto* out = ptr<float>(p.out, "matmul");
    const float* bias = p.bias.valid() ? ptr<float>(p.bias, "matmul bias") : nullptr;
    const auto* xs = ptr<float>(x, "matmul");
    DType type = p.weight.type;
    // The 16-byte loads of the K-quant mat-vec need aligned rows; the tiled path reads bytes.
    bool aligned = reinterpret_cast<uintptr_t>(w) % 16 == 0;
    bool tiled = matMulTiledSupports(type) && k % 32 == 0 && (n > kMatVecMaxCols || !aligned);
    if (tiled) {
        matMulTiled(type, w, k, rows, xs, n, out, bias, stream_);
        return;
    }
    for (int64_t c0 = 0; c0 < n; c0 += kMatVecMaxCols) {
        int64_t cols = std::min<int64_t>(kMatVecMaxCols, n - c0);
        const void* q = xq ? static_cast<const char*>(xq) + q8_1Bytes(k, c0) : nullptr;
        matVec(type, w, k, rows, xs + c0 * k, q, cols, out + c0 * rows, bias, stream_);
    }
}

void CudaBackend::matmul(const Tensor& x, std::span<const Projection> projections) {
    HEARTH_REQUIRE(x.type == DType::F32, "matmul", "x must be f32, got " + shape(x));
    int64_t k = x.ne[0], n = x.rows();
    bool needQ8 = false;
    for (const Projection& p : projections) {
        HEARTH_REQUIRE(supportsWeightType(p.weight.type), "matmul", "unsupported weight type " + shape(p.weight));
        HEARTH_REQUIRE(p.weight.ne[0] == k, "matmul", "weight " + shape(p.weight) + " does not match x " + shape(x));
        HEARTH_REQUIRE(p.out.type == DType::F32 && p.out.elements() == p.weight.rows() * n, "matmul",
                       "out " + shape(p.out) + " does not match weight " + shape(p.weight) + " times x " + shape(x));
        HEARTH_REQUIRE(!p.bias.valid() || (p.bias.type == DType::F32 && p.bias.elements() == p.weight.rows()),
                       "matmul", "bias " + shape(p.bias) + " does not match weight " + shape(p.weight));
        needQ8 = needQ8 || matVecUsesQ8_1(p.weight.type);
    }
    if (n == 0 || projections.empty()) return;
    // One quantization of x serves every projection of this call (q/k/v, gate/up).
    void* xq = nullptr;
    if (needQ8 && k % 32 == 0) {
        xq = scratch(kScratchQ8, q8_1Bytes(k, n));
        quantizeQ8_1(ptr<float>(x, "matmul"), xq, k, n, stream_);
    }
    for (const Projection& p : projections) matmulOne(x, p, xq);
    afterLaunch("matmul");
}

void CudaBackend::rmsNorm(const Tensor& out, const Tensor& x, const Tensor& weight, float eps) {
    int64_t d = x.ne[0];
    HEARTH_REQUIRE(x.type == DType::F32 && out.type == DType::F32 && out.elements() == x.elements(), "rmsNorm",
                   "out " + shape(out) + " does not match x " + shape(x));
    HEARTH_REQUIRE(weight.type == DType::F32 && weight.elements() == d, "rmsNorm",
                   "weight " + shape(weight) + " does not match rows of " + std::to_string(d));
    if (x.elements() == 0) return;
    cuda::rmsNorm(ptr<float>(out, "rmsNorm"), ptr<float>(x, "rmsNorm"), ptr<float>(weight, "rmsNorm"), d, x.rows(),
                  eps, stream_);
    afterLaunch("rmsNorm");
}

void CudaBackend::rope(const Tensor& x, const Tensor& positions, const RopeParams& params) {
    HEARTH_REQUIRE(x.type == DType::F32, "rope", "x must be f32, got " + shape(x));
    int64_t headDim = x.ne[0], heads = x.ne[1], n = x.ne[2] * x.ne[3];
    HEARTH_REQUIRE(positions.type == DType::I32 && positions.elements() == n, "rope",
                   "positions " + shape(positions) + " do not match x " + shape(x));
    HEARTH_REQUIRE(params.rotaryDims > 0 && params.rotaryDims % 2 == 0 && params.rotaryDims <= headDim, "rope",
                   "rotary dimensions " + std::to_string(params.rotaryDims) + " must be even and at most " +
                       std::to_string(headDim));
    const float* factors = nullptr;
    if (params.freqFactors.valid()) {
        HEARTH_REQUIRE(params.freqFactors.type == DType::F32 && params.freqFactors.elements() >= params.rotaryDims / 2,
                       "rope", "frequency factors " + shape(params.freqFactors) + " are too short");
        factors = ptr<float>(params.freqFactors, "rope");
    }
    if (n == 0) return;
    RopeArgs args{headDim, heads, n, params.rotaryDims, params.style == RopeStyle::Neox, params.theta,
                  params.positionScale, factors};
    cuda::rope(ptr<float>(x, "rope"), ptr<int32_t>(positions, "rope"), args, stream_);
    afterLaunch("rope");
}

void CudaBackend::storeKv(const Tensor& kCache, const Tensor& vCache, const Tensor& k, const Tensor& v,
                          const Tensor& positions) {
    bool f16 = kCache.type == DType::F16;
    HEARTH_REQUIRE((f16 || kCache.type == DType::F32) && vCache.type == kCache.type, "storeKv",
                   "caches must both be f16 or f32, got " + shape(kCache) + " and " + shape(vCache));
    int64_t rowElems = kCache.ne[0] * kCache.ne[1], ctx = kCache.ne[2];
    int64_t n = k.ne[2] * k.ne[3];
    HEARTH_REQUIRE(vCache.ne[0] * vCache.ne[1] == rowElems && vCache.ne[2] == ctx, "storeKv",
                   "v cache " + shape(vCache) + " differs from k cache " + shape(kCache));
    HEARTH_REQUIRE(k.type == DType::F32 && v.type == DType::F32 && k.ne[0] * k.ne[1] == rowElems &&
                       v.elements() == k.elements(), "storeKv",
                   "k " + shape(k) + " / v " + shape(v) + " do not match the cache " + shape(kCache));
    HEARTH_REQUIRE(positions.type == DType::I32 && positions.elements() == n, "storeKv",
                   "positions " + shape(positions) + " do not match " + std::to_string(n) + " tokens");
    if (n == 0) return;
    cuda::storeKv(ptr<void>(kCache, "storeKv"), ptr<void>(vCache, "storeKv"), f16, ptr<float>(k, "storeKv"),
                  ptr<float>(v, "storeKv"), ptr<int32_t>(positions, "storeKv"), rowElems, n, ctx, stream_);
    afterLaunch("storeKv");
}

void CudaBackend::attention(const Tensor& out, const Tensor& q, const Tensor& kCache, const Tensor& vCache,
                            const Tensor& positions, float scale) {
    int64_t headDim = q.ne[0], heads = q.ne[1], n = q.ne[2] * q.ne[3];
    int64_t kvHeads = kCache.ne[1], ctx = kCache.ne[2];
    bool f16 = kCache.type == DType::F16;
    HEARTH_REQUIRE(q.type == DType::F32 && out.type == DType::F32 && out.elements() == q.elements(), "attention",
                   "out " + shape(out) + " does not match q " + shape(q));
    HEARTH_REQUIRE((f16 || kCache.type == DType::F32) && vCache.type == kCache.type && kCache.ne[0] == headDim &&
                       vCache.ne[0] == headDim && vCache.ne[1] == kvHeads && vCache.ne[2] == ctx,
                   "attention", "caches " + shape(kCache) + " / " + shape(vCache) + " do not match q " + shape(q));
    HEARTH_REQUIRE(kvHeads > 0 && heads % kvHeads == 0, "attention",
                   std::to_string(heads) + " heads cannot share " + std::to_string(kvHeads) + " kv heads");
    HEARTH_REQUIRE(headDim % 2 == 0 && headDim <= 256, "attention",
                   "head size " + std::to_string(headDim) + " is not supported (even, at most 256)");
    HEARTH_REQUIRE(positions.type == DType::I32 && positions.elements() == n, "attention",
                   "positions " + shape(positions) + " do not match " + std::to_string(n) + " tokens");
    if (n == 0) return;
    AttentionArgs args{headDim, heads, kvHeads, n, ctx, scale, f16, attentionSplits(heads, n, ctx, multiprocessors_)};
    float* partials = nullptr;
    if (size_t floats = attentionPartialFloats(args)) {
        partials = static_cast<float*>(scratch(kScratchAttention, floats * sizeof(float)));
    }
    cuda::attention(ptr<float>(out, "attention"), ptr<float>(q, "attention"), ptr<void>(kCache, "attention"),
                    ptr<void>(vCache, "attention"), ptr<int32_t>(positions, "attention"), args, partials, stream_);
    afterLaunch("attention");
}

void CudaBackend::siluMul(const Tensor& out, const Tensor& gate, const Tensor& up) {
    HEARTH_REQUIRE(out.type == DType::F32 && gate.type == DType::F32 && up.type == DType::F32 &&
                       out.elements() == gate.elements() && up.elements() == gate.elements(),
                   "siluMul", "shapes differ: " + shape(out) + ", " + shape(gate) + ", " + shape(up));
    if (out.elements() == 0) return;
    cuda::siluMul(ptr<float>(out, "siluMul"), ptr<float>(gate, "siluMul"), ptr<float>(up, "siluMul"), out.elements(),
                  stream_);
    afterLaunch("siluMul");
}

void CudaBackend::add(const Tensor& out, const Tensor& a, const Tensor& b) {
    HEARTH_REQUIRE(out.type == DType::F32 && a.type == DType::F32 && b.type == DType::F32 &&
                       out.elements() == a.elements() && b.elements() == a.elements(),
                   "add", "shapes differ: " + shape(out) + ", " + shape(a) + ", " + shape(b));
    if (out.elements() == 0) return;
    cuda::add(ptr<float>(out, "add"), ptr<float>(a, "add"), ptr<float>(b, "add"), out.elements(), stream_);
    afterLaunch("add");
}

void CudaBackend::argmax(const Tensor& out, const Tensor& x) {
    HEARTH_REQUIRE(x.type == DType::F32 && out.type == DType::I32 && out.elements() == x.rows(), "argmax",
                   "out " + shape(out) + " does not match x " + shape(x));
    if (x.rows() == 0 || x.ne[0] == 0) return;
    cuda::argmax(ptr<int32_t>(out, "argmax"), ptr<float>(x, "argmax"), x.ne[0], x.rows(), stream_);
    afterLaunch("argmax");
}

}  // namespace hearth::cuda
