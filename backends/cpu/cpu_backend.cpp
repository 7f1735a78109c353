// The element-wise, normalisation, position and attention ops of the CPU backend (matmul is in
// cpu_matmul.cpp). Each op checks its tensors first, then runs split across the pool where the
// work is large enough to pay for waking the workers.
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/flush_denormals.h"
#include "backends/cpu/key_blocks.h"
#include "backends/cpu/elementwise_avx512.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace hearth::cpu {

namespace {

// Below this many elements an element-wise op runs on the calling thread alone.
constexpr int64_t kParallelElements = 1 << 15;

void requireType(const Tensor& t, DType type, const char* op, const char* what) {
    if (t.type != type)
        throw BackendError(std::string("cpu: ") + op + ": " + what + " must be " + std::string(dtypeName(type)) +
                           ", not " + std::string(dtypeName(t.type)));
}

[[noreturn]] void shapeError(const char* op, const std::string& why) {
    throw BackendError(std::string("cpu: ") + op + ": " + why);
}

// The message is only made when the check fails: built on every call, its strings cost a decode
// step's small ops (rmsNorm, rope, storeKv, ...) about as much as their arithmetic.
void requireShape(bool ok, const char* op, const char* why) {
    if (!ok) [[unlikely]] shapeError(op, why);
}
template <class Why>
void requireShape(bool ok, const char* op, Why&& why) {
    if (!ok) [[unlikely]] shapeError(op, why());
}

std::string shape(const Tensor& t) {
    // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on "literal" + std::string&&.
    std::string out = "{";
    for (int i = 0; i < 4; ++i) {
        out += std::to_string(t.ne[i]);
        out += i < 3 ? ", " : "}";
    }
    return out;
}

}  // namespace

CpuBackend::CpuBackend(DeviceInfo info, const BackendOptions& options)
    : info_(std::move(info)),
      kernels_(bestKernels()),
      pool_(options.threads > 0 ? options.threads : physicalCoreCount()) {}

void CpuBackend::embed(const Tensor& out, const Tensor& table, const Tensor& ids) {
    const char* op = "embed";
    requireType(out, DType::F32, op, "out");
    requireType(ids, DType::I32, op, "ids");
    if (!isSupportedWeightType(table.type))
        throw BackendError("cpu: embed: table type " + std::string(dtypeName(table.type)) + " is not supported");
    const int64_t dim = table.ne[0], vocab = table.rows(), n = ids.elements();
    requireShape(out.ne[0] == dim && out.rows() == n, op,
                 [&] { return "out " + shape(out) + " does not match dim " + std::to_string(dim) + " x " +
                              std::to_string(n) + " ids"; });
    float* o = data<float>(out, op, "out");
    const char* t = data<const char>(table, op, "table");
    const int32_t* id = data<const int32_t>(ids, op, "ids");
    for (int64_t i = 0; i < n; ++i)
        if (id[i] < 0 || id[i] >= vocab)
            throw BackendError("cpu: embed: token id " + std::to_string(id[i]) + " is outside the vocabulary of " +
                               std::to_string(vocab));
    const size_t rowBytes = table.rowBytes();
    pool_.parallelFor(n, std::max<int64_t>(1, kParallelElements / dim), [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) dequantizeRow(table.type, t + rowBytes * static_cast<size_t>(id[i]), o + i * dim, dim);
    });
}

