// Decode-time matrix × vector (n <= 8 columns): memory-bound, so each weight byte is read once,
// coalesced across the warp, and dequantized in registers. Quantized weights are dotted with
// q8_1 activations through dp4a (the activation is quantized once per matmul() call and shared
// by every projection of that call); F32/F16/BF16 weights are dotted with the float activation.
//
// Grid: one 128-thread block holds 4 warps; `warpsPerRow` (1, 2 or 4) of them split one row's k
// range, so that matrices with few rows still put enough loads in flight on every SM.
#include "backends/cuda/kernels.h"
#include "backends/cuda/quant_blocks.cuh"

namespace hearth::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

__global__ void quantizeKernel(const float* __restrict__ x, Q8_1* __restrict__ q, int64_t k, int64_t blocks) {
    int64_t blk = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / gpu::kWarp;
    int lane = threadIdx.x % gpu::kWarp;
    if (blk >= blocks) return;
    int64_t perCol = k / 32;
    float v = x[(blk / perCol) * k + (blk % perCol) * 32 + lane];
    float amax = gpu::warpMax(fabsf(v));
    // Quantize with the scale as it will be stored (half), so the dot product sees what we used.
    float d = __half2float(__float2half(amax / 127.0f));
    int qv = d > 0.0f ? max(-127, min(127, __float2int_rn(v / d))) : 0;
    float sum = gpu::warpSum(static_cast<float>(qv));
    reinterpret_cast<int8_t*>(q[blk].qs)[lane] = static_cast<int8_t>(qv);
    if (lane == 0) q[blk].ds = __floats2half2_rn(d, d * sum);
}

// Sums the warps that shared a row and writes out[c * rows + row] for each column.
template <int NCOLS>
__device__ __forceinline__ void finishRow(float (&acc)[NCOLS], int warpsPerRow, int64_t row, int64_t rows,
                                         float* __restrict__ out, const float* __restrict__ bias) {
    __shared__ float part[kWarpsPerBlock][NCOLS];
#pragma unroll
    for (int c = 0; c < NCOLS; ++c) acc[c] = gpu::warpSum(acc[c]);
    int lane = threadIdx.x, w = threadIdx.y;
    if (warpsPerRow > 1) {
        if (lane == 0) {
#pragma unroll
            for (int c = 0; c < NCOLS; ++c) part[w][c] = acc[c];
        }
        __syncthreads();
        if (w % warpsPerRow != 0) return;
        for (int j = 1; j < warpsPerRow; ++j) {
#pragma unroll
            for (int c = 0; c < NCOLS; ++c) acc[c] += part[w + j][c];
        }
    }
    if (lane == 0 && row < rows) {
        float b = bias ? bias[row] : 0.0f;
#pragma unroll
        for (int c = 0; c < NCOLS; ++c) out[c * rows + row] = acc[c] + b;
    }
}

