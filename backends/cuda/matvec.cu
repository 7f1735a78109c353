// Decode-time matrix × vector (n <= 8 columns): memory-bound, so each weight byte is read once,
// coalesced across the warp, and dequantized in registers. Quantized weights are dotted with
// q8_1 activations through dp4a (the activation is quantized once per matmul() call and shared
// by every projection of that call); F32/F16/BF16 weights are dotted with the float activation.
//
// Grid: one 128-thread block holds 4 warps; `warpsPerRow` (1, 2 or 4) of them split one row's k
// range, so that matrices with few rows still put enough loads in flight on every SM. The grid is
// persistent (as many blocks as are resident at once, walking the rows with a grid stride).
#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>

#include "backends/cuda/kernels.h"
#include "backends/cuda/quant_blocks.cuh"

namespace hearth::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

constexpr int kPrepWarps = 8, kPrepWarpsSingle = 32;

// Grid (chunks / 8, n): warp w of block x handles the 32-value chunk 8x + w of column y, one value
// per lane, so every element is read and written by the same thread (out may alias a). Norms
// need the whole column's sum of squares first: every block computes it (a few KiB from L2),
// which costs less than a second launch.
__global__ void __launch_bounds__(kPrepWarpsSingle * 32) prepareKernel(PrepArgs p) {
    gpu::dependencyWait();
    int lane = threadIdx.x % gpu::kWarp, warp = threadIdx.x / gpu::kWarp;
    int64_t col = blockIdx.y, chunks = p.k / 32;
    int warps = blockDim.x / gpu::kWarp;
    int64_t c = static_cast<int64_t>(blockIdx.x) * warps + warp;
    const float* a = p.a + col * p.k;
    const float* b = p.b ? p.b + col * p.k : nullptr;
    float scale = 1.0f;
    if (p.mode == Prep::Norm || p.mode == Prep::AddNorm) {
        float ss = 0.0f;
        const float4* a4 = reinterpret_cast<const float4*>(a);
        const float4* b4 = reinterpret_cast<const float4*>(b);
        bool vec = (reinterpret_cast<uintptr_t>(a) | reinterpret_cast<uintptr_t>(b)) % 16 == 0;
        if (vec) {
            for (int64_t i = threadIdx.x; i < p.k / 4; i += blockDim.x) {
                float4 v = a4[i];
                if (p.mode == Prep::AddNorm) {
                    float4 w = b4[i];
                    v.x += w.x; v.y += w.y; v.z += w.z; v.w += w.w;
                }
                ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
            }
        } else {
            for (int64_t i = threadIdx.x; i < p.k; i += blockDim.x) {
                float v = a[i] + (p.mode == Prep::AddNorm ? b[i] : 0.0f);
                ss += v * v;
            }
        }
        scale = rsqrtf(gpu::blockSum(ss) / static_cast<float>(p.k) + p.eps);
    }
    // One block per column when out/sum alias a (in-place norm, residual add): every block reads
    // the whole column above, so only one may write it. Otherwise one chunk per warp.
#pragma unroll 4
    for (; c < chunks; c += static_cast<int64_t>(gridDim.x) * warps) {
        int64_t i = c * 32 + lane;
        float v;
        switch (p.mode) {
            case Prep::Quantize: v = a[i]; break;
            case Prep::Norm: v = a[i] * scale * p.weight[i]; break;
            case Prep::AddNorm: {
                float sum = a[i] + b[i];
                p.sum[col * p.k + i] = sum;
                v = sum * scale * p.weight[i];
                break;
            }
            default: v = a[i] / (1.0f + expf(-a[i])) * b[i]; break;
        }
        if (p.out) p.out[col * p.k + i] = v;
        if (p.q8.qs) {
            int8_t* qs = static_cast<int8_t*>(p.q8.qs) + col * p.k;
            float2* ds = static_cast<float2*>(p.q8.ds) + col * chunks;
            quantizeChunk(v, qs + c * 32, ds + c, lane);
        }
    }
}