void CpuBackend::rmsNorm(const Tensor& out, const Tensor& x, const Tensor& weight, float eps) {
    const char* op = "rmsNorm";
    requireType(out, DType::F32, op, "out");
    requireType(x, DType::F32, op, "x");
    const int64_t d = x.ne[0], rows = x.rows();
    requireShape(out.ne[0] == d && out.rows() == rows, op,
                 [&] { return "out " + shape(out) + " differs from x " + shape(x); });
    requireShape(weight.elements() == d && isSupportedWeightType(weight.type), op,
                 [&] { return "weight " + shape(weight) + " must hold " + std::to_string(d) + " values"; });
    float* o = data<float>(out, op, "out");
    const float* in = data<const float>(x, op, "x");
    const void* w = data(weight, op, "weight");
    std::vector<float> wf;
    if (weight.type != DType::F32) {
        wf.resize(static_cast<size_t>(d));
        dequantizeRow(weight.type, w, wf.data(), d);
        w = wf.data();
    }
    const float* wv = static_cast<const float*>(w);
    pool_.parallelFor(rows, std::max<int64_t>(1, kParallelElements / d), [&](int64_t b, int64_t e, int) {
        for (int64_t r = b; r < e; ++r) {
            const float* xr = in + r * d;
#if defined(HEARTH_CPU_X86)
            if (avx512_) {
                rmsNormRowAvx512(xr, wv, o + r * d, d, eps);
                continue;
            }
#endif
            // Eight running sums: one would be a chain of d dependent double adds (~4 us at
            // d = 2048, a few percent of a small model's decode step over all its norms).
            constexpr int kSums = 8;
            double part[kSums] = {};
            int64_t i = 0;
            for (; i + kSums <= d; i += kSums)
                for (int j = 0; j < kSums; ++j) part[j] += static_cast<double>(xr[i + j]) * xr[i + j];
            for (; i < d; ++i) part[0] += static_cast<double>(xr[i]) * xr[i];
            double sum = 0.0;
            for (double p : part) sum += p;
            float inv = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(d) + eps));
            float* orow = o + r * d;
            for (i = 0; i < d; ++i) orow[i] = xr[i] * inv * wv[i];
        }
    });
}

void CpuBackend::rope(const Tensor& x, const Tensor& positions, const RopeParams& params) {
    const char* op = "rope";
    requireType(x, DType::F32, op, "x");
    requireType(positions, DType::I32, op, "positions");
    const int64_t headDim = x.ne[0], heads = x.ne[1], n = x.ne[2] * x.ne[3];
    const int rd = params.rotaryDims;
    requireShape(rd > 0 && rd % 2 == 0 && rd <= headDim, op,
                 [&] { return "rotaryDims " + std::to_string(rd) + " must be even and within the head size " +
                              std::to_string(headDim); });
    requireShape(positions.elements() == n, op, [&] {
        return "positions hold " + std::to_string(positions.elements()) + " values for " + std::to_string(n) +
               " tokens";
    });
    float* v = data<float>(x, op, "x");
    const int32_t* pos = data<const int32_t>(positions, op, "positions");
    const int half = rd / 2;
    const float* factors = nullptr;
    if (params.freqFactors.valid()) {
        requireType(params.freqFactors, DType::F32, op, "freqFactors");
        requireShape(params.freqFactors.elements() >= half, op, "freqFactors must hold rotaryDims/2 values");
        factors = data<const float>(params.freqFactors, op, "freqFactors");
    }
    // cos and sin of every token's angles, interleaved. A decode step rotates q and k of every
    // layer at the same position, so one token's angles are kept for the next call with the same
    // position and parameters (computing them in double was most of the op's time at decode).
    RopeAngles& angles = ropeAngles_;
    const size_t factorCount = factors ? static_cast<size_t>(half) : 0;
    const bool reuse = n == 1 && angles.position == pos[0] && angles.rotaryDims == rd && angles.theta == params.theta &&
                       angles.positionScale == params.positionScale && angles.factors.size() == factorCount &&
                       std::equal(angles.factors.begin(), angles.factors.end(), factors);
    if (!reuse) {
        std::vector<double> invFreq(static_cast<size_t>(half));
        for (int i = 0; i < half; ++i)
            invFreq[static_cast<size_t>(i)] = std::pow(static_cast<double>(params.theta), -2.0 * i / rd) /
                                              (factors ? static_cast<double>(factors[i]) : 1.0);
        angles.cs.resize(static_cast<size_t>(n * rd));
        for (int64_t t = 0; t < n; ++t) {
            const double p = static_cast<double>(pos[t]) * params.positionScale;
            float* cs = angles.cs.data() + t * rd;
            for (int i = 0; i < half; ++i) {
                const double angle = p * invFreq[static_cast<size_t>(i)];
                cs[2 * i] = static_cast<float>(std::cos(angle));
                cs[2 * i + 1] = static_cast<float>(std::sin(angle));
            }
        }
        // Only a single token's angles are worth keeping.
        angles.position = n == 1 ? pos[0] : -1;
        angles.rotaryDims = rd;
        angles.theta = params.theta;
        angles.positionScale = params.positionScale;
        angles.factors.assign(factors, factors + factorCount);
    }
    const bool neox = params.style == RopeStyle::Neox;
    pool_.parallelFor(n, std::max<int64_t>(1, kParallelElements / (headDim * heads)), [&](int64_t b, int64_t e, int) {
        for (int64_t t = b; t < e; ++t) {
            const float* cs = angles.cs.data() + t * rd;
            for (int64_t h = 0; h < heads; ++h) {
                float* row = v + (t * heads + h) * headDim;
                for (int i = 0; i < half; ++i) {
                    float* a = neox ? row + i : row + 2 * i;
                    float* c = neox ? row + i + half : row + 2 * i + 1;
                    const float co = cs[2 * i], si = cs[2 * i + 1];
                    const float x0 = *a, x1 = *c;
                    *a = x0 * co - x1 * si;
                    *c = x0 * si + x1 * co;
                }
            }
        }
    });
}

