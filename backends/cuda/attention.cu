// Attention of each query over its layer's KV cache, split along the cache ("split-K" or
// flash-decoding): block (s, h, i) handles cache rows [s * chunk, (s + 1) * chunk) of head h for
// token i with an online softmax over tiles of 32 rows, and a second kernel merges the splits'
// (max, sum, weighted V) triples. The number of splits depends only on the cache size and the
// token count, never on the position, so a captured decode step stays valid as the context grows:
// blocks beyond the current position just exit.
#include "backends/cuda/kernels.h"

namespace hearth::cuda {
namespace {

constexpr int kThreads = 128, kTile = 32, kMaxHeadDim = 256;

template <bool F16>
__device__ __forceinline__ float2 loadPair(const void* base, int64_t at) {
    if constexpr (F16) return __half22float2(*reinterpret_cast<const half2*>(static_cast<const __half*>(base) + at));
    else return *reinterpret_cast<const float2*>(static_cast<const float*>(base) + at);
}
template <bool F16>
__device__ __forceinline__ float loadOne(const void* base, int64_t at) {
    if constexpr (F16) return __half2float(static_cast<const __half*>(base)[at]);
    else return static_cast<const float*>(base)[at];
}

template <bool F16>
__global__ void __launch_bounds__(kThreads)
attentionKernel(float* __restrict__ out, const float* __restrict__ q, const void* __restrict__ kCache,
                const void* __restrict__ vCache, const int32_t* __restrict__ positions, AttentionArgs a,
                float* __restrict__ partials) {
    __shared__ float qs[kMaxHeadDim];
    __shared__ float scores[kTile];
    int s = blockIdx.x, h = blockIdx.y, i = blockIdx.z;
    int tid = threadIdx.x, lane = tid % gpu::kWarp, warp = tid / gpu::kWarp;
    int64_t D = a.headDim;
    int64_t kvh = h / (a.heads / a.kvHeads);
    int64_t rowStride = a.kvHeads * D;
    const float* qh = q + (i * a.heads + h) * D;
    for (int64_t d = tid; d < D; d += kThreads) qs[d] = qh[d] * a.scale;

    int64_t len = min(static_cast<int64_t>(positions[i]) + 1, a.ctx);
    int64_t chunk = (a.ctx + a.splits - 1) / a.splits;
    int64_t begin = s * chunk, end = min(len, begin + chunk);
    float m = -INFINITY, l = 0.0f, acc[2] = {0.0f, 0.0f};
    __syncthreads();

    for (int64_t t0 = begin; t0 < end; t0 += kTile) {
        for (int pp = warp; pp < kTile; pp += kThreads / gpu::kWarp) {
            int64_t p = t0 + pp;
            float sc = -INFINITY;
            if (p < end) {
                int64_t rowAt = p * rowStride + kvh * D;
                float dot = 0.0f;
                for (int64_t d = 2 * lane; d < D; d += 2 * gpu::kWarp) {
                    float2 kv = loadPair<F16>(kCache, rowAt + d);
                    dot += qs[d] * kv.x + qs[d + 1] * kv.y;
                }
                sc = gpu::warpSum(dot);
            }
            if (lane == 0) scores[pp] = sc;
        }
        __syncthreads();
        float tileMax = -INFINITY;
        for (int pp = 0; pp < kTile; ++pp) tileMax = fmaxf(tileMax, scores[pp]);
        float mNew = fmaxf(m, tileMax);
        float corr = expf(m - mNew);
        l *= corr;
        acc[0] *= corr;
        acc[1] *= corr;
        int64_t tileEnd = min(static_cast<int64_t>(kTile), end - t0);
        for (int pp = 0; pp < tileEnd; ++pp) {
            float wgt = expf(scores[pp] - mNew);
            l += wgt;
            int64_t rowAt = (t0 + pp) * rowStride + kvh * D;
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                int64_t d = tid + j * kThreads;
                if (d < D) acc[j] += wgt * loadOne<F16>(vCache, rowAt + d);
            }
        }
        m = mNew;
        __syncthreads();
    }

    if (a.splits == 1) {
        float inv = l > 0.0f ? 1.0f / l : 0.0f;
        float* o = out + (i * a.heads + h) * D;
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            int64_t d = tid + j * kThreads;
            if (d < D) o[d] = acc[j] * inv;
        }
        return;
    }
    float* part = partials + ((i * a.heads + h) * a.splits + s) * (D + 2);
    if (tid == 0) {
        part[0] = m;
        part[1] = l;
    }
#pragma unroll
    for (int j = 0; j < 2; ++j) {
        int64_t d = tid + j * kThreads;
        if (d < D) part[2 + d] = acc[j];
    }
}

__global__ void combineKernel(float* __restrict__ out, const float* __restrict__ partials, AttentionArgs a) {
    int h = blockIdx.x, i = blockIdx.y;
    int64_t D = a.headDim;
    const float* base = partials + (static_cast<int64_t>(i) * a.heads + h) * a.splits * (D + 2);
    float mMax = -INFINITY;
    for (int s = 0; s < a.splits; ++s) mMax = fmaxf(mMax, base[s * (D + 2)]);
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float num = 0.0f, den = 0.0f;
        for (int s = 0; s < a.splits; ++s) {
            const float* p = base + s * (D + 2);
            if (p[1] == 0.0f) continue;  // empty split (beyond the position)
            float f = expf(p[0] - mMax);
            num += f * p[2 + d];
            den += f * p[1];
        }
        out[(static_cast<int64_t>(i) * a.heads + h) * D + d] = den > 0.0f ? num / den : 0.0f;
    }
}

}  // namespace

int attentionSplits(int64_t heads, int64_t n, int64_t ctx, int multiprocessors) {
    int64_t blocks = heads * n;
    int64_t want = 2 * static_cast<int64_t>(multiprocessors);
    if (blocks >= want) return 1;
    int64_t splits = (want + blocks - 1) / blocks;
    splits = std::min<int64_t>(splits, (ctx + kTile - 1) / kTile);
    return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(splits, 64)));
}

size_t attentionPartialFloats(const AttentionArgs& a) {
    return a.splits > 1 ? static_cast<size_t>(a.n * a.heads * a.splits * (a.headDim + 2)) : 0;
}

void attention(float* out, const float* q, const void* kCache, const void* vCache, const int32_t* positions,
               const AttentionArgs& a, float* partials, gpuStream_t stream) {
    dim3 grid(static_cast<unsigned>(a.splits), static_cast<unsigned>(a.heads), static_cast<unsigned>(a.n));
    if (a.f16Cache) attentionKernel<true><<<grid, kThreads, 0, stream>>>(out, q, kCache, vCache, positions, a, partials);
    else attentionKernel<false><<<grid, kThreads, 0, stream>>>(out, q, kCache, vCache, positions, a, partials);
    if (a.splits > 1) {
        combineKernel<<<dim3(static_cast<unsigned>(a.heads), static_cast<unsigned>(a.n)), 128, 0, stream>>>(out, partials, a);
    }
}

}  // namespace hearth::cuda
