// The small ops of a transformer layer: embedding lookup, RMSNorm, RoPE, KV-cache stores,
// SiLU·mul, residual add and the greedy argmax. All memory-bound and cheap next to the matmuls.
#include "backends/cuda/kernels.h"
#include "backends/cuda/quant_blocks.cuh"

namespace hearth::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocksFor(int64_t count, int threads = kThreads) {
    return static_cast<unsigned>((count + threads - 1) / threads);
}

template <uint32_t kType>  // a DType: see kernelType() in weight_repack.h
__global__ void embedKernel(const uint8_t* __restrict__ table, size_t rowBytes, int64_t dim, int64_t vocab,
                            const int32_t* __restrict__ ids, float* __restrict__ out) {
    gpu::dependencyWait();
    constexpr DType T = static_cast<DType>(kType);
    int64_t i = blockIdx.y;
    int64_t id = ids[i];
    if (id < 0 || id >= vocab) id = 0;  // the engine validates ids; never read outside the table
    int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= dim / 32) return;
    float v[32];
    Dequant<T>::run(table + id * rowBytes, static_cast<int>(c), v, dim);
    float* o = out + i * dim + c * 32;
    for (int j = 0; j < 32; ++j) o[j] = v[j];
}

// Plain types whose rows are not a whole number of 32-runs.
template <DType T>
__global__ void embedScalarKernel(const uint8_t* __restrict__ table, int64_t dim, int64_t vocab,
                                  const int32_t* __restrict__ ids, float* __restrict__ out) {
    gpu::dependencyWait();
    int64_t i = blockIdx.y;
    int64_t id = ids[i];
    if (id < 0 || id >= vocab) id = 0;
    int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (e >= dim) return;
    int64_t at = id * dim + e;
    float v;
    if constexpr (T == DType::F32) v = reinterpret_cast<const float*>(table)[at];
    else if constexpr (T == DType::F16) v = gpu::halfToFloat(reinterpret_cast<const uint16_t*>(table)[at]);
    else v = gpu::bf16ToFloat(reinterpret_cast<const uint16_t*>(table)[at]);
    out[i * dim + e] = v;
}

__global__ void rmsNormKernel(float* out, const float* x, const float* __restrict__ weight, int64_t d, float eps) {
    gpu::dependencyWait();
    const float* xr = x + blockIdx.x * d;
    float* orow = out + blockIdx.x * d;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) ss += xr[i] * xr[i];
    float scale = rsqrtf(gpu::blockSum(ss) / static_cast<float>(d) + eps);
    // Each thread rewrites only what it read, so out may alias x.
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) orow[i] = xr[i] * scale * weight[i];
}

// Rotates pair p of one head at `position`; returns the two indices it wrote.
__device__ __forceinline__ void rotatePair(float* head, int64_t p, int32_t position, const RopeArgs& a, int64_t& i0,
                                           int64_t& i1) {
    int64_t half = a.rotaryDims / 2;
    // In double: at position 10^5 a float angle is off by ~10^-2 radians. The op is tiny.
    double freq = pow(static_cast<double>(a.theta), -2.0 * static_cast<double>(p) / a.rotaryDims);
    if (a.freqFactors) freq /= a.freqFactors[p];
    double angle = static_cast<double>(position) * a.positionScale * freq;
    double sd, cd;
    sincos(angle, &sd, &cd);
    float s = static_cast<float>(sd), c = static_cast<float>(cd);
    i0 = a.neox ? p : 2 * p;
    i1 = a.neox ? p + half : 2 * p + 1;
    float x0 = head[i0], x1 = head[i1];
    head[i0] = x0 * c - x1 * s;
    head[i1] = x0 * s + x1 * c;
}

__device__ __forceinline__ void storeValue(void* cache, bool f16, int64_t at, float v) {
    if (f16) static_cast<__half*>(cache)[at] = __float2half_rn(v);
    else static_cast<float*>(cache)[at] = v;
}

__global__ void ropeKernel(float* x, const int32_t* __restrict__ positions, RopeArgs a) {
    gpu::dependencyWait();
    int64_t half = a.rotaryDims / 2;
    int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= a.n * a.heads * half) return;
    int64_t p = idx % half, h = (idx / half) % a.heads, i = idx / (half * a.heads);
    int64_t i0, i1;
    rotatePair(x + (i * a.heads + h) * a.headDim, p, positions[i], a, i0, i1);
}