void CpuBackend::storeKv(const Tensor& kCache, const Tensor& vCache, const Tensor& k, const Tensor& v,
                         const Tensor& positions) {
    const char* op = "storeKv";
    requireType(k, DType::F32, op, "k");
    requireType(v, DType::F32, op, "v");
    requireType(positions, DType::I32, op, "positions");
    const int64_t rowElems = k.ne[0] * k.ne[1], n = k.ne[2] * k.ne[3];
    const Tensor* caches[2] = {&kCache, &vCache};
    const Tensor* src[2] = {&k, &v};
    requireShape(v.elements() == k.elements() && v.ne[0] == k.ne[0], op,
                 [&] { return "k " + shape(k) + " and v " + shape(v) + " differ"; });
    requireShape(positions.elements() == n, op, "positions must hold one value per token");
    const int32_t* pos = data<const int32_t>(positions, op, "positions");
    for (int c = 0; c < 2; ++c) {
        const Tensor& cache = *caches[c];
        requireShape(cache.type == DType::F16 || cache.type == DType::F32, op, "caches must be f16 or f32");
        requireShape(cache.ne[0] * cache.ne[1] == rowElems, op,
                     [&] { return "cache " + shape(cache) + " does not match k/v rows " + shape(k); });
        const int64_t ctx = cache.ne[2] * cache.ne[3];
        for (int64_t i = 0; i < n; ++i)
            if (pos[i] < 0 || pos[i] >= ctx)
                throw BackendError("cpu: storeKv: position " + std::to_string(pos[i]) + " is outside the context of " +
                                   std::to_string(ctx));
        const float* s = data<const float>(*src[c], op, c ? "v" : "k");
        void* dst = data(cache, op, c ? "vCache" : "kCache");
        if (c == 0 && blockedKeys(cache.ne[0])) {
            storeBlockedKeys(dst, cache.type, KeyBlocks{rowElems, ctx}, s, pos, n);
            continue;
        }
        for (int64_t i = 0; i < n; ++i) {
            const float* row = s + i * rowElems;
            if (cache.type == DType::F32) {
                std::memcpy(static_cast<float*>(dst) + pos[i] * rowElems, row, static_cast<size_t>(rowElems) * 4);
            } else {
                kernels_.toF16(row, static_cast<uint16_t*>(dst) + pos[i] * rowElems, rowElems);
            }
        }
    }
}

// Each row is converted whole (F16C where the kernels have it), then spread over its block.
void CpuBackend::storeBlockedKeys(void* cache, DType type, const KeyBlocks& layout, const float* rows,
                                  const int32_t* pos, int64_t n) {
    auto spread = [&](auto* dst, const auto* row, int64_t t) {
        const size_t first = layout.at(t, 0);
        const int64_t width = layout.width(t / KeyBlocks::kPositions);
        for (int64_t e = 0; e < layout.rowElems; ++e) dst[first + static_cast<size_t>(e * width)] = row[e];
    };
    for (int64_t i = 0; i < n; ++i) {
        const float* row = rows + i * layout.rowElems;
        if (type == DType::F32) {
            spread(static_cast<float*>(cache), row, pos[i]);
        } else {
            kvRow_.resize(static_cast<size_t>(layout.rowElems));
            kernels_.toF16(row, kvRow_.data(), layout.rowElems);
            spread(static_cast<uint16_t*>(cache), kvRow_.data(), pos[i]);
        }
    }
}

