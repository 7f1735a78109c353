// Causal attention for many queries at once (prefill), tiled with an online softmax on the
// tensor cores (flash attention, v2 layout): a block takes 64 query rows of one kv head -- the
// rows are (token, head) pairs of the heads that share it, so each K/V tile read from the F16
// cache serves the whole GQA group -- and walks the cache in tiles of 32 rows through shared
// memory. Each warp owns 16 query rows: S = Q K^T and O += P V are m16n8k16 products
// (gpu::mma16816) whose accumulators stay in registers, the softmax weights P passing from one
// product to the next without a trip through memory.
//
// Causal prefill is lopsided: the last tokens see the whole cache, the first almost nothing, so
// the longest block sets the time. Two groups of 4 warps share the block's rows and take every
// other tile (merged at the end), tiles arrive by cp.async two deep per group, and the blocks of
// the last tokens are started first.
//
// Accuracy: K and V are exact halves already; Q and P are not, so each is split into
// hi = half(x) and lo = half(x - hi) and multiplied twice. That keeps the result at float level
// (the op checks hold it to the CPU within NMSE 1e-10) for twice the products, which costs little
// here: prefill attention is a few percent of the model's FLOPs.
#include <cstdlib>
#include <string>

#include "backends/cuda/prefill_kernels.h"
#include "backends/cuda/tensor_core.cuh"

namespace hearth::cuda {
namespace {

constexpr int kGroupWarps = 4, kGroups = 2, kThreads = kGroupWarps * kGroups * gpu::kWarp;
constexpr int kRows = 16 * kGroupWarps, kTile = 32, kStages = 2;

template <int D>
struct Layout {
    static constexpr int kLd = D + 8;  // halves per smem row: rows stay 16-byte aligned, banks spread
    static constexpr size_t kTileHalves = static_cast<size_t>(kTile) * kLd;
    // [group][stage][K, V] tiles; after the loop the same bytes hold group 1's partial results.
    static constexpr size_t kBytes = kGroups * kStages * 2 * kTileHalves * sizeof(__half);
    static constexpr int kMergeLd = D / 2 + 4;  // floats a lane: o[D/8][4], m[2], l[2]
    static_assert(static_cast<size_t>(kGroupWarps) * gpu::kWarp * kMergeLd * sizeof(float) <= kBytes);
};

// Splits (x, y) into the half pair hi and the half pair of what hi misses.
__device__ __forceinline__ void splitPair(float x, float y, uint32_t& hi, uint32_t& lo) {
    hi = gpu::packHalf2(x, y);
    float2 back = gpu::unpackHalf2(hi);
    lo = gpu::packHalf2(x - back.x, y - back.y);
}

// Block (c, kvh): tokens [c * T, c * T + T) with T = kRows / G, all G heads of kv head kvh
// (c counted from the last block, so the longest blocks start first). Row R = token * G +
// head-in-group; warp w of either group owns rows 16 (w % 4) .. + 15; group j takes the cache
// tiles j, j + 2, j + 4, ...
template <int D>
__global__ void __launch_bounds__(kThreads)
attentionPrefillKernel(float* __restrict__ out, const float* __restrict__ q, const __half* __restrict__ kCache,
                       const __half* __restrict__ vCache, const int32_t* __restrict__ positions, AttentionArgs a) {
    using L = Layout<D>;
    gpu::dependencyWait();
    extern __shared__ int4 dynamicSmem[];
    auto* tiles = reinterpret_cast<__half*>(dynamicSmem);
    __shared__ int pos[kRows];  // last visible cache row of each token of the block, -1: none
    const int G = static_cast<int>(a.heads / a.kvHeads), T = kRows / G;
    const int tid = threadIdx.x, warp = tid / gpu::kWarp, lane = tid % gpu::kWarp, g = lane / 4, t = lane % 4;
    const int group = warp / kGroupWarps, gtid = tid % (kGroupWarps * gpu::kWarp);
    const int64_t i0 = static_cast<int64_t>(gridDim.x - 1 - blockIdx.x) * T, kvh = blockIdx.y;
    const int64_t rowStride = a.kvHeads * D;  // halves between cache rows

    if (tid < T) {
        int64_t i = i0 + tid;
        pos[tid] = i < a.n ? static_cast<int>(min(static_cast<int64_t>(positions[i]), a.ctx - 1)) : -1;
    }
    __syncthreads();
    int blockLen = 0;  // cache rows any token of the block sees
    for (int j = 0; j < T; ++j) blockLen = max(blockLen, pos[j] + 1);

    // This lane's two rows (g and g + 8 of the warp's 16): their token, head and last row.
    int64_t token[2], head[2];
    int last[2];
    bool valid[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        int R = 16 * (warp % kGroupWarps) + g + 8 * r, local = R / G;
        token[r] = i0 + local;
        head[r] = kvh * G + R % G;
        valid[r] = local < T && token[r] < a.n;
        last[r] = valid[r] ? pos[local] : -1;
    }
    int warpLen = max(last[0], last[1]) + 1;
    warpLen = max(warpLen, gpu::warpShflXorInt(warpLen, 4));
    warpLen = max(warpLen, gpu::warpShflXorInt(warpLen, 8));
    warpLen = max(warpLen, gpu::warpShflXorInt(warpLen, 16));

    // Rows past blockLen arrive as zeros: P is 0 there, and 0 * (a never-written NaN) would not be.
    auto tile = [&](int stage, int kv) { return tiles + ((group * kStages + stage) * 2 + kv) * L::kTileHalves; };
    auto issue = [&](int index) {  // this group's tile `index` (of 32 rows) into its stage index / 2 % 2
        int t0 = index * kTile;
        __half* k = tile(index / kGroups % kStages, 0);
        __half* v = tile(index / kGroups % kStages, 1);
        constexpr int kChunks = D / 8;  // 16-byte pieces of a row
        for (int c = gtid; c < kTile * kChunks; c += kGroupWarps * gpu::kWarp) {
            int row = c / kChunks, piece = c % kChunks;
            bool inside = t0 + row < blockLen;
            int64_t at = (inside ? (t0 + row) * rowStride : 0) + kvh * D + 8 * piece;
            gpu::copy16(k + row * L::kLd + 8 * piece, kCache + at, inside);
            gpu::copy16(v + row * L::kLd + 8 * piece, vCache + at, inside);
        }
        gpu::copyCommit();
    };
    const int tiles_ = (blockLen + kTile - 1) / kTile, iterations = (tiles_ + kGroups - 1) / kGroups;
    if (group < tiles_) issue(group);

    // Q fragments, scaled, as hi + lo halves: chunk kk holds dimensions 16kk .. 16kk + 15.
    uint32_t qHi[D / 16][4], qLo[D / 16][4];
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
        for (int f = 0; f < 4; ++f) {
            int r = f % 2, d = 16 * kk + 2 * t + 8 * (f / 2);
            float2 v = make_float2(0.0f, 0.0f);
            if (valid[r]) v = *reinterpret_cast<const float2*>(q + (token[r] * a.heads + head[r]) * D + d);
            splitPair(v.x * a.scale, v.y * a.scale, qHi[kk][f], qLo[kk][f]);
        }
    }