struct Jobs {
    MatVecJob job[kMatVecMaxJobs];
    int64_t rowEnd[kMatVecMaxJobs];  // cumulative rows: job j owns global rows [rowEnd[j-1], rowEnd[j])
    int count;
};

// The job and local row of a global row index (rows of all jobs laid end to end).
__device__ __forceinline__ int findJob(const Jobs& jobs, int64_t& row) {
    int j = 0;
    while (j + 1 < jobs.count && row >= jobs.rowEnd[j]) ++j;
    if (j > 0) row -= jobs.rowEnd[j - 1];
    return j;
}

// Sums the warps that shared a row and writes out[c * rows + row] for each column. Called by
// every thread of the block the same number of times (it synchronizes when warps share rows).
template <int NCOLS>
__device__ __forceinline__ void finishRow(float (&acc)[NCOLS], int warpsPerRow, bool valid, int64_t row,
                                         const MatVecJob& job) {
    __shared__ float part[kWarpsPerBlock][NCOLS];
#pragma unroll
    for (int c = 0; c < NCOLS; ++c) acc[c] = gpu::warpSum(acc[c]);
    int lane = threadIdx.x, w = threadIdx.y;
    bool lead = true;
    if (warpsPerRow > 1) {
        if (lane == 0) {
#pragma unroll
            for (int c = 0; c < NCOLS; ++c) part[w][c] = acc[c];
        }
        __syncthreads();
        lead = w % warpsPerRow == 0;
        if (lead) {
            for (int j = 1; j < warpsPerRow; ++j) {
#pragma unroll
                for (int c = 0; c < NCOLS; ++c) acc[c] += part[w + j][c];
            }
        }
        __syncthreads();  // part is reused by the block's next row
    }
    if (lead && lane == 0 && valid) {
        float b = job.bias ? job.bias[row] : 0.0f;
#pragma unroll
        for (int c = 0; c < NCOLS; ++c) {
            int64_t o = c * job.rows + row;
            job.out[o] = acc[c] + b;
            if (job.sum) job.sum[o] = job.addend[o] + (acc[c] + b);
        }
    }
}

// Persistent: the grid holds as many blocks as fit on the device at once, and each block walks
// the rows with a grid stride, so no block waits for a second wave and none is launched per row.
template <uint32_t kType, int NCOLS>  // a DType: see kernelType() in weight_repack.h
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
matVecQuant(Jobs jobs, int64_t blocksPerRow, int warpsPerRow, const int* __restrict__ xqs, const float2* __restrict__ xds) {
    gpu::dependencyWait();
    constexpr DType T = static_cast<DType>(kType);
    using D = Dot<T>;
    constexpr int kPerIter = gpu::kWarp / D::kThreads;
    constexpr int kXPerBlock = D::kBlockSize / 32;
    int lane = threadIdx.x;
    int rowsPerBlock = kWarpsPerBlock / warpsPerRow, part = threadIdx.y % warpsPerRow;
    int64_t total = jobs.rowEnd[jobs.count - 1];
    for (int64_t first = static_cast<int64_t>(blockIdx.x) * rowsPerBlock; first < total;
         first += static_cast<int64_t>(gridDim.x) * rowsPerBlock) {
        int64_t row = first + threadIdx.y / warpsPerRow;
        bool valid = row < total;
        int j = valid ? findJob(jobs, row) : 0;
        float acc[NCOLS] = {};
        if (valid) {
            const uint8_t* wr = jobs.job[j].w + row * blocksPerRow * D::kBytes;
            int t = lane % D::kThreads;
            int64_t step = static_cast<int64_t>(kPerIter) * warpsPerRow;
#pragma unroll 4
            for (int64_t b = lane / D::kThreads + part * kPerIter; b < blocksPerRow; b += step) {
#pragma unroll
                for (int c = 0; c < NCOLS; ++c) {
                    int64_t q8Block = (c * blocksPerRow + b) * kXPerBlock;
                    Q8Ref x{xqs + 8 * q8Block, xds + q8Block};
                    if constexpr (isPlanar(T)) acc[c] += D::partial(wr, b, blocksPerRow, t, x);
                    else acc[c] += D::partial(wr + b * D::kBytes, t, x);
                }
            }
        }
        finishRow<NCOLS>(acc, warpsPerRow, valid, row, jobs.job[j]);
    }
}