template <DType T, int NCOLS>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
matVecQuant(const uint8_t* __restrict__ w, int64_t blocksPerRow, int64_t rows, int warpsPerRow,
            const Q8_1* __restrict__ xq, float* __restrict__ out, const float* __restrict__ bias) {
    using D = Dot<T>;
    constexpr int kPerIter = gpu::kWarp / D::kThreads;
    constexpr int kXPerBlock = D::kBlockSize / 32;
    int lane = threadIdx.x;
    int64_t row = static_cast<int64_t>(blockIdx.x) * (kWarpsPerBlock / warpsPerRow) + threadIdx.y / warpsPerRow;
    int part = threadIdx.y % warpsPerRow;
    float acc[NCOLS] = {};
    if (row < rows) {
        const uint8_t* wr = w + row * blocksPerRow * D::kBytes;
        int t = lane % D::kThreads;
        int64_t step = static_cast<int64_t>(kPerIter) * warpsPerRow;
#pragma unroll 4
        for (int64_t b = lane / D::kThreads + part * kPerIter; b < blocksPerRow; b += step) {
            const uint8_t* blk = wr + b * D::kBytes;
#pragma unroll
            for (int c = 0; c < NCOLS; ++c) acc[c] += D::partial(blk, t, xq + (c * blocksPerRow + b) * kXPerBlock);
        }
    }
    finishRow<NCOLS>(acc, warpsPerRow, row, rows, out, bias);
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
matVecFloat(const uint8_t* __restrict__ w, int64_t k, int64_t rows, int warpsPerRow, const float* __restrict__ x,
            float* __restrict__ out, const float* __restrict__ bias) {
    using R = FloatRow<T>;
    constexpr int kBytesPer = 16;
    int lane = threadIdx.x;
    int64_t row = static_cast<int64_t>(blockIdx.x) * (kWarpsPerBlock / warpsPerRow) + threadIdx.y / warpsPerRow;
    int part = threadIdx.y % warpsPerRow;
    float acc[NCOLS] = {};
    if (row < rows) {
        int64_t vecs = k / R::kPer;
        const uint8_t* wr = w + row * vecs * kBytesPer;
#pragma unroll 4
        for (int64_t i = lane + static_cast<int64_t>(part) * gpu::kWarp; i < vecs; i += gpu::kWarp * warpsPerRow) {
            float v[R::kPer];
            R::load(wr + i * kBytesPer, v);
#pragma unroll
            for (int c = 0; c < NCOLS; ++c) {
                const float4* xv = reinterpret_cast<const float4*>(x + c * k + i * R::kPer);
#pragma unroll
                for (int j = 0; j < R::kPer / 4; ++j) {
                    float4 xx = xv[j];
                    acc[c] += v[4 * j] * xx.x + v[4 * j + 1] * xx.y + v[4 * j + 2] * xx.z + v[4 * j + 3] * xx.w;
                }
            }
        }
    }
    finishRow<NCOLS>(acc, warpsPerRow, row, rows, out, bias);
}

// Any float type and alignment: one element at a time.
template <DType T>
__global__ void matVecFloatScalar(const uint8_t* __restrict__ w, int64_t k, int64_t rows, int64_t n,
                                  const float* __restrict__ x, float* __restrict__ out, const float* __restrict__ bias) {
    int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.y;
    int64_t col = blockIdx.y;
    if (row >= rows) return;
    float acc = 0.0f;
    for (int64_t i = threadIdx.x; i < k; i += gpu::kWarp) {
        float wv;
        if constexpr (T == DType::F32) wv = reinterpret_cast<const float*>(w)[row * k + i];
        else if constexpr (T == DType::F16) wv = gpu::halfToFloat(reinterpret_cast<const uint16_t*>(w)[row * k + i]);
        else wv = gpu::bf16ToFloat(reinterpret_cast<const uint16_t*>(w)[row * k + i]);
        acc += wv * x[col * k + i];
    }
    acc = gpu::warpSum(acc);
    if (threadIdx.x == 0) out[col * rows + row] = acc + (bias ? bias[row] : 0.0f);
}

int warpsPerRowFor(int64_t rows) {
    if (rows >= 8192) return 1;
    if (rows >= 2048) return 2;
    return 4;
}

template <DType T, int NCOLS>
void launchQuant(const uint8_t* w, int64_t k, int64_t rows, const void* xq, float* out, const float* bias,
                 gpuStream_t stream) {
    int wpr = warpsPerRowFor(rows);
    int64_t rowsPerBlock = kWarpsPerBlock / wpr;
    dim3 grid(static_cast<unsigned>((rows + rowsPerBlock - 1) / rowsPerBlock));
    matVecQuant<T, NCOLS><<<grid, dim3(32, kWarpsPerBlock), 0, stream>>>(
        w, k / Dot<T>::kBlockSize, rows, wpr, static_cast<const Q8_1*>(xq), out, bias);
}

template <DType T, int NCOLS>
void launchFloat(const uint8_t* w, int64_t k, int64_t rows, const float* x, float* out, const float* bias,
                 gpuStream_t stream) {
    int wpr = warpsPerRowFor(rows);
    int64_t rowsPerBlock = kWarpsPerBlock / wpr;
    dim3 grid(static_cast<unsigned>((rows + rowsPerBlock - 1) / rowsPerBlock));
    matVecFloat<T, NCOLS><<<grid, dim3(32, kWarpsPerBlock), 0, stream>>>(w, k, rows, wpr, x, out, bias);
}

template <DType T>
void dispatchQuant(int64_t n, const uint8_t* w, int64_t k, int64_t rows, const void* xq, float* out,
                   const float* bias, gpuStream_t stream) {
    switch (n) {
        case 1: launchQuant<T, 1>(w, k, rows, xq, out, bias, stream); break;
        case 2: launchQuant<T, 2>(w, k, rows, xq, out, bias, stream); break;
        case 3: launchQuant<T, 3>(w, k, rows, xq, out, bias, stream); break;
        case 4: launchQuant<T, 4>(w, k, rows, xq, out, bias, stream); break;
        case 5: launchQuant<T, 5>(w, k, rows, xq, out, bias, stream); break;
        case 6: launchQuant<T, 6>(w, k, rows, xq, out, bias, stream); break;
        case 7: launchQuant<T, 7>(w, k, rows, xq, out, bias, stream); break;
        default: launchQuant<T, 8>(w, k, rows, xq, out, bias, stream); break;
    }
}

template <DType T>
void dispatchFloat(int64_t n, const uint8_t* w, int64_t k, int64_t rows, const float* x, float* out,
                   const float* bias, gpuStream_t stream) {
    bool aligned = k % FloatRow<T>::kPer == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(x) % 16 == 0;
    if (!aligned) {
        dim3 grid(static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock), static_cast<unsigned>(n));
        matVecFloatScalar<T><<<grid, dim3(32, kWarpsPerBlock), 0, stream>>>(w, k, rows, n, x, out, bias);
        return;
    }
    switch (n) {
        case 1: launchFloat<T, 1>(w, k, rows, x, out, bias, stream); break;
        case 2: launchFloat<T, 2>(w, k, rows, x, out, bias, stream); break;
        case 3: launchFloat<T, 3>(w, k, rows, x, out, bias, stream); break;
        case 4: launchFloat<T, 4>(w, k, rows, x, out, bias, stream); break;
        case 5: launchFloat<T, 5>(w, k, rows, x, out, bias, stream); break;
        case 6: launchFloat<T, 6>(w, k, rows, x, out, bias, stream); break;
        case 7: launchFloat<T, 7>(w, k, rows, x, out, bias, stream); break;
        default: launchFloat<T, 8>(w, k, rows, x, out, bias, stream); break;
    }
}

}  // namespace