void CpuBackend::readKv(void* k, void* v, const Tensor& kCache, const Tensor& vCache, int64_t rows) {
    const char* op = "readKv";
    requireShape(kCache.type == vCache.type && (kCache.type == DType::F16 || kCache.type == DType::F32), op,
                 "k and v caches must both be f16 or both f32");
    requireShape(kCache.ne[0] == vCache.ne[0] && kCache.ne[1] == vCache.ne[1] &&
                     kCache.ne[2] * kCache.ne[3] == vCache.ne[2] * vCache.ne[3], op,
                 [&] { return "caches " + shape(kCache) + " / " + shape(vCache) + " differ"; });
    const int64_t rowElems = kCache.ne[0] * kCache.ne[1], ctx = kCache.ne[2] * kCache.ne[3];
    requireShape(rows >= 0 && rows <= ctx, op,
                 [&] { return std::to_string(rows) + " rows asked of a cache of " + std::to_string(ctx); });
    const size_t elem = kCache.type == DType::F16 ? 2 : 4;
    const size_t bytes = static_cast<size_t>(rows * rowElems) * elem;
    const char* kc = data<const char>(kCache, op, "kCache");
    std::memcpy(v, data<const char>(vCache, op, "vCache"), bytes);
    if (!blockedKeys(kCache.ne[0])) {
        std::memcpy(k, kc, bytes);
        return;
    }
    const KeyBlocks layout{rowElems, ctx};
    for (int64_t t = 0; t < rows; ++t)
        for (int64_t e = 0; e < rowElems; ++e)
            std::memcpy(static_cast<char*>(k) + static_cast<size_t>(t * rowElems + e) * elem,
                        kc + layout.at(t, e) * elem, elem);
}