// 16 bytes of weights as 8 (F16/BF16) or 4 (F32) floats.
template <DType T> struct FloatRow;
template <> struct FloatRow<DType::F16> {
    static constexpr int kPer = 8;
    static __device__ __forceinline__ void load(const uint8_t* p, float* v) {
        int4 r = *reinterpret_cast<const int4*>(p);
        const half2* h = reinterpret_cast<const half2*>(&r);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            float2 f = __half22float2(h[i]);
            v[2 * i] = f.x;
            v[2 * i + 1] = f.y;
        }
    }
};
template <> struct FloatRow<DType::BF16> {
    static constexpr int kPer = 8;
    static __device__ __forceinline__ void load(const uint8_t* p, float* v) {
        int4 r = *reinterpret_cast<const int4*>(p);
        const uint32_t u[4] = {static_cast<uint32_t>(r.x), static_cast<uint32_t>(r.y), static_cast<uint32_t>(r.z),
                               static_cast<uint32_t>(r.w)};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            v[2 * i] = __uint_as_float(u[i] << 16);
            v[2 * i + 1] = __uint_as_float(u[i] & 0xffff0000u);
        }
    }
};
template <> struct FloatRow<DType::F32> {
    static constexpr int kPer = 4;
    static __device__ __forceinline__ void load(const uint8_t* p, float* v) {
        float4 r = *reinterpret_cast<const float4*>(p);
        v[0] = r.x; v[1] = r.y; v[2] = r.z; v[3] = r.w;
    }
};

// Needs k % kPer == 0 and 16-byte aligned rows and x (checked by the launcher).
template <DType T, int NCOLS>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
matVecFloat(Jobs jobs, int64_t k, int warpsPerRow, const float* __restrict__ x) {
    gpu::dependencyWait();
    using R = FloatRow<T>;
    constexpr int kBytesPer = 16;
    int lane = threadIdx.x;
    int rowsPerBlock = kWarpsPerBlock / warpsPerRow, part = threadIdx.y % warpsPerRow;
    int64_t total = jobs.rowEnd[jobs.count - 1];
    for (int64_t first = static_cast<int64_t>(blockIdx.x) * rowsPerBlock; first < total;
         first += static_cast<int64_t>(gridDim.x) * rowsPerBlock) {
        int64_t row = first + threadIdx.y / warpsPerRow;
        bool valid = row < total;
        int j = valid ? findJob(jobs, row) : 0;
        float acc[NCOLS] = {};
        if (valid) {
            int64_t vecs = k / R::kPer;
            const uint8_t* wr = jobs.job[j].w + row * vecs * kBytesPer;
#pragma unroll 4
            for (int64_t i = lane + static_cast<int64_t>(part) * gpu::kWarp; i < vecs; i += gpu::kWarp * warpsPerRow) {
                float v[R::kPer];
                R::load(wr + i * kBytesPer, v);
#pragma unroll
                for (int c = 0; c < NCOLS; ++c) {
                    const float4* xv = reinterpret_cast<const float4*>(x + c * k + i * R::kPer);
#pragma unroll
                    for (int e = 0; e < R::kPer / 4; ++e) {
                        float4 xx = xv[e];
                        acc[c] += v[4 * e] * xx.x + v[4 * e + 1] * xx.y + v[4 * e + 2] * xx.z + v[4 * e + 3] * xx.w;
                    }
                }
            }
        }
        finishRow<NCOLS>(acc, warpsPerRow, valid, row, jobs.job[j]);
    }
}

