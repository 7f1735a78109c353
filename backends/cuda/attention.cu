// Attention of each query over its layer's KV cache, split along the cache ("split-K" or
// flash-decoding): block (s, h, i) handles cache rows [s * chunk, (s + 1) * chunk) of head h for
// token i with an online softmax over tiles of 32 rows, and a second kernel merges the splits'
// (max, sum, weighted V) triples (and, for decode, also writes the q8 form of the result that the
// output projection reads). The number of splits depends only on the cache size and the
// token count, never on the position, so a captured decode step stays valid as the context grows:
// blocks beyond the current position just exit.
#include "backends/cuda/kernels.h"
#include "backends/cuda/quant_blocks.cuh"

namespace hearth::cuda {
namespace {

constexpr int kThreads = 128, kTile = 32, kMaxHeadDim = 256, kMaxGroup = 8, kVBatch = 8;

template <bool F16>
__device__ __forceinline__ float2 loadPair(const void* base, int64_t at) {
    if constexpr (F16) return __half22float2(*reinterpret_cast<const half2*>(static_cast<const __half*>(base) + at));
    else return *reinterpret_cast<const float2*>(static_cast<const float*>(base) + at);
}
// Four consecutive elements (at a multiple of 4: 8-byte aligned for half, 16 for float).
template <bool F16>
__device__ __forceinline__ float4 loadQuad(const void* base, int64_t at) {
    if constexpr (F16) {
        uint2 r = *reinterpret_cast<const uint2*>(static_cast<const __half*>(base) + at);
        float2 lo = __half22float2(*reinterpret_cast<const half2*>(&r.x));
        float2 hi = __half22float2(*reinterpret_cast<const half2*>(&r.y));
        return make_float4(lo.x, lo.y, hi.x, hi.y);
    } else {
        return *reinterpret_cast<const float4*>(static_cast<const float*>(base) + at);
    }
}
template <bool F16>
__device__ __forceinline__ float loadOne(const void* base, int64_t at) {
    if constexpr (F16) return __half2float(static_cast<const __half*>(base)[at]);
    else return static_cast<const float*>(base)[at];
}

// Block (s, g, i): split s of the cache, the query heads of kv head g (up to kMaxGroup of them,
// so each K and V row is read once for the whole group), token i.
template <bool F16>
__global__ void __launch_bounds__(kThreads, 4)
attentionKernel(float* __restrict__ out, const float* __restrict__ q, const void* __restrict__ kCache,
                const void* __restrict__ vCache, const int32_t* __restrict__ positions, AttentionArgs a,
                float* __restrict__ partials) {
    gpu::dependencyWait();
    __shared__ float qs[kMaxGroup * kMaxHeadDim];
    __shared__ float scores[kMaxGroup][kTile];
    __shared__ float mRun[kMaxGroup], lRun[kMaxGroup], corr[kMaxGroup];
    // Per row lane: its G x D partial sums of the weighted V rows (merged at the end).
    __shared__ float merge[2 * kMaxGroup * kThreads];
    int s = blockIdx.x, i = blockIdx.z;
    int tid = threadIdx.x, lane = tid % gpu::kWarp, warp = tid / gpu::kWarp;
    int64_t D = a.headDim, perKv = a.heads / a.kvHeads;
    int64_t chunksPerKv = (perKv + kMaxGroup - 1) / kMaxGroup;
    int64_t kvh = blockIdx.y / chunksPerKv;
    int64_t h0 = kvh * perKv + (blockIdx.y % chunksPerKv) * kMaxGroup;
    int G = static_cast<int>(min(static_cast<int64_t>(kMaxGroup), (kvh + 1) * perKv - h0));
    int64_t rowStride = a.kvHeads * D;
    for (int64_t e = tid; e < G * D; e += kThreads) qs[e] = q[(i * a.heads + h0) * D + e] * a.scale;
    if (tid < kMaxGroup) {
        mRun[tid] = -INFINITY;
        lRun[tid] = 0.0f;
    }

    int64_t len = min(static_cast<int64_t>(positions[i]) + 1, a.ctx);
    int64_t chunk = (a.ctx + a.splits - 1) / a.splits;
    int64_t begin = s * chunk, end = min(len, begin + chunk);
    // V phase: thread tid owns the dimension pair vp of every head of the group, for the cache
    // rows of its row lane (rows rl, rl + rowLanes, ... of a tile): one 4-byte load per row feeds
    // all G heads.
    int pairs = static_cast<int>(D / 2), rowLanes = kThreads / pairs;
    int vp = tid % pairs, rl = tid / pairs;
    bool vOwner = rl < rowLanes;
    bool quadK = D % 16 == 0 && reinterpret_cast<uintptr_t>(kCache) % 16 == 0;
    float2 acc[kMaxGroup];
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) acc[g] = make_float2(0.0f, 0.0f);
    __syncthreads();