void CpuBackend::attention(const Tensor& out, const Tensor& q, const Tensor& kCache, const Tensor& vCache,
                           const Tensor& positions, float scale) {
    const char* op = "attention";
    requireType(out, DType::F32, op, "out");
    requireType(q, DType::F32, op, "q");
    requireType(positions, DType::I32, op, "positions");
    const int64_t hd = q.ne[0], heads = q.ne[1], n = q.ne[2] * q.ne[3];
    const int64_t kvHeads = kCache.ne[1], ctx = kCache.ne[2] * kCache.ne[3];
    requireShape(out.elements() == q.elements() && out.ne[0] == hd, op,
                 [&] { return "out " + shape(out) + " differs from q " + shape(q); });
    requireShape(kCache.type == vCache.type && (kCache.type == DType::F16 || kCache.type == DType::F32), op,
                 "k and v caches must both be f16 or both f32");
    requireShape(kCache.ne[0] == hd && vCache.ne[0] == hd && vCache.ne[1] == kvHeads &&
                     vCache.ne[2] * vCache.ne[3] == ctx, op,
                 [&] {
                     return "caches " + shape(kCache) + " / " + shape(vCache) + " do not match q " + shape(q);
                 });
    requireShape(kvHeads > 0 && heads % kvHeads == 0, op,
                 [&] { return std::to_string(heads) + " query heads cannot share " + std::to_string(kvHeads) +
                              " kv heads"; });
    requireShape(positions.elements() == n, op, "positions must hold one value per token");
    const int32_t* pos = data<const int32_t>(positions, op, "positions");
    for (int64_t i = 0; i < n; ++i)
        if (pos[i] < 0 || pos[i] >= ctx)
            throw BackendError("cpu: attention: position " + std::to_string(pos[i]) + " is outside the context of " +
                               std::to_string(ctx));
    float* o = data<float>(out, op, "out");
    const float* qv = data<const float>(q, op, "q");
    const char* kc = data<const char>(kCache, op, "kCache");
    const char* vc = data<const char>(vCache, op, "vCache");
    const bool f16 = kCache.type == DType::F16;
    const size_t elemBytes = f16 ? 2 : 4;
    const int64_t group = heads / kvHeads;
    if (tryAttentionTiled(o, qv, kc, vc, pos, n, heads, kvHeads, hd, ctx, f16, scale)) return;
    // Key rows in blocks (only with the AVX-512 kernels: here for prefill with more than 64 query
    // heads to a kv head) are gathered into a row of this thread's scratch first.
    const bool blocked = blockedKeys(hd);
    const KeyBlocks keyLayout{kvHeads * hd, ctx};

    // Online softmax over blocks of cache rows: scores of a block first, then one rescale of the
    // running sum per block instead of one per row.
    constexpr int64_t kBlock = 64;
    const size_t perThread = wholeCacheLines(static_cast<size_t>(hd + kBlock + (blocked ? hd : 0)));
    attnScratch_.resize(perThread * static_cast<size_t>(pool_.threads()));
    const KernelTable& kt = kernels_;
    pool_.parallelFor(n * heads, 1, [&](int64_t b, int64_t e, int thread) {
        float* acc = attnScratch_.data() + perThread * static_cast<size_t>(thread);
        float* scores = acc + hd;
        float* keyRow = scores + kBlock;  // a gathered key row (blocked keys), f16 or f32
        // Weights exp(s - max) of keys far below the best are subnormal: without the flags a
        // prefill of 512 positions took 14.9 ms of attention a llama-3.2-1b layer instead of 10.6
        // (AVX2 kernels, random-weight model).
        const FlushDenormals flush;
        for (int64_t item = b; item < e; ++item) {
            const int64_t i = item / heads, h = item % heads, kvh = h / group;
            const float* qrow = qv + (i * heads + h) * hd;
            std::fill(acc, acc + hd, 0.0f);
            float maxScore = -std::numeric_limits<float>::infinity(), sum = 0.0f;
            const int64_t last = pos[i];
            for (int64_t t0 = 0; t0 <= last; t0 += kBlock) {
                const int64_t count = std::min(kBlock, last + 1 - t0);
                float blockMax = -std::numeric_limits<float>::infinity();
                for (int64_t j = 0; j < count; ++j) {
                    const char* krow = kc + static_cast<size_t>(((t0 + j) * kvHeads + kvh) * hd) * elemBytes;
                    if (blocked) {
                        for (int64_t d = 0; d < hd; ++d)
                            std::memcpy(reinterpret_cast<char*>(keyRow) + static_cast<size_t>(d) * elemBytes,
                                        kc + keyLayout.at(t0 + j, kvh * hd + d) * elemBytes, elemBytes);
                        krow = reinterpret_cast<const char*>(keyRow);
                    }
                    float s = f16 ? kt.dotF16(reinterpret_cast<const uint16_t*>(krow), qrow, hd)
                                  : kt.dotF32(reinterpret_cast<const float*>(krow), qrow, hd);
                    scores[j] = s * scale;
                    blockMax = std::max(blockMax, scores[j]);
                }
                const float newMax = std::max(maxScore, blockMax);
                if (newMax > maxScore && sum > 0.0f) {
                    const float correction = std::exp(maxScore - newMax);
                    sum *= correction;
                    for (int64_t d = 0; d < hd; ++d) acc[d] *= correction;
                }
                maxScore = newMax;
                for (int64_t j = 0; j < count; ++j) {
                    const float p = std::exp(scores[j] - maxScore);
                    sum += p;
                    const char* vrow = vc + static_cast<size_t>(((t0 + j) * kvHeads + kvh) * hd) * elemBytes;
                    if (f16) kt.axpyF16(p, reinterpret_cast<const uint16_t*>(vrow), acc, hd);
                    else kt.axpyF32(p, reinterpret_cast<const float*>(vrow), acc, hd);
                }
            }
            float* orow = o + (i * heads + h) * hd;
            const float inv = 1.0f / sum;
            for (int64_t d = 0; d < hd; ++d) orow[d] = acc[d] * inv;
        }
    });
}