// Any float type and alignment: one element at a time, one job per launch.
template <DType T>
__global__ void matVecFloatScalar(MatVecJob job, int64_t k, int64_t n, const float* __restrict__ x) {
    gpu::dependencyWait();
    int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.y;
    int64_t col = blockIdx.y;
    if (row >= job.rows) return;
    float acc = 0.0f;
    for (int64_t i = threadIdx.x; i < k; i += gpu::kWarp) {
        float wv;
        if constexpr (T == DType::F32) wv = reinterpret_cast<const float*>(job.w)[row * k + i];
        else if constexpr (T == DType::F16) wv = gpu::halfToFloat(reinterpret_cast<const uint16_t*>(job.w)[row * k + i]);
        else wv = gpu::bf16ToFloat(reinterpret_cast<const uint16_t*>(job.w)[row * k + i]);
        acc += wv * x[col * k + i];
    }
    acc = gpu::warpSum(acc);
    if (threadIdx.x == 0) {
        int64_t o = col * job.rows + row;
        acc += job.bias ? job.bias[row] : 0.0f;
        job.out[o] = acc;
        if (job.sum) job.sum[o] = job.addend[o] + acc;
    }
}

// HEARTH_CUDA_MATVEC_WPR=1|2|4 forces the warps sharing a row (A/B runs of bench/cuda).
int forcedWarpsPerRow() {
    static const int forced = [] {
        const char* w = std::getenv("HEARTH_CUDA_MATVEC_WPR");
        int v = w ? std::atoi(w) : 0;
        return v == 1 || v == 2 || v == 4 ? v : 0;
    }();
    return forced;
}

// Measured on the H100 (bench/cuda matvec): a warp per row wins for Q4_K/Q5_K from 2048 rows on
// (o: 7.8 -> 6.5 us, 8B down: 16.1 -> 14.2 us) and for Q4_0 (o 7.3 -> 6.1, down 17.4 -> 12.9),
// loses for Q6_K (v: 5.4 -> 7.9); the other types only from 8192 rows.
int warpsPerRowFor(DType type, int64_t rows) {
    if (int forced = forcedWarpsPerRow()) return forced;
    // Planar Q6_K reads like Q4_K (8 threads a block, 16-byte loads); not yet measured.
    bool oneWarp = type == DType::Q4_K || type == DType::Q5_K || type == DType::Q4_0 || isPlanar(type);
    if (rows >= 8192 || (oneWarp && rows >= 2048)) return 1;
    if (rows >= 2048) return 2;
    return 4;
}

Jobs makeJobs(const MatVecJob* list, int count) {
    Jobs jobs{};
    jobs.count = count;
    int64_t end = 0;
    for (int i = 0; i < count; ++i) {
        jobs.job[i] = list[i];
        end += list[i].rows;
        jobs.rowEnd[i] = end;
    }
    return jobs;
}

// HEARTH_CUDA_MATVEC_PERSIST=0: one block per group of rows instead of a resident grid (A/B).
bool persistent() {
    static const bool on = [] {
        const char* p = std::getenv("HEARTH_CUDA_MATVEC_PERSIST");
        return !(p && p[0] == '0');
    }();
    return on;
}

// Blocks of a kernel that fit on the current device at once (0 when unknown), asked once per
// kernel and device: launches stay cheap on the host in eager decode.
template <typename Kernel>
int64_t residentBlocks(Kernel kernel) {
    static std::mutex mutex;
    static std::map<std::pair<const void*, int>, int64_t> cache;
    int device = 0;
    if (gpuGetDevice(&device) != gpuSuccess) {
        (void)gpuGetLastError();
        return 0;
    }
    auto key = std::make_pair(reinterpret_cast<const void*>(kernel), device);
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    int sms = 0, perSm = 0;
    if (gpuDeviceGetAttribute(&sms, gpuDevAttrMultiProcessorCount, device) != gpuSuccess ||
        gpuOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, kernel, kWarpsPerBlock * gpu::kWarp, 0) != gpuSuccess) {
        (void)gpuGetLastError();
        sms = perSm = 0;
    }
    return cache[key] = static_cast<int64_t>(sms) * perSm;
}