size_t q8_1Bytes(int64_t k, int64_t n) { return static_cast<size_t>(k / 32 * n) * sizeof(Q8_1); }

void quantizeQ8_1(const float* x, void* q, int64_t k, int64_t n, gpuStream_t stream) {
    int64_t blocks = k / 32 * n;
    constexpr int kThreads = 256;
    int64_t grid = (blocks * 32 + kThreads - 1) / kThreads;
    quantizeKernel<<<static_cast<unsigned>(grid), kThreads, 0, stream>>>(x, static_cast<Q8_1*>(q), k, blocks);
}

bool matVecUsesQ8_1(DType type) {
    switch (type) {
        case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q8_0:
        case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
            return true;
        default:
            return false;
    }
}

void matVec(DType type, const uint8_t* w, int64_t k, int64_t rows, const float* x, const void* xq, int64_t n,
            float* out, const float* bias, gpuStream_t stream) {
    switch (type) {
        case DType::Q4_0: dispatchQuant<DType::Q4_0>(n, w, k, rows, xq, out, bias, stream); break;
        case DType::Q4_1: dispatchQuant<DType::Q4_1>(n, w, k, rows, xq, out, bias, stream); break;
        case DType::Q5_0: dispatchQuant<DType::Q5_0>(n, w, k, rows, xq, out, bias, stream); break;
        case DType::Q8_0: dispatchQuant<DType::Q8_0>(n, w, k, rows, xq, out, bias, stream); break;
        case DType::Q4_K: dispatchQuant<DType::Q4_K>(n, w, k, rows, xq, out, bias, stream); break;
        case DType::Q5_K: dispatchQuant<DType::Q5_K>(n, w, k, rows, xq, out, bias, stream); break;
        case DType::Q6_K: dispatchQuant<DType::Q6_K>(n, w, k, rows, xq, out, bias, stream); break;
        case DType::F16: dispatchFloat<DType::F16>(n, w, k, rows, x, out, bias, stream); break;
        case DType::BF16: dispatchFloat<DType::BF16>(n, w, k, rows, x, out, bias, stream); break;
        case DType::F32: dispatchFloat<DType::F32>(n, w, k, rows, x, out, bias, stream); break;
        default: break;  // the backend refuses other types before launching
    }
}

}  // namespace hearth::cuda