    float o[D / 8][4];
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[dt][e] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // l: this lane's columns only

    for (int it = 0; it < iterations; ++it) {
        int index = it * kGroups + group;
        if (index + kGroups < tiles_) issue(index + kGroups);
        else gpu::copyCommit();  // an empty group keeps the count of groups in flight fixed
        gpu::copyWait<1>();
        __syncthreads();
        const int t0 = index * kTile;
        if (index < tiles_ && t0 < warpLen) {
            const __half* ks = tile(it % kStages, 0);
            const __half* vs = tile(it % kStages, 1);
            float s[kTile / 8][4];
#pragma unroll
            for (int nt = 0; nt < kTile / 8; ++nt)
#pragma unroll
                for (int e = 0; e < 4; ++e) s[nt][e] = 0.0f;
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
                for (int nt = 0; nt < kTile / 8; nt += 2) {
                    uint32_t b[4];
                    gpu::loadBPairs(b, ks + 8 * nt * L::kLd + 16 * kk, L::kLd);
                    gpu::mma16816(s[nt], qHi[kk], b);
                    gpu::mma16816(s[nt], qLo[kk], b);
                    gpu::mma16816(s[nt + 1], qHi[kk], b + 2);
                    gpu::mma16816(s[nt + 1], qLo[kk], b + 2);
                }
            }
            // Causal mask, then the online softmax per row (a quad of lanes shares a row).
            float corr[2];
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                float mx = -INFINITY;
#pragma unroll
                for (int nt = 0; nt < kTile / 8; ++nt)
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        int p = t0 + 8 * nt + 2 * t + e;
                        float& v = s[nt][2 * r + e];
                        if (p > last[r]) v = -INFINITY;
                        mx = fmaxf(mx, v);
                    }
                mx = fmaxf(mx, gpu::shflXor(mx, 1));
                mx = fmaxf(mx, gpu::shflXor(mx, 2));
                float mNew = fmaxf(m[r], mx);
                float base = mNew == -INFINITY ? 0.0f : mNew;  // a row with nothing visible yet
                corr[r] = expf(m[r] - base);
                m[r] = mNew;
                float sum = 0.0f;
#pragma unroll
                for (int nt = 0; nt < kTile / 8; ++nt)
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        float& v = s[nt][2 * r + e];
                        v = expf(v - base);
                        sum += v;
                    }
                l[r] = l[r] * corr[r] + sum;
            }
#pragma unroll
            for (int dt = 0; dt < D / 8; ++dt) {
                o[dt][0] *= corr[0];
                o[dt][1] *= corr[0];
                o[dt][2] *= corr[1];
                o[dt][3] *= corr[1];
            }