// Persistent up to a few waves' worth of rows (bench/cuda matvec on the H100: q/k/v 9.7 -> 8.5 us,
// Q4_0 down 18.7 -> 16.0); beyond that the plain grid was as fast or faster (8B gate/up 31.8 vs
// 32.4 us, the Q6_K output matrix 213 vs 224 us).
dim3 gridFor(const Jobs& jobs, int wpr, int64_t resident) {
    int64_t rowsPerBlock = kWarpsPerBlock / wpr, rows = jobs.rowEnd[jobs.count - 1];
    int64_t blocks = (rows + rowsPerBlock - 1) / rowsPerBlock;
    if (persistent() && resident > 0 && blocks <= 4 * resident) blocks = std::min(blocks, resident);
    return dim3(static_cast<unsigned>(blocks));
}

template <DType T, int NCOLS>
void launchQuant(const Jobs& jobs, int64_t k, const Q8Buffer& xq, gpuStream_t stream) {
    int wpr = warpsPerRowFor(T, jobs.rowEnd[jobs.count - 1]);
    int64_t blocksPerRow = k / Dot<T>::kBlockSize;
    auto* qs = static_cast<const int*>(xq.qs);
    auto* ds = static_cast<const float2*>(xq.ds);
    auto kernel = matVecQuant<kernelType(T), NCOLS>;
    gpu::launch(kernel, gridFor(jobs, wpr, residentBlocks(kernel)), dim3(32, kWarpsPerBlock), 0, stream, jobs, blocksPerRow,
                wpr, qs, ds);
}

template <DType T, int NCOLS>
void launchFloat(const Jobs& jobs, int64_t k, const float* x, gpuStream_t stream) {
    int wpr = warpsPerRowFor(T, jobs.rowEnd[jobs.count - 1]);
    auto kernel = matVecFloat<T, NCOLS>;
    gpu::launch(kernel, gridFor(jobs, wpr, residentBlocks(kernel)), dim3(32, kWarpsPerBlock), 0, stream, jobs, k, wpr, x);
}

template <DType T>
void dispatchQuant(int64_t n, const Jobs& jobs, int64_t k, const Q8Buffer& xq, gpuStream_t stream) {
    switch (n) {
        case 1: launchQuant<T, 1>(jobs, k, xq, stream); break;
        case 2: launchQuant<T, 2>(jobs, k, xq, stream); break;
        case 3: launchQuant<T, 3>(jobs, k, xq, stream); break;
        case 4: launchQuant<T, 4>(jobs, k, xq, stream); break;
        case 5: launchQuant<T, 5>(jobs, k, xq, stream); break;
        case 6: launchQuant<T, 6>(jobs, k, xq, stream); break;
        case 7: launchQuant<T, 7>(jobs, k, xq, stream); break;
        default: launchQuant<T, 8>(jobs, k, xq, stream); break;
    }
}

template <DType T>
void dispatchFloat(int64_t n, const Jobs& jobs, int64_t k, const float* x, gpuStream_t stream) {
    bool aligned = k % FloatRow<T>::kPer == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0;
    for (int i = 0; i < jobs.count; ++i) aligned = aligned && reinterpret_cast<uintptr_t>(jobs.job[i].w) % 16 == 0;
    if (!aligned) {
        for (int i = 0; i < jobs.count; ++i) {
            dim3 grid(static_cast<unsigned>((jobs.job[i].rows + kWarpsPerBlock - 1) / kWarpsPerBlock),
                      static_cast<unsigned>(n));
            gpu::launch(matVecFloatScalar<T>, grid, dim3(32, kWarpsPerBlock), 0, stream, jobs.job[i], k, n, x);
        }
        return;
    }
    switch (n) {
        case 1: launchFloat<T, 1>(jobs, k, x, stream); break;
        case 2: launchFloat<T, 2>(jobs, k, x, stream); break;
        case 3: launchFloat<T, 3>(jobs, k, x, stream); break;
        case 4: launchFloat<T, 4>(jobs, k, x, stream); break;
        case 5: launchFloat<T, 5>(jobs, k, x, stream); break;
        case 6: launchFloat<T, 6>(jobs, k, x, stream); break;
        case 7: launchFloat<T, 7>(jobs, k, x, stream); break;
        default: launchFloat<T, 8>(jobs, k, x, stream); break;
    }
}

}  // namespace