// One thread per: q pair | k pair (rotated, then stored) | unrotated k element | v element.
__global__ void ropeStoreKernel(const int32_t* __restrict__ positions, RopeStoreArgs s) {
    gpu::dependencyWait();
    const RopeArgs& a = s.rope;
    int64_t half = a.rotaryDims / 2, hd = a.headDim;
    int64_t qPairs = a.n * a.heads * half, kPairs = a.n * s.kvHeads * half;
    bool store = s.kCache != nullptr;
    int64_t kRest = store ? a.n * s.kvHeads * (hd - a.rotaryDims) : 0, vElems = store ? a.n * s.kvHeads * hd : 0;
    int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    int64_t i0, i1;
    if (idx < qPairs) {
        int64_t p = idx % half, h = (idx / half) % a.heads, i = idx / (half * a.heads);
        rotatePair(s.q + (i * a.heads + h) * hd, p, positions[i], a, i0, i1);
        return;
    }
    idx -= qPairs;
    int64_t rowElems = s.kvHeads * hd;
    if (idx < kPairs) {
        int64_t p = idx % half, h = (idx / half) % s.kvHeads, i = idx / (half * s.kvHeads);
        float* head = s.k + (i * s.kvHeads + h) * hd;
        rotatePair(head, p, positions[i], a, i0, i1);
        int64_t pos = positions[i];
        if (store && pos >= 0 && pos < s.ctx) {
            storeValue(s.kCache, s.f16, pos * rowElems + h * hd + i0, head[i0]);
            storeValue(s.kCache, s.f16, pos * rowElems + h * hd + i1, head[i1]);
        }
        return;
    }
    idx -= kPairs;
    if (idx < kRest) {  // dimensions past rotaryDims: neox keeps [rotaryDims, hd), interleaved too
        int64_t rest = hd - a.rotaryDims;
        int64_t e = a.rotaryDims + idx % rest, h = (idx / rest) % s.kvHeads, i = idx / (rest * s.kvHeads);
        int64_t pos = positions[i];
        if (pos >= 0 && pos < s.ctx) storeValue(s.kCache, s.f16, pos * rowElems + h * hd + e, s.k[i * rowElems + h * hd + e]);
        return;
    }
    idx -= kRest;
    if (idx < vElems) {
        int64_t i = idx / rowElems, e = idx % rowElems;
        int64_t pos = positions[i];
        if (pos >= 0 && pos < s.ctx) storeValue(s.vCache, s.f16, pos * rowElems + e, s.v[idx]);
    }
}

__global__ void storeKvKernel(void* kCache, void* vCache, bool f16, const float* __restrict__ k,
                              const float* __restrict__ v, const int32_t* __restrict__ positions, int64_t rowElems,
                              int64_t n, int64_t ctx) {
    gpu::dependencyWait();
    int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= rowElems * n) return;
    int64_t i = idx / rowElems, e = idx % rowElems;
    int64_t pos = positions[i];
    if (pos < 0 || pos >= ctx) return;  // the engine keeps positions inside the cache
    int64_t at = pos * rowElems + e;
    if (f16) {
        static_cast<__half*>(kCache)[at] = __float2half_rn(k[idx]);
        static_cast<__half*>(vCache)[at] = __float2half_rn(v[idx]);
    } else {
        static_cast<float*>(kCache)[at] = k[idx];
        static_cast<float*>(vCache)[at] = v[idx];
    }
}

__global__ void siluMulKernel(float* out, const float* gate, const float* up, int64_t count) {
    gpu::dependencyWait();
    int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
}

__global__ void addKernel(float* out, const float* a, const float* b, int64_t count) {
    gpu::dependencyWait();
    int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    out[i] = a[i] + b[i];
}

// Keeps (value, index) with the larger value, the smaller index on ties.
__device__ __forceinline__ void better(float& v, int& i, float ov, int oi) {
    if (ov > v || (ov == v && oi < i)) { v = ov; i = oi; }
}

__global__ void argmaxKernel(int32_t* out, const float* __restrict__ x, int64_t vocab) {
    gpu::dependencyWait();
    const float* row = x + blockIdx.x * vocab;
    float best = -INFINITY;
    int bestIdx = INT_MAX;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) better(best, bestIdx, row[i], static_cast<int>(i));
    for (int o = gpu::kWarp / 2; o > 0; o >>= 1) {
        float ov = __int_as_float(gpu::warpShflXorInt(__float_as_int(best), o));
        int oi = gpu::warpShflXorInt(bestIdx, o);
        better(best, bestIdx, ov, oi);
    }
    __shared__ float vals[32];
    __shared__ int idxs[32];
    int lane = threadIdx.x % gpu::kWarp, warp = threadIdx.x / gpu::kWarp;
    if (lane == 0) { vals[warp] = best; idxs[warp] = bestIdx; }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < static_cast<int>(blockDim.x / gpu::kWarp); ++w) better(best, bestIdx, vals[w], idxs[w]);
        out[blockIdx.x] = bestIdx == INT_MAX ? 0 : bestIdx;  // all NaN: token 0
    }
}

