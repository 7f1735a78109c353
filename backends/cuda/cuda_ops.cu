// CudaBackend's ops: shape checks on the host, then one or two kernel launches each.
#include <algorithm>
#include <cstdlib>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/prefill_kernels.h"

namespace hearth::cuda {
namespace {

std::string shape(const Tensor& t) {
    return std::string(dtypeName(t.type)) + " {" + std::to_string(t.ne[0]) + ", " + std::to_string(t.ne[1]) + ", " +
           std::to_string(t.ne[2]) + ", " + std::to_string(t.ne[3]) + "}";
}

// Whether two views name the same memory with the same element count (an op's output reused as
// the next op's input).
bool same(const Tensor& a, const Tensor& b) {
    return a.buffer == b.buffer && a.offset == b.offset && a.type == b.type && a.elements() == b.elements();
}

bool sameRope(const RopeParams& a, const RopeParams& b) {
    return a.style == b.style && a.rotaryDims == b.rotaryDims && a.theta == b.theta &&
           a.positionScale == b.positionScale && a.freqFactors.buffer == b.freqFactors.buffer &&
           a.freqFactors.offset == b.freqFactors.offset;
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
    flush();
    if (n == 0) return;
    cuda::embed(storedType(table, "embed"), ptr<uint8_t>(table, "embed"), dim, vocab, ptr<int32_t>(ids, "embed"), n,
                ptr<float>(out, "embed"), stream_);
    afterLaunch("embed");
}

void CudaBackend::launchPrep(Prep mode, const Tensor& a, const Tensor* b, const Tensor* sum, const Tensor* out,
                             const Tensor* weight, float eps, int64_t k, int64_t n, const Q8Buffer& q8) {
    auto opt = [&](const Tensor* t) { return t && t->valid() ? ptr<float>(*t, "activation") : nullptr; };
    PrepArgs args{mode, k, n, ptr<float>(a, "activation"), opt(b), opt(sum), opt(out), opt(weight), eps, q8};
    prepareActivation(args, stream_);
    afterLaunch("preparing a matmul input");
}

void CudaBackend::flush() {
    if (pending_.ropes > 0) {
        launchRopes(false, nullptr, nullptr, nullptr);
        return;
    }
    Pending p = std::exchange(pending_, Pending{});
    if (p.attention) {
        cuda::attention(p.attOut, p.attQ, p.attK, p.attV, p.attPos, p.attArgs, p.attPartials, stream_);
        afterLaunch("attention");
    }
    if (p.matVec) {
        matVec(p.mvType, &p.mvJob, 1, p.mvK, p.mvX, p.mvXq, p.mvN, stream_);
        afterLaunch("matmul");
    }
    if (p.add) {
        cuda::add(ptr<float>(p.out, "add"), ptr<float>(p.a, "add"), ptr<float>(p.b, "add"), p.out.elements(), stream_);
        afterLaunch("add");
    }
    if (p.prep) {
        int64_t k = p.out.ne[0], n = p.out.elements() / k;
        launchPrep(p.mode, p.a, &p.b, &p.sum, &p.out, &p.weight, p.eps, k, n, Q8Buffer{});
    }
}

void CudaBackend::launchRopes(bool store, const Tensor* kCache, const Tensor* vCache, const Tensor* v) {
    Pending p = std::exchange(pending_, Pending{});
    const RopeParams& r = p.rope;
    RopeArgs args{p.q.ne[0], p.q.ne[1], p.q.ne[2] * p.q.ne[3], r.rotaryDims, r.style == RopeStyle::Neox, r.theta,
                  r.positionScale, r.freqFactors.valid() ? ptr<float>(r.freqFactors, "rope") : nullptr};
    const auto* pos = ptr<int32_t>(p.positions, "rope");
    if (p.ropes == 1) {
        cuda::rope(ptr<float>(p.q, "rope"), pos, args, stream_);
    } else {
        RopeStoreArgs s{args, ptr<float>(p.q, "rope"), ptr<float>(p.k, "rope"), p.k.ne[1],
                        store ? ptr<void>(*kCache, "storeKv") : nullptr, store ? ptr<void>(*vCache, "storeKv") : nullptr,
                        store ? ptr<float>(*v, "storeKv") : nullptr, store && kCache->type == DType::F16,
                        store ? kCache->ne[2] : 0};
        ropeStore(pos, s, stream_);
    }
    afterLaunch("rope");
}

// Prefill through the vendor BLAS: x converted to half once for every projection of the call,
// each weight dequantized to half into scratch (or its opt-in half copy, HEARTH_CUDA_F16_WEIGHTS).
// With launch false, only whether it applies: every projection's type, k % 32 == 0, the library
// present, not capturing a graph. `prep`: the op that produces x, held back to be run here.
bool CudaBackend::matmulBlas(const Tensor& x, std::span<const Projection> projections, const PrepArgs* prep,
                             bool launch) {
    int64_t k = x.ne[0], n = x.rows();
    // Float weights keep float accuracy: x = hi + lo, two products. Quantized weights swamp lo.
    bool split = false;
    for (const Projection& p : projections) {
        if (p.weight.type == DType::F32) return false;
        split = split || p.weight.type == DType::F16 || p.weight.type == DType::BF16;
    }
    if (capturing_ || k % 32 != 0 || !blas_.available(stream_)) return false;
    if (!launch) return true;
    size_t xElems = static_cast<size_t>(k * n);
    auto* xHalf = static_cast<char*>(scratch(kScratchXHalf, xElems * 2 * (split ? 2 : 1)));
    char* xLo = split ? xHalf + xElems * 2 : nullptr;
    if (!prep || !prepareHalf(*prep, xHalf, xLo, stream_)) {
        if (prep) prepareActivation(*prep, stream_);
        splitToHalf(ptr<float>(x, "matmul"), static_cast<int64_t>(xElems), xHalf, xLo, stream_);
    }
    for (const Projection& p : projections) {
        int64_t rows = p.weight.rows();
        DType type = storedType(p.weight, "matmul");
        const auto* w = ptr<uint8_t>(p.weight, "matmul");
        const void* wHalf = type == DType::F16 ? w : blas_.halfWeights(type, w, k, rows, stream_);
        if (!wHalf) {
            void* dst = scratch(kScratchWeightHalf, static_cast<size_t>(k * rows) * 2);
            dequantizeToHalf(type, w, k, rows, dst, stream_);
            wHalf = dst;
        }
        bool twice = type == DType::F16 || type == DType::BF16;
        auto* out = ptr<float>(p.out, "matmul");
        const float* bias = p.bias.valid() ? ptr<float>(p.bias, "matmul bias") : nullptr;
        if (!blas_.gemm(k, rows, n, wHalf, xHalf, out, false) ||
            (twice && !blas_.gemm(k, rows, n, wHalf, xHalf + xElems * 2, out, true))) {
            matMulTiled(type, w, k, rows, ptr<float>(x, "matmul"), n, out, bias, stream_);  // the library failed
            continue;
        }
        if (bias) addBias(out, bias, rows, n, stream_);
    }
    return true;
}

void CudaBackend::matmulTiledOrChunked(const Tensor& x, const Projection& p, const Q8Buffer& xq) {
    int64_t k = x.ne[0], n = x.rows(), rows = p.weight.rows();
    const auto* w = ptr<uint8_t>(p.weight, "matmul");
    auto* out = ptr<float>(p.out, "matmul");
    const float* bias = p.bias.valid() ? ptr<float>(p.bias, "matmul bias") : nullptr;
    const auto* xs = ptr<float>(x, "matmul");
    DType type = storedType(p.weight, "matmul");
    if (matMulTiledSupports(type) && k % 32 == 0) {
        matMulTiled(type, w, k, rows, xs, n, out, bias, stream_);
        return;
    }
    for (int64_t c0 = 0; c0 < n; c0 += kMatVecMaxCols) {
        int64_t cols = std::min<int64_t>(kMatVecMaxCols, n - c0);
        MatVecJob job{w, rows, out + c0 * rows, bias};
        matVec(type, &job, 1, k, xs + c0 * k, xq.qs ? xq.column(c0, k) : Q8Buffer{}, cols, stream_);
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
    // Prefill through the BLAS reads x as half: no q8 form needed.
    bool blas = n > kMatVecMaxCols && matmulBlas(x, projections, nullptr, false);
    needQ8 = needQ8 && k % 32 == 0 && !blas;
    // One preparation of x serves every projection of this call (q/k/v, gate/up); it also runs
    // the norm / SiLU that produced x, if that was held back.
    Q8Buffer xq = needQ8 ? q8Layout(scratch(kScratchQ8, q8_1Bytes(k, n)), k, n) : Q8Buffer{};
    if (pending_.attention && same(pending_.attOutTensor, x) &&
        k == pending_.attArgs.heads * pending_.attArgs.headDim && n == pending_.attArgs.n) {
        Pending p = std::exchange(pending_, Pending{});
        bool quantized = cuda::attention(p.attOut, p.attQ, p.attK, p.attV, p.attPos, p.attArgs, p.attPartials,
                                         stream_, xq);
        afterLaunch("attention");
        if (xq.qs && !quantized) launchPrep(Prep::Quantize, x, nullptr, nullptr, nullptr, nullptr, 0.0f, k, n, xq);
    } else if (pending_.prep && same(pending_.out, x) && pending_.out.ne[0] == k) {
        Pending p = std::exchange(pending_, Pending{});
        if (blas) {  // the prep also makes the half input
            auto opt = [&](const Tensor& t) { return t.valid() ? ptr<float>(t, "activation") : nullptr; };
            PrepArgs args{p.mode, k, n, ptr<float>(p.a, "activation"), opt(p.b), opt(p.sum), opt(p.out),
                          opt(p.weight), p.eps, Q8Buffer{}};
            matmulBlas(x, projections, &args, true);
            afterLaunch("matmul");
            return;
        }
        launchPrep(p.mode, p.a, &p.b, &p.sum, &p.out, &p.weight, p.eps, k, n, xq);
    } else {
        flush();
        if (n == 0 || projections.empty()) return;
        if (xq.qs) launchPrep(Prep::Quantize, x, nullptr, nullptr, nullptr, nullptr, 0.0f, k, n, xq);
    }
    if (n == 0 || projections.empty()) return;
    if (blas && matmulBlas(x, projections, nullptr, true)) {
        afterLaunch("matmul");
        return;
    }
    // Mat-vec launches group projections of one type (q/k/v, gate/up); the tiled path and the
    // odd cases (unaligned K-quant rows, more columns than a mat-vec takes) go one by one.
    std::vector<const Projection*> rest;
    for (size_t i = 0; i < projections.size(); ++i) {
        const Projection& p = projections[i];
        bool aligned = reinterpret_cast<uintptr_t>(ptr<uint8_t>(p.weight, "matmul")) % 16 == 0;
        if (n > kMatVecMaxCols || (!aligned && matMulTiledSupports(p.weight.type) && k % 32 == 0)) {
            rest.push_back(&p);
        }
    }
    std::vector<bool> done(projections.size(), false);
    for (const Projection* p : rest) {
        matmulTiledOrChunked(x, *p, xq);
        done[static_cast<size_t>(p - projections.data())] = true;
    }
    for (size_t i = 0; i < projections.size(); ++i) {
        if (done[i]) continue;
        MatVecJob jobs[kMatVecMaxJobs];
        int count = 0;
        DType type = storedType(projections[i].weight, "matmul");
        for (size_t j = i; j < projections.size() && count < kMatVecMaxJobs; ++j) {
            const Projection& p = projections[j];
            if (done[j] || storedType(p.weight, "matmul") != type) continue;
            jobs[count++] = {ptr<uint8_t>(p.weight, "matmul"), p.weight.rows(), ptr<float>(p.out, "matmul"),
                             p.bias.valid() ? ptr<float>(p.bias, "matmul bias") : nullptr};
            done[j] = true;
        }
        if (fuse_ && count == 1 && projections.size() == 1) {  // held for a residual add
            pending_.matVec = true;
            pending_.mvType = type;
            pending_.mvJob = jobs[0];
            pending_.mvK = k;
            pending_.mvN = n;
            pending_.mvX = ptr<float>(x, "matmul");
            pending_.mvXq = xq;
            pending_.mvIn = x;
            pending_.mvOut = projections[0].out;
            return;
        }
        matVec(type, jobs, count, k, ptr<float>(x, "matmul"), xq, n, stream_);
    }
    afterLaunch("matmul");
}

// add(out, a, b) right after a held mat-vec that wrote one of a / b: the mat-vec adds the other
// operand in its epilogue. Only when out is the other operand itself or lies apart from it, and
// apart from the mat-vec's input and output (every warp reads the input; out is written per row).
bool CudaBackend::fuseResidualAdd(const Tensor& out, const Tensor& a, const Tensor& b) {
    if (!pending_.matVec) return false;
    const Tensor& mv = pending_.mvOut;
    const Tensor* other = same(b, mv) ? &a : same(a, mv) ? &b : nullptr;
    if (!other) return false;
    auto overlaps = [](const Tensor& u, const Tensor& v) {
        return u.buffer == v.buffer && u.offset < v.offset + v.bytes() && v.offset < u.offset + u.bytes();
    };
    if ((!same(out, *other) && overlaps(out, *other)) || overlaps(out, pending_.mvIn) || overlaps(out, mv)) {
        return false;
    }
    Pending p = std::exchange(pending_, Pending{});
    p.mvJob.sum = ptr<float>(out, "add");
    p.mvJob.addend = ptr<float>(*other, "add");
    matVec(p.mvType, &p.mvJob, 1, p.mvK, p.mvX, p.mvXq, p.mvN, stream_);
    afterLaunch("matmul + add");
    return true;
}

void CudaBackend::rmsNorm(const Tensor& out, const Tensor& x, const Tensor& weight, float eps) {
    int64_t d = x.ne[0];
    HEARTH_REQUIRE(x.type == DType::F32 && out.type == DType::F32 && out.elements() == x.elements(), "rmsNorm",
                   "out " + shape(out) + " does not match x " + shape(x));
    HEARTH_REQUIRE(weight.type == DType::F32 && weight.elements() == d, "rmsNorm",
                   "weight " + shape(weight) + " does not match rows of " + std::to_string(d));
    (void)ptr<float>(out, "rmsNorm");
    (void)ptr<float>(x, "rmsNorm");
    (void)ptr<float>(weight, "rmsNorm");
    bool fusable = fuse_ && d % 32 == 0 && out.ne[0] == d;
    if (fusable && pending_.add && same(pending_.out, x)) {  // the residual add that produced x
        Pending p = std::exchange(pending_, Pending{});
        pending_.prep = true;
        pending_.mode = Prep::AddNorm;
        pending_.a = p.a;
        pending_.b = p.b;
        pending_.sum = x;
        pending_.out = out;
        pending_.weight = weight;
        pending_.eps = eps;
        return;
    }
    flush();
    if (x.elements() == 0) return;
    if (fusable) {
        pending_.prep = true;
        pending_.mode = Prep::Norm;
        pending_.a = x;
        pending_.out = out;
        pending_.weight = weight;
        pending_.eps = eps;
        return;
    }
    cuda::rmsNorm(ptr<float>(out, "rmsNorm"), ptr<float>(x, "rmsNorm"), ptr<float>(weight, "rmsNorm"), d, x.rows(),
                  eps, stream_);
    afterLaunch("rmsNorm");
}

void CudaBackend::rope(const Tensor& x, const Tensor& positions, const RopeParams& params) {
    HEARTH_REQUIRE(x.type == DType::F32, "rope", "x must be f32, got " + shape(x));
    int64_t headDim = x.ne[0], n = x.ne[2] * x.ne[3];
    HEARTH_REQUIRE(positions.type == DType::I32 && positions.elements() == n, "rope",
                   "positions " + shape(positions) + " do not match x " + shape(x));
    HEARTH_REQUIRE(params.rotaryDims > 0 && params.rotaryDims % 2 == 0 && params.rotaryDims <= headDim, "rope",
                   "rotary dimensions " + std::to_string(params.rotaryDims) + " must be even and at most " +
                       std::to_string(headDim));
    if (params.freqFactors.valid()) {
        HEARTH_REQUIRE(params.freqFactors.type == DType::F32 && params.freqFactors.elements() >= params.rotaryDims / 2,
                       "rope", "frequency factors " + shape(params.freqFactors) + " are too short");
        ptr<float>(params.freqFactors, "rope");
    }
    ptr<float>(x, "rope");
    ptr<int32_t>(positions, "rope");
    // rope(q) then rope(k) with the same positions: held as a pair (and maybe fused with storeKv).
    if (pending_.ropes == 1 && same(pending_.positions, positions) && sameRope(pending_.rope, params) &&
        pending_.q.ne[0] == headDim && !same(pending_.q, x)) {
        pending_.ropes = 2;
        pending_.k = x;
        return;
    }
    flush();
    if (n == 0) return;
    pending_.ropes = 1;
    pending_.q = x;
    pending_.positions = positions;
    pending_.rope = params;
    if (!fuse_) flush();
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
    if (pending_.ropes == 2 && same(pending_.k, k) && same(pending_.positions, positions) &&
        k.ne[0] == kCache.ne[0] && k.ne[1] == kCache.ne[1] && !same(pending_.q, v) && !same(pending_.k, v)) {
        launchRopes(true, &kCache, &vCache, &v);
        return;
    }
    flush();
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
    flush();
    if (n == 0) return;
    AttentionArgs args{headDim, heads, kvHeads, n, ctx, scale, f16, attentionSplits(heads, kvHeads, n, ctx, multiprocessors_)};
    // Prefill: the tiled tensor-core kernel (sm_80+; "gfx..." names of AMD chips read as 0).
    if (n > 1 && std::atoi(info_.computeCapability.c_str()) >= 8 &&
        attentionPrefill(ptr<float>(out, "attention"), ptr<float>(q, "attention"), ptr<void>(kCache, "attention"),
                         ptr<void>(vCache, "attention"), ptr<int32_t>(positions, "attention"), args, stream_)) {
        afterLaunch("attention");
        return;
    }
    float* partials = nullptr;
    if (size_t floats = attentionPartialFloats(args)) {
        partials = static_cast<float*>(scratch(kScratchAttention, floats * sizeof(float)));
    }
    auto* o = ptr<float>(out, "attention");
    const auto* qp = ptr<float>(q, "attention");
    const void *kp = ptr<void>(kCache, "attention"), *vp = ptr<void>(vCache, "attention");
    const auto* pp = ptr<int32_t>(positions, "attention");
    if (fuse_ && args.splits > 1 && headDim % 32 == 0) {  // held: the next matmul may take q8 from it
        pending_.attention = true;
        pending_.attArgs = args;
        pending_.attOut = o;
        pending_.attPartials = partials;
        pending_.attQ = qp;
        pending_.attK = kp;
        pending_.attV = vp;
        pending_.attPos = pp;
        pending_.attOutTensor = out;
        return;
    }
    cuda::attention(o, qp, kp, vp, pp, args, partials, stream_);
    afterLaunch("attention");
}

void CudaBackend::siluMul(const Tensor& out, const Tensor& gate, const Tensor& up) {
    HEARTH_REQUIRE(out.type == DType::F32 && gate.type == DType::F32 && up.type == DType::F32 &&
                       out.elements() == gate.elements() && up.elements() == gate.elements(),
                   "siluMul", "shapes differ: " + shape(out) + ", " + shape(gate) + ", " + shape(up));
    (void)ptr<float>(out, "siluMul");
    (void)ptr<float>(gate, "siluMul");
    (void)ptr<float>(up, "siluMul");
    flush();
    if (out.elements() == 0) return;
    if (fuse_ && out.ne[0] % 32 == 0 && out.ne[0] == gate.ne[0]) {  // held for the down projection
        pending_.prep = true;
        pending_.mode = Prep::Silu;
        pending_.a = gate;
        pending_.b = up;
        pending_.out = out;
        return;
    }
    cuda::siluMul(ptr<float>(out, "siluMul"), ptr<float>(gate, "siluMul"), ptr<float>(up, "siluMul"), out.elements(),
                  stream_);
    afterLaunch("siluMul");
}

void CudaBackend::add(const Tensor& out, const Tensor& a, const Tensor& b) {
    HEARTH_REQUIRE(out.type == DType::F32 && a.type == DType::F32 && b.type == DType::F32 &&
                       out.elements() == a.elements() && b.elements() == a.elements(),
                   "add", "shapes differ: " + shape(out) + ", " + shape(a) + ", " + shape(b));
    (void)ptr<float>(out, "add");
    (void)ptr<float>(a, "add");
    (void)ptr<float>(b, "add");
    if (fuseResidualAdd(out, a, b)) return;
    flush();
    if (out.elements() == 0) return;
    if (!fuse_) {
        cuda::add(ptr<float>(out, "add"), ptr<float>(a, "add"), ptr<float>(b, "add"), out.elements(), stream_);
        afterLaunch("add");
        return;
    }
    pending_.add = true;  // held: usually the residual add before the next layer's norm
    pending_.out = out;
    pending_.a = a;
    pending_.b = b;
}

void CudaBackend::argmax(const Tensor& out, const Tensor& x) {
    HEARTH_REQUIRE(x.type == DType::F32 && out.type == DType::I32 && out.elements() == x.rows(), "argmax",
                   "out " + shape(out) + " does not match x " + shape(x));
    flush();
    if (x.rows() == 0 || x.ne[0] == 0) return;
    cuda::argmax(ptr<int32_t>(out, "argmax"), ptr<float>(x, "argmax"), x.ne[0], x.rows(), stream_);
    afterLaunch("argmax");
}

}  // namespace hearth::cuda