size_t q8_1Bytes(int64_t k, int64_t n) { return static_cast<size_t>(k * n + k / 32 * n * 8); }

Q8Buffer q8Layout(void* base, int64_t k, int64_t n) {
    // k * n int8 values first: with k % 32 == 0 the pairs after them stay 8-byte aligned.
    return {base, static_cast<char*>(base) + k * n};
}

void prepareActivation(const PrepArgs& args, gpuStream_t stream) {
    int64_t chunks = args.k / 32;
    bool norm = args.mode == Prep::Norm || args.mode == Prep::AddNorm;
    auto overlaps = [&](const float* w, const float* r) {
        return w && r && w < r + args.k * args.n && r < w + args.k * args.n;
    };
    bool single = norm && (overlaps(args.out, args.a) || overlaps(args.out, args.b) || overlaps(args.sum, args.a) ||
                           overlaps(args.sum, args.b));
    if (single && args.mode == Prep::AddNorm && !overlaps(args.out, args.sum) && !overlaps(args.out, args.a) &&
        !overlaps(args.out, args.b)) {
        // The residual add in place (x += tmp): one elementwise pass first, then a norm that
        // many blocks can share, is faster than one block doing both (ncu: 8.5 µs vs ~5).
        add(args.sum, args.a, args.b, args.k * args.n, stream);
        PrepArgs norm2 = args;
        norm2.mode = Prep::Norm;
        norm2.a = args.sum;
        norm2.b = nullptr;
        norm2.sum = nullptr;
        prepareActivation(norm2, stream);
        return;
    }
    if (single) {
        gpu::launch(prepareKernel, dim3(1, static_cast<unsigned>(args.n)), dim3(kPrepWarpsSingle * 32), 0, stream,
                    args);
        return;
    }
    dim3 grid(static_cast<unsigned>((chunks + kPrepWarps - 1) / kPrepWarps), static_cast<unsigned>(args.n));
    gpu::launch(prepareKernel, grid, dim3(kPrepWarps * 32), 0, stream, args);
}

bool matVecUsesQ8_1(DType type) {
    switch (type) {
        case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q8_0:
        case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
            return true;
        default:
            return isPlanar(type);
    }
}

void matVec(DType type, const MatVecJob* list, int count, int64_t k, const float* x, const Q8Buffer& xq, int64_t n,
            gpuStream_t stream) {
    Jobs jobs = makeJobs(list, count);
    switch (type) {
        case DType::Q4_0: dispatchQuant<DType::Q4_0>(n, jobs, k, xq, stream); break;
        case DType::Q4_1: dispatchQuant<DType::Q4_1>(n, jobs, k, xq, stream); break;
        case DType::Q5_0: dispatchQuant<DType::Q5_0>(n, jobs, k, xq, stream); break;
        case DType::Q8_0: dispatchQuant<DType::Q8_0>(n, jobs, k, xq, stream); break;
        case DType::Q4_K: dispatchQuant<DType::Q4_K>(n, jobs, k, xq, stream); break;
        case DType::Q5_K: dispatchQuant<DType::Q5_K>(n, jobs, k, xq, stream); break;
        case DType::Q6_K: dispatchQuant<DType::Q6_K>(n, jobs, k, xq, stream); break;
        case DType::F16: dispatchFloat<DType::F16>(n, jobs, k, x, stream); break;
        case DType::BF16: dispatchFloat<DType::BF16>(n, jobs, k, x, stream); break;
        case DType::F32: dispatchFloat<DType::F32>(n, jobs, k, x, stream); break;
        default:  // the planar tags; the backend refuses other types before launching
            if (type == kQ4_0Planar) dispatchQuant<kQ4_0Planar>(n, jobs, k, xq, stream);
            if (type == kQ6_KPlanar) dispatchQuant<kQ6_KPlanar>(n, jobs, k, xq, stream);
            break;
    }
}

}  // namespace hearth::cuda
