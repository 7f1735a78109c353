// Backend::sample on the GPU (CUDA, and HIP from the same source): one block of 1024 threads per
// row, so that only the drawn token id has to reach the host and a decode step stays one graph.
//
//   1. the candidates, two passes over the row in the usual case: the k-th largest of the
//      1024 per-thread maxima bounds the k-th largest logit from below, and the few logits at or
//      above that bound are collected and bitonic-sorted (logit desc, id asc) in shared memory.
//      When more than kStage logits pass the bound (a large k, a flat row), a radix select
//      finds the k-th largest key instead (11 + 11 + 10 bits, a shared histogram per pass over
//      the row), then the candidates are gathered (ties at the threshold by ascending id, as
//      backend.h orders them) and sorted; no sort of the vocabulary either way;
//   2. softmax, top-p and min-p cuts, tempered softmax and the inverse-CDF draw with u, as block
//      prefix sums over the sorted candidates.
// Everything goes through shared memory and __syncthreads, never warp shuffles, so the 64-lane
// waves of CDNA need nothing special. Floats throughout: see backend.h for what that allows.
#include <climits>
#include <cstdint>

#include "backends/cuda/cuda_backend.h"

namespace hearth::cuda {
namespace {

// One candidate per thread when sorting.
constexpr int kSampleThreads = kSampleMaxTopK;
static_assert(kSampleThreads == 1024, "the radix passes give each thread 1 or 2 buckets");
// Logits at or above the bound that the fast path collects.
constexpr int kStage = 2048;

// Unsigned keys in the order of the floats they come from (finite values only).
__device__ __forceinline__ uint32_t orderedKey(float f) {
    uint32_t b = __float_as_uint(f);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__device__ __forceinline__ int clampTopK(float topK) {
    if (!(topK >= 1.0f) || topK > static_cast<float>(kSampleMaxTopK)) return kSampleMaxTopK;
    return static_cast<int>(topK);
}

// Inclusive prefix sum of one value per thread; `total` gets the sum of all. buf is free again on
// return.
template <class T>
__device__ T blockScan(T v, T* buf, T& total) {
    const int t = threadIdx.x;
    buf[t] = v;
    __syncthreads();
    for (int o = 1; o < kSampleThreads; o <<= 1) {
        T add = t >= o ? buf[t - o] : T(0);
        __syncthreads();
        v += add;
        buf[t] = v;
        __syncthreads();
    }
    total = buf[kSampleThreads - 1];
    __syncthreads();
    return v;
}

// Calls f(logit, id) for the row's logits that this thread owns: 16-byte loads, two in flight,
// where the row is aligned (a pass over the row is bound by the latency of one SM's loads).
template <class F>
__device__ __forceinline__ void forEachLogit(const float* row, int64_t vocab, F&& f) {
    const int t = threadIdx.x;
    int64_t done = 0;
    if ((reinterpret_cast<uintptr_t>(row) & 15) == 0) {
        const float4* v = reinterpret_cast<const float4*>(row);
        const int64_t quads = vocab / 4;
        int64_t q = t;
        for (; q + kSampleThreads < quads; q += 2 * kSampleThreads) {
            const float4 a = v[q], b = v[q + kSampleThreads];
            const int64_t i = 4 * q, j = 4 * (q + kSampleThreads);
            f(a.x, i); f(a.y, i + 1); f(a.z, i + 2); f(a.w, i + 3);
            f(b.x, j); f(b.y, j + 1); f(b.z, j + 2); f(b.w, j + 3);
        }
        if (q < quads) {
            const float4 a = v[q];
            const int64_t i = 4 * q;
            f(a.x, i); f(a.y, i + 1); f(a.z, i + 2); f(a.w, i + 3);
        }
        done = quads * 4;
    }
    for (int64_t i = done + t; i < vocab; i += kSampleThreads) f(row[i], i);
}

struct Shared {
    uint32_t hist[2048];
    int scanInt[kSampleThreads];
    float scanFloat[kSampleThreads];
    float logit[kSampleThreads];  // the candidates
    int id[kSampleThreads];
    float stageLogit[kStage];     // the fast path's logits at or above the bound
    int stageId[kStage];
    int bucket, bucketAbove, bucketCount;
    int slots;
    int topPCut, minPCut, drawn;
};

// Finds the key of the `want`-th largest finite logit of the row (want is clamped to the number
// of finite logits; 0 when there is none). On return, `rank` says how many elements equal to the
// key belong to the top `want` and `ties` how many there are.
__device__ uint32_t selectKey(Shared& s, const float* row, int64_t vocab, int& want, int& rank, int& ties) {
    const int t = threadIdx.x;
    uint32_t prefix = 0, mask = 0;
    rank = want;
    for (int pass = 0; pass < 3; ++pass) {
        const int shift = pass == 0 ? 21 : pass == 1 ? 10 : 0;
        const int buckets = pass == 2 ? 1024 : 2048;
        for (int b = t; b < buckets; b += kSampleThreads) s.hist[b] = 0;
        __syncthreads();
        forEachLogit(row, vocab, [&](float l, int64_t) {
            if (!isfinite(l)) return;
            const uint32_t key = orderedKey(l);
            if ((key & mask) == prefix) atomicAdd(&s.hist[(key >> shift) & (buckets - 1)], 1u);
        });
        __syncthreads();
        // Thread t owns `per` buckets, counted from the top, so a prefix sum gives each the count above.
        const int per = buckets / kSampleThreads;
        int local = 0;
        for (int j = 0; j < per; ++j) local += static_cast<int>(s.hist[buckets - 1 - (t * per + j)]);
        int total = 0;
        int above = blockScan(local, s.scanInt, total) - local;
        if (pass == 0) {
            want = min(want, total);
            rank = want;
            if (want == 0) return 0;
        }
        for (int j = 0; j < per; ++j) {
            const int b = buckets - 1 - (t * per + j);
            const int h = static_cast<int>(s.hist[b]);
            if (above < rank && rank <= above + h) {
                s.bucket = b;
                s.bucketAbove = above;
                s.bucketCount = h;
            }
            above += h;
        }
        __syncthreads();
        prefix |= static_cast<uint32_t>(s.bucket) << shift;
        mask |= static_cast<uint32_t>(buckets - 1) << shift;
        rank -= s.bucketAbove;
        ties = s.bucketCount;
        __syncthreads();
    }
    return prefix;
}

// Copies the top `want` candidates (all keys above `key`, and the `rank` smallest ids of those
// equal to it) into s.logit/s.id, unordered.
__device__ void gather(Shared& s, const float* row, int64_t vocab, uint32_t key, int rank, int ties) {
    const int t = threadIdx.x;
    if (t == 0) s.slots = 0;
    __syncthreads();
    const bool allTies = rank == ties;
    forEachLogit(row, vocab, [&](float l, int64_t i) {
        if (!isfinite(l)) return;
        const uint32_t k = orderedKey(l);
        if (k > key || (allTies && k == key)) {
            const int slot = atomicAdd(&s.slots, 1);
            s.logit[slot] = l;
            s.id[slot] = static_cast<int>(i);
        }
    });
    if (allTies) {
        __syncthreads();
        return;
    }
    // Only some of the equal logits are kept: walk the row in id order, a tile at a time, and
    // rank the ties of each tile by a prefix sum. Rare (equal logits right at the k-th place),
    // so a barrier-heavy walk is fine. (Not __syncthreads_count: hipcc -O0 miscompiles it for
    // gfx10+.)
    int taken = 0;
    for (int64_t base = 0; base < vocab && taken < rank; base += kSampleThreads) {
        const int64_t i = base + t;
        const float l = i < vocab ? row[i] : 0.0f;
        const bool tie = i < vocab && isfinite(l) && orderedKey(l) == key;
        int count = 0;
        const int upTo = blockScan(tie ? 1 : 0, s.scanInt, count);  // inclusive
        if (tie && taken + upTo <= rank) {
            const int slot = atomicAdd(&s.slots, 1);
            s.logit[slot] = l;
            s.id[slot] = static_cast<int>(i);
        }
        taken += count;
    }
    __syncthreads();
}

// Sorts n (a power of two, at most 2 * kSampleThreads) pairs in candidate order: logit
// descending, id ascending.
__device__ void bitonicSort(float* logit, int* id, int n) {
    for (int size = 2; size <= n; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            for (int c = threadIdx.x; c < n / 2; c += kSampleThreads) {
                const int i = 2 * stride * (c / stride) + c % stride, j = i + stride;
                const float a = logit[i], b = logit[j];
                const int ia = id[i], ib = id[j];
                const bool jFirst = b > a || (b == a && ib < ia);
                const bool ascending = (i & size) == 0;  // this run is in candidate order
                if (jFirst == ascending) {
                    logit[i] = b;
                    logit[j] = a;
                    id[i] = ib;
                    id[j] = ia;
                }
            }
            __syncthreads();
        }
    }
}

// The fast path: every one of the top m logits is >= the m-th largest per-thread maximum (those
// m maxima are m logits >= it), so collecting the logits >= that bound and sorting them gives
// the candidates, ties included, in order. Returns false, deciding nothing, when more than
// kStage logits pass the bound; otherwise leaves the candidates sorted in s.logit/s.id and m
// clamped to their number.
__device__ bool stagedCandidates(Shared& s, const float* row, int64_t vocab, int& m) {
    const int t = threadIdx.x;
    float localMax = -INFINITY;
    forEachLogit(row, vocab, [&](float l, int64_t) {
        if (isfinite(l)) localMax = fmaxf(localMax, l);
    });
    s.logit[t] = localMax;
    s.id[t] = t;
    if (t == 0) s.slots = 0;
    __syncthreads();
    bitonicSort(s.logit, s.id, kSampleThreads);
    const float bound = s.logit[m - 1];
    forEachLogit(row, vocab, [&](float l, int64_t i) {
        if (isfinite(l) && l >= bound) {
            const int slot = atomicAdd(&s.slots, 1);
            if (slot < kStage) {
                s.stageLogit[slot] = l;
                s.stageId[slot] = static_cast<int>(i);
            }
        }
    });
    __syncthreads();
    const int count = s.slots;
    if (count > kStage) return false;
    int n = 1;
    while (n < count) n <<= 1;
    for (int i = count + t; i < n; i += kSampleThreads) {
        s.stageLogit[i] = -INFINITY;
        s.stageId[i] = INT_MAX;
    }
    __syncthreads();
    bitonicSort(s.stageLogit, s.stageId, n);
    m = min(m, count);
    for (int i = t; i < m; i += kSampleThreads) {
        s.logit[i] = s.stageLogit[i];
        s.id[i] = s.stageId[i];
    }
    __syncthreads();
    return true;
}

__global__ void __launch_bounds__(kSampleThreads)
sampleKernel(int32_t* out, const float* __restrict__ x, int64_t vocab, const float* __restrict__ params) {
    gpu::dependencyWait();
    __shared__ Shared s;
    const int t = threadIdx.x;
    const float* row = x + static_cast<int64_t>(blockIdx.x) * vocab;
    const float* p = params + static_cast<int64_t>(blockIdx.x) * kSampleParamCount;
    const float temperature = p[kSampleTemperature];
    const bool greedy = !(temperature > 0.0f);

    int m = greedy ? 1 : clampTopK(p[kSampleTopK]);
    if (!stagedCandidates(s, row, vocab, m)) {
        int rank = 0, ties = 0;
        const uint32_t key = selectKey(s, row, vocab, m, rank, ties);
        if (m > 0) {
            gather(s, row, vocab, key, rank, ties);
            int n = 1;
            while (n < m) n <<= 1;
            if (t >= m && t < n) {
                s.logit[t] = -INFINITY;
                s.id[t] = INT_MAX;
            }
            __syncthreads();
            bitonicSort(s.logit, s.id, n);
        }
    }
    if (m == 0) {  // no finite logit
        if (t == 0) out[blockIdx.x] = 0;
        return;
    }
    if (greedy) {  // the one candidate is the largest logit, the smallest id on ties
        if (t == 0) out[blockIdx.x] = s.id[0];
        return;
    }

    // Weights relative to the best candidate (weight 1), so min-p compares weights directly.
    const float best = s.logit[0];
    const float w = t < m ? expf(s.logit[t] - best) : 0.0f;
    float total = 0.0f;
    const float cum = blockScan(w, s.scanFloat, total);
    if (t == 0) {
        s.topPCut = m;
        s.minPCut = m;
    }
    __syncthreads();
    const float topP = p[kSampleTopP], minP = p[kSampleMinP];
    if (topP < 1.0f && t < m && cum >= topP * total) atomicMin(&s.topPCut, t + 1);
    if (minP > 0.0f && t > 0 && t < m && w < minP) atomicMin(&s.minPCut, t);
    __syncthreads();
    const int keep = max(1, min(s.topPCut, s.minPCut));

    const float q = t < keep ? expf((s.logit[t] - best) / temperature) : 0.0f;
    float qTotal = 0.0f;
    const float qCum = blockScan(q, s.scanFloat, qTotal);
    if (t == 0) s.drawn = keep - 1;
    __syncthreads();
    const float target = p[kSampleUniform] * qTotal;
    if (t < keep && target < qCum) atomicMin(&s.drawn, t);
    __syncthreads();
    if (t == 0) out[blockIdx.x] = s.id[s.drawn];
}

}  // namespace

void CudaBackend::sample(const Tensor& out, const Tensor& x, const Tensor& params) {
    const int64_t vocab = x.ne[0], n = x.rows();
    if (out.type != DType::I32 || x.type != DType::F32 || params.type != DType::F32)
        fail("sample: out must be i32, x and params f32");
    if (out.elements() != n || params.ne[0] != kSampleParamCount || params.rows() != n)
        fail("sample: out must hold one id and params " + std::to_string(kSampleParamCount) +
             " values per row of x (" + std::to_string(n) + " rows)");
    if (vocab > INT_MAX) fail("sample: rows of more than 2^31 logits are not supported");
    int32_t* o = ptr<int32_t>(out, "sample");
    const float* xs = ptr<float>(x, "sample");
    const float* ps = ptr<float>(params, "sample");
    flush();
    if (n == 0) return;
    gpu::launch(sampleKernel, static_cast<unsigned>(n), kSampleThreads, 0, stream_, o, xs, vocab, ps);
    afterLaunch("sample");
}

}  // namespace hearth::cuda