template <DType T>
void launchEmbed(const uint8_t* table, int64_t dim, int64_t vocab, const int32_t* ids, int64_t n, float* out,
                 gpuStream_t stream) {
    size_t rowBytes = weightRowBytes(T, dim);
    if (dim % 32 == 0) {
        gpu::launch(embedKernel<kernelType(T)>, dim3(blocksFor(dim / 32, 128), static_cast<unsigned>(n)), 128, 0, stream, table, rowBytes, dim, vocab, ids, out);
    } else if constexpr (T == DType::F32 || T == DType::F16 || T == DType::BF16) {
        gpu::launch(embedScalarKernel<T>, dim3(blocksFor(dim), static_cast<unsigned>(n)), kThreads, 0, stream, table, dim, vocab, ids, out);
    }
}

}  // namespace

void embed(DType type, const uint8_t* table, int64_t dim, int64_t vocab, const int32_t* ids, int64_t n,
           float* out, gpuStream_t stream) {
    switch (type) {
        case DType::F32: launchEmbed<DType::F32>(table, dim, vocab, ids, n, out, stream); break;
        case DType::F16: launchEmbed<DType::F16>(table, dim, vocab, ids, n, out, stream); break;
        case DType::BF16: launchEmbed<DType::BF16>(table, dim, vocab, ids, n, out, stream); break;
        case DType::Q4_0: launchEmbed<DType::Q4_0>(table, dim, vocab, ids, n, out, stream); break;
        case DType::Q4_1: launchEmbed<DType::Q4_1>(table, dim, vocab, ids, n, out, stream); break;
        case DType::Q5_0: launchEmbed<DType::Q5_0>(table, dim, vocab, ids, n, out, stream); break;
        case DType::Q8_0: launchEmbed<DType::Q8_0>(table, dim, vocab, ids, n, out, stream); break;
        case DType::Q4_K: launchEmbed<DType::Q4_K>(table, dim, vocab, ids, n, out, stream); break;
        case DType::Q5_K: launchEmbed<DType::Q5_K>(table, dim, vocab, ids, n, out, stream); break;
        case DType::Q6_K: launchEmbed<DType::Q6_K>(table, dim, vocab, ids, n, out, stream); break;
        default:
            if (type == kQ4_0Planar) launchEmbed<kQ4_0Planar>(table, dim, vocab, ids, n, out, stream);
            if (type == kQ6_KPlanar) launchEmbed<kQ6_KPlanar>(table, dim, vocab, ids, n, out, stream);
            break;
    }
}

void rmsNorm(float* out, const float* x, const float* weight, int64_t d, int64_t rows, float eps,
             gpuStream_t stream) {
    int threads = d >= 1024 ? 1024 : 256;
    gpu::launch(rmsNormKernel, static_cast<unsigned>(rows), threads, 0, stream, out, x, weight, d, eps);
}

void rope(float* x, const int32_t* positions, const RopeArgs& args, gpuStream_t stream) {
    int64_t pairs = args.n * args.heads * (args.rotaryDims / 2);
    if (pairs == 0) return;
    gpu::launch(ropeKernel, blocksFor(pairs), kThreads, 0, stream, x, positions, args);
}

void ropeStore(const int32_t* positions, const RopeStoreArgs& args, gpuStream_t stream) {
    const RopeArgs& a = args.rope;
    int64_t half = a.rotaryDims / 2;
    int64_t total = a.n * (a.heads + args.kvHeads) * half;
    if (args.kCache) total += a.n * args.kvHeads * (a.headDim - a.rotaryDims) + a.n * args.kvHeads * a.headDim;
    if (total == 0) return;
    gpu::launch(ropeStoreKernel, blocksFor(total), kThreads, 0, stream, positions, args);
}

void storeKv(void* kCache, void* vCache, bool f16, const float* k, const float* v, const int32_t* positions,
             int64_t rowElems, int64_t n, int64_t ctx, gpuStream_t stream) {
    gpu::launch(storeKvKernel, blocksFor(rowElems * n), kThreads, 0, stream, kCache, vCache, f16, k, v, positions, rowElems,
                                                                   n, ctx);
}

void siluMul(float* out, const float* gate, const float* up, int64_t count, gpuStream_t stream) {
    gpu::launch(siluMulKernel, blocksFor(count), kThreads, 0, stream, out, gate, up, count);
}

void add(float* out, const float* a, const float* b, int64_t count, gpuStream_t stream) {
    gpu::launch(addKernel, blocksFor(count), kThreads, 0, stream, out, a, b, count);
}

void argmax(int32_t* out, const float* x, int64_t vocab, int64_t rows, gpuStream_t stream) {
    gpu::launch(argmaxKernel, static_cast<unsigned>(rows), 1024, 0, stream, out, x, vocab);
}

}  // namespace hearth::cuda