    for (int64_t t0 = begin; t0 < end; t0 += kTile) {
        int tileEnd = static_cast<int>(min(static_cast<int64_t>(kTile), end - t0));
        const int64_t vBase = t0 * rowStride + kvh * D + 2 * vp;
        // The first kVBatch V rows of this lane are loaded now, so their latency overlaps the
        // scores and the softmax (decode: a block's chunk is one tile of ~16 rows).
        float2 vPre[kVBatch];
#pragma unroll
        for (int u = 0; u < kVBatch; ++u) {
            int pp = rl + u * rowLanes;
            vPre[u] = make_float2(0.0f, 0.0f);
            if (vOwner && pp < tileEnd) vPre[u] = loadPair<F16>(vCache, vBase + pp * rowStride);
        }
        {
            // 4 lanes per cache row: row pp = 8 * warp + lane / 4, lane % 4 takes a quarter of
            // the dimensions; all loads of a lane are independent, so they overlap.
            int pp = 8 * warp + lane / 4, part = lane % 4;
            int64_t p = t0 + pp;
            float dot[kMaxGroup];
#pragma unroll
            for (int g = 0; g < kMaxGroup; ++g) dot[g] = 0.0f;
            if (p < end) {
                int64_t rowAt = p * rowStride + kvh * D;
                if (quadK) {
                    // Lane part takes the quads part, part + 4, ...: the four lanes of a row read
                    // one 32-byte run of it (half) and different smem banks of q.
#pragma unroll 8
                    for (int64_t d = 4 * part; d < D; d += 16) {
                        float4 kv = loadQuad<F16>(kCache, rowAt + d);
#pragma unroll
                        for (int g = 0; g < kMaxGroup; ++g) {
                            if (g < G) {
                                float4 qv = *reinterpret_cast<const float4*>(&qs[g * D + d]);
                                dot[g] += qv.x * kv.x + qv.y * kv.y + qv.z * kv.z + qv.w * kv.w;
                            }
                        }
                    }
                } else {
#pragma unroll 4
                    for (int64_t d = 2 * part; d < D; d += 8) {
                        float2 kv = loadPair<F16>(kCache, rowAt + d);
#pragma unroll
                        for (int g = 0; g < kMaxGroup; ++g) {
                            if (g < G) dot[g] += qs[g * D + d] * kv.x + qs[g * D + d + 1] * kv.y;
                        }
                    }
                }
            }
#pragma unroll
            for (int g = 0; g < kMaxGroup; ++g) {
                if (g >= G) break;
                float sc = dot[g];
                sc += gpu::shflXor(sc, 1);
                sc += gpu::shflXor(sc, 2);
                if (part == 0) scores[g][pp] = p < end ? sc : -INFINITY;
            }
        }
        __syncthreads();
        // Online softmax, one warp per head: lane pp holds row pp of the tile.
        for (int g = warp; g < G; g += kThreads / gpu::kWarp) {
            float sc = lane < tileEnd ? scores[g][lane] : -INFINITY;
            float mOld = mRun[g], mn = fmaxf(mOld, gpu::warpMax(sc));
            float w = lane < tileEnd ? expf(sc - mn) : 0.0f;
            scores[g][lane] = w;
            float sum = gpu::warpSum(w);
            gpu::syncWarp();  // every lane has read mRun[g] before lane 0 replaces it
            if (lane == 0) {
                float c = expf(mOld - mn);
                lRun[g] = lRun[g] * c + sum;
                mRun[g] = mn;
                corr[g] = c;
            }
        }
        __syncthreads();
        if (vOwner) {
#pragma unroll
            for (int g = 0; g < kMaxGroup; ++g) {
                float c = g < G ? corr[g] : 0.0f;
                acc[g].x *= c;
                acc[g].y *= c;
            }
#pragma unroll
            for (int u = 0; u < kVBatch; ++u) {
                int pp = rl + u * rowLanes;
                if (pp < tileEnd) {
#pragma unroll
                    for (int g = 0; g < kMaxGroup; ++g) {
                        if (g < G) {
                            float w = scores[g][pp];
                            acc[g].x += w * vPre[u].x;
                            acc[g].y += w * vPre[u].y;
                        }
                    }
                }
            }
            for (int pp = rl + kVBatch * rowLanes; pp < tileEnd; pp += rowLanes) {
                float2 v = loadPair<F16>(vCache, vBase + pp * rowStride);
#pragma unroll
                for (int g = 0; g < kMaxGroup; ++g) {
                    if (g < G) {
                        float w = scores[g][pp];
                        acc[g].x += w * v.x;
                        acc[g].y += w * v.y;
                    }
                }
            }
        }
        __syncthreads();
    }
    // Merge the row lanes: merge[(rl * G + g) * D + d].
    if (vOwner) {
#pragma unroll
        for (int g = 0; g < kMaxGroup; ++g) {
            if (g < G) {
                merge[(rl * G + g) * D + 2 * vp] = acc[g].x;
                merge[(rl * G + g) * D + 2 * vp + 1] = acc[g].y;
            }
        }
    }
    __syncthreads();