#pragma unroll
            for (int kk = 0; kk < kTile / 16; ++kk) {
                uint32_t pHi[4], pLo[4];
                splitPair(s[2 * kk][0], s[2 * kk][1], pHi[0], pLo[0]);
                splitPair(s[2 * kk][2], s[2 * kk][3], pHi[1], pLo[1]);
                splitPair(s[2 * kk + 1][0], s[2 * kk + 1][1], pHi[2], pLo[2]);
                splitPair(s[2 * kk + 1][2], s[2 * kk + 1][3], pHi[3], pLo[3]);
#pragma unroll
                for (int dt = 0; dt < D / 8; dt += 2) {
                    uint32_t b[4];
                    gpu::loadBPairsTransposed(b, vs + 16 * kk * L::kLd + 8 * dt, L::kLd);
                    gpu::mma16816(o[dt], pHi, b);
                    gpu::mma16816(o[dt], pLo, b);
                    gpu::mma16816(o[dt + 1], pHi, b + 2);
                    gpu::mma16816(o[dt + 1], pLo, b + 2);
                }
            }
        }
        __syncthreads();  // the stage just read is refilled next
    }

#pragma unroll
    for (int r = 0; r < 2; ++r) {
        l[r] += gpu::shflXor(l[r], 1);
        l[r] += gpu::shflXor(l[r], 2);
    }
    // Group 1 hands its (m, l, o) over; group 0 merges the two online softmaxes and writes.
    auto* merge = reinterpret_cast<float*>(dynamicSmem) + (warp % kGroupWarps * gpu::kWarp + lane) * L::kMergeLd;
    if (group == 1) {
#pragma unroll
        for (int dt = 0; dt < D / 8; ++dt)
#pragma unroll
            for (int e = 0; e < 4; ++e) merge[4 * dt + e] = o[dt][e];
        merge[D / 2] = m[0];
        merge[D / 2 + 1] = m[1];
        merge[D / 2 + 2] = l[0];
        merge[D / 2 + 3] = l[1];
    }
    __syncthreads();
    if (group == 1) return;
    float c0[2], c1[2], inv[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        float m1 = merge[D / 2 + r], mx = fmaxf(m[r], m1);
        float base = mx == -INFINITY ? 0.0f : mx;
        c0[r] = expf(m[r] - base);
        c1[r] = expf(m1 - base);
        float sum = l[r] * c0[r] + merge[D / 2 + 2 + r] * c1[r];
        inv[r] = sum > 0.0f ? 1.0f / sum : 0.0f;
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        if (!valid[r]) continue;
        float* dst = out + (token[r] * a.heads + head[r]) * D + 2 * t;
#pragma unroll
        for (int dt = 0; dt < D / 8; ++dt) {
            float x = o[dt][2 * r] * c0[r] + merge[4 * dt + 2 * r] * c1[r];
            float y = o[dt][2 * r + 1] * c0[r] + merge[4 * dt + 2 * r + 1] * c1[r];
            *reinterpret_cast<float2*>(dst + 8 * dt) = make_float2(x * inv[r], y * inv[r]);
        }
    }
}

template <int D>
void launchPrefill(float* out, const float* q, const void* kCache, const void* vCache, const int32_t* positions,
                   const AttentionArgs& a, gpuStream_t stream) {
    auto kernel = attentionPrefillKernel<D>;
    // Per launch: the limit belongs to the current device, and this is once a layer.
    (void)gpuFuncSetAttribute(reinterpret_cast<const void*>(kernel), gpuFuncAttributeMaxDynamicSharedMemorySize,
                              static_cast<int>(Layout<D>::kBytes));
    int64_t tokensPerBlock = kRows / (a.heads / a.kvHeads);
    dim3 grid(static_cast<unsigned>((a.n + tokensPerBlock - 1) / tokensPerBlock), static_cast<unsigned>(a.kvHeads));
    gpu::launch(kernel, grid, kThreads, Layout<D>::kBytes, stream, out, q, static_cast<const __half*>(kCache),
                static_cast<const __half*>(vCache), positions, a);
}

}  // namespace

bool attentionPrefill(float* out, const float* q, const void* kCache, const void* vCache, const int32_t* positions,
                      const AttentionArgs& a, gpuStream_t stream) {
    // HEARTH_CUDA_PREFILL_ATTENTION=0 keeps the per-token kernel, for comparisons.
    static const bool enabled = [] {
        const char* e = std::getenv("HEARTH_CUDA_PREFILL_ATTENTION");
        return !(e && std::string(e) == "0");
    }();
    int64_t group = a.heads / a.kvHeads;
    bool aligned = (reinterpret_cast<uintptr_t>(kCache) | reinterpret_cast<uintptr_t>(vCache)) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(q) % 8 == 0 && reinterpret_cast<uintptr_t>(out) % 8 == 0;
    if (!enabled || !a.f16Cache || a.n < 2 || group > kRows || !aligned) return false;
    switch (a.headDim) {
        case 64: launchPrefill<64>(out, q, kCache, vCache, positions, a, stream); return true;
        case 80: launchPrefill<80>(out, q, kCache, vCache, positions, a, stream); return true;
        case 96: launchPrefill<96>(out, q, kCache, vCache, positions, a, stream); return true;
        case 128: launchPrefill<128>(out, q, kCache, vCache, positions, a, stream); return true;
        default: return false;
    }
}

}  // namespace hearth::cuda