void CpuBackend::siluMul(const Tensor& out, const Tensor& gate, const Tensor& up) {
    const char* op = "siluMul";
    for (const Tensor* t : {&out, &gate, &up}) requireType(*t, DType::F32, op, "every tensor");
    const int64_t n = out.elements();
    requireShape(gate.elements() == n && up.elements() == n, op, "out, gate and up must have the same size");
    float* o = data<float>(out, op, "out");
    const float* g = data<const float>(gate, op, "gate");
    const float* u = data<const float>(up, op, "up");
    pool_.parallelFor(n, kParallelElements, [&](int64_t b, int64_t e, int) {
#if defined(HEARTH_CPU_X86)
        if (avx512_) return siluMulAvx512(g + b, u + b, o + b, e - b);
#endif
        for (int64_t i = b; i < e; ++i) o[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
    });
}

void CpuBackend::add(const Tensor& out, const Tensor& a, const Tensor& b) {
    const char* op = "add";
    for (const Tensor* t : {&out, &a, &b}) requireType(*t, DType::F32, op, "every tensor");
    const int64_t n = out.elements();
    requireShape(a.elements() == n && b.elements() == n, op, "out, a and b must have the same size");
    float* o = data<float>(out, op, "out");
    const float* x = data<const float>(a, op, "a");
    const float* y = data<const float>(b, op, "b");
    pool_.parallelFor(n, kParallelElements, [&](int64_t begin, int64_t end, int) {
#if defined(HEARTH_CPU_X86)
        if (avx512_) return addAvx512(x + begin, y + begin, o + begin, end - begin);
#endif
        for (int64_t i = begin; i < end; ++i) o[i] = x[i] + y[i];
    });
}

void CpuBackend::argmax(const Tensor& out, const Tensor& x) {
    const char* op = "argmax";
    requireType(out, DType::I32, op, "out");
    requireType(x, DType::F32, op, "x");
    const int64_t vocab = x.ne[0], n = x.rows();
    requireShape(out.elements() == n, op, "out must hold one id per row of x");
    int32_t* o = data<int32_t>(out, op, "out");
    const float* v = data<const float>(x, op, "x");
    // The first index of the largest value, NaN skipped (index 0 if all are NaN), in two passes
    // that have no loop-carried dependence through memory: the maximum (eight independent
    // running maxima), then the first index holding it. A decode step's 128k logits took
    // 360 us in the one-pass loop (a compare against row[best] reloaded each time), 48 us so.
    // A long row is split between the threads, each part in the half of the row that thread's
    // share of the output projection wrote (still in its own cache), the parts' winners then
    // compared in order: 128k-152k logits took 50-130 us on one thread.
    struct Winner {
        float value;
        int64_t at;  // -1: the part holds nothing but NaN
    };
    auto scan = [](const float* row, int64_t begin, int64_t end) {
        constexpr int kLanes = 8;
        float top[kLanes];
        std::fill(top, top + kLanes, -std::numeric_limits<float>::infinity());
        int64_t i = begin;
        for (; i + kLanes <= end; i += kLanes)
            for (int j = 0; j < kLanes; ++j) top[j] = row[i + j] > top[j] ? row[i + j] : top[j];
        for (; i < end; ++i) top[0] = row[i] > top[0] ? row[i] : top[0];
        const float best = *std::max_element(top, top + kLanes);
        int64_t at = begin;
        // Whole steps first, their compares or-ed as ints (which GCC vectorises; as bools it kept
        // a branch per element, 60 us for 76k logits against 17.5).
        constexpr int kStep = 16;
        for (; at + kStep <= end; at += kStep) {
            int hit = 0;
            for (int j = 0; j < kStep; ++j) hit |= row[at + j] == best ? -1 : 0;
            if (hit) break;
        }
        while (at < end && !(row[at] == best)) ++at;
        return Winner{best, at < end ? at : -1};
    };
    const int threads = pool_.threads();
    for (int64_t r = 0; r < n; ++r) {
        const float* row = v + r * vocab;
        Winner parts[kMaxArgmaxParts];
        const int count = vocab >= 16384 ? std::min(threads, kMaxArgmaxParts) : 1;
        auto part = [&](int t, int) {
            if (t < count) parts[t] = scan(row, vocab * t / count, vocab * (t + 1) / count);
        };
        if (count > 1) pool_.run(part);
        else part(0, 1);
        int64_t at = -1;
        float best = 0.0f;
        for (int t = 0; t < count; ++t)
            if (parts[t].at >= 0 && (at < 0 || parts[t].value > best)) {
                best = parts[t].value;
                at = parts[t].at;
            }
        o[r] = static_cast<int32_t>(at < 0 ? 0 : at);
    }
}

}  // namespace hearth::cpu