    for (int64_t e = tid; e < G * D; e += kThreads) {
        int g = static_cast<int>(e / D);
        int64_t d = e % D, h = h0 + g;
        float v = 0.0f;
        for (int r = 0; r < rowLanes; ++r) v += merge[r * G * D + e];
        if (a.splits == 1) {
            float lsum = lRun[g];
            out[(i * a.heads + h) * D + d] = lsum > 0.0f ? v / lsum : 0.0f;
        } else {
            float* part = partials + ((i * a.heads + h) * a.splits + s) * (D + 2);
            if (d == 0) {
                part[0] = mRun[g];
                part[1] = lRun[g];
            }
            part[2 + d] = v;
        }
    }
}

constexpr int kCombineThreads = 512;

// One block a head: warp 0 weighs the splits, then `slices` groups of D threads each sum every
// slices-th split (all their loads independent) and the groups are added in shared memory.
__global__ void __launch_bounds__(kCombineThreads)
combineKernel(float* __restrict__ out, const float* __restrict__ partials, AttentionArgs a, Q8Buffer q8) {
    gpu::dependencyWait();
    __shared__ float factor[64];
    __shared__ float invDen;
    __shared__ float sums[kCombineThreads];
    int h = blockIdx.x, i = blockIdx.y, tid = threadIdx.x;
    int D = static_cast<int>(a.headDim), splits = a.splits;
    const float* base = partials + (static_cast<int64_t>(i) * a.heads + h) * splits * (D + 2);
    if (tid < gpu::kWarp) {
        int lane = tid;
        float m0 = lane < splits ? base[lane * (D + 2)] : -INFINITY;
        float l0 = lane < splits ? base[lane * (D + 2) + 1] : 0.0f;
        float m1 = lane + 32 < splits ? base[(lane + 32) * (D + 2)] : -INFINITY;
        float l1 = lane + 32 < splits ? base[(lane + 32) * (D + 2) + 1] : 0.0f;
        float mMax = gpu::warpMax(fmaxf(m0, m1));
        // Empty splits (beyond the position) weigh 0.
        float f0 = l0 > 0.0f ? expf(m0 - mMax) : 0.0f, f1 = l1 > 0.0f ? expf(m1 - mMax) : 0.0f;
        if (lane < splits) factor[lane] = f0;
        if (lane + 32 < splits) factor[lane + 32] = f1;
        float den = gpu::warpSum(f0 * l0 + f1 * l1);
        if (lane == 0) invDen = den > 0.0f ? 1.0f / den : 0.0f;
    }
    __syncthreads();
    int slices = kCombineThreads / D, slice = tid / D, d = tid % D;
    float num = 0.0f;
    if (slice < slices) {
#pragma unroll 4
        for (int sp = slice; sp < splits; sp += slices) num += factor[sp] * base[sp * (D + 2) + 2 + d];
        sums[tid] = num;
    }
    __syncthreads();
    if (tid < D) {
        for (int r = 1; r < slices; ++r) num += sums[r * D + tid];
        int64_t at = h * D + tid, k = a.heads * D;
        float v = num * invDen;
        out[i * k + at] = v;
        if (q8.qs) {  // D % 32 == 0: every chunk of 32 lies in one head, one warp
            quantizeChunk(v, static_cast<int8_t*>(q8.qs) + i * k + (at - tid % gpu::kWarp),
                          static_cast<float2*>(q8.ds) + i * (k / 32) + at / 32, tid % gpu::kWarp);
        }
    }
}

}  // namespace

int attentionSplits(int64_t heads, int64_t kvHeads, int64_t n, int64_t ctx, int multiprocessors) {
    int64_t perKv = heads / kvHeads;
    int64_t blocks = kvHeads * ((perKv + kMaxGroup - 1) / kMaxGroup) * n;
    // Decode is latency-bound (ncu: one 4-warp block an SM issued every 11 cycles): aim for 4
    // blocks an SM, down to 16 cache rows a block.
    int64_t want = 4 * static_cast<int64_t>(multiprocessors);
    if (blocks >= want) return 1;
    int64_t splits = (want + blocks - 1) / blocks;
    splits = std::min<int64_t>(splits, (ctx + 15) / 16);
    return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(splits, 64)));
}

size_t attentionPartialFloats(const AttentionArgs& a) {
    return a.splits > 1 ? static_cast<size_t>(a.n * a.heads * a.splits * (a.headDim + 2)) : 0;
}

bool attention(float* out, const float* q, const void* kCache, const void* vCache, const int32_t* positions,
               const AttentionArgs& a, float* partials, gpuStream_t stream, const Q8Buffer& q8) {
    int64_t perKv = a.heads / a.kvHeads, chunks = (perKv + kMaxGroup - 1) / kMaxGroup;
    dim3 grid(static_cast<unsigned>(a.splits), static_cast<unsigned>(a.kvHeads * chunks), static_cast<unsigned>(a.n));
    if (a.f16Cache) gpu::launch(attentionKernel<true>, grid, kThreads, 0, stream, out, q, kCache, vCache, positions, a, partials);
    else gpu::launch(attentionKernel<false>, grid, kThreads, 0, stream, out, q, kCache, vCache, positions, a, partials);
    if (a.splits > 1) {
        bool quantize = q8.qs && a.headDim % 32 == 0;
        dim3 mergeGrid(static_cast<unsigned>(a.heads), static_cast<unsigned>(a.n));
        gpu::launch(combineKernel, mergeGrid, kCombineThreads, 0, stream, out, partials, a,
                    quantize ? q8 : Q8Buffer{});
        return quantize;
    }
    return false;
}

}  // namespace hearth::cuda
