// Prefill-time matrix × matrix: compute-bound, so the weight tile is dequantized once into
// shared memory as half precision and multiplied on the tensor cores (WMMA on NVIDIA; see
// gpu::mmaTile for other chips), accumulating in float. For F16/BF16 weights the activation
// is split into two halves (x = hi + lo) multiplied separately, which keeps float-level accuracy
// (about 2^-22) where quantized weights would hide the rounding of x anyway.
//
// Block tile: 128 weight rows × 64 tokens, k in steps of 32 (one legacy block, one K-quant
// sub-block). 8 warps as 4 × 2, each owning 32 × 32 outputs (2 × 2 tiles of 16 × 16).
#include "backends/cuda/kernels.h"
#include "backends/cuda/quant_blocks.cuh"

namespace hearth::cuda {
namespace {

constexpr int kBM = 128, kBN = 64, kBK = 32, kPad = 8, kThreads = 256;
constexpr int kLd = kBK + kPad;  // halves per smem row; the pad spreads rows over banks
constexpr int kLdc = kBM + 4;

struct TileSmem {
    union {
        struct {
            __half a[kBM][kLd];  // weights: row-major, k contiguous
            __half b[kBN][kLd];  // activations: per token, k contiguous (column-major B)
            __half bLo[kBN][kLd];  // x - float(b), for F16/BF16 weights
        } in;
        float c[kBN][kLdc];  // results: per token, rows contiguous
    };
};

template <uint32_t kType>  // a DType: see kernelType() in weight_repack.h
__global__ void __launch_bounds__(kThreads)
matMulTiledKernel(const uint8_t* __restrict__ w, size_t rowBytes, int64_t k, int64_t rows,
                  const float* __restrict__ x, int64_t n, float* __restrict__ out, const float* __restrict__ bias) {
    gpu::dependencyWait();
    constexpr DType T = static_cast<DType>(kType);
    constexpr bool kSplitX = T == DType::F16 || T == DType::BF16;
    __shared__ TileSmem smem;
    int tid = threadIdx.x;
    int warp = tid / gpu::kWarp;
    int wm = warp % 4, wn = warp / 4;
    int64_t m0 = static_cast<int64_t>(blockIdx.x) * kBM, n0 = static_cast<int64_t>(blockIdx.y) * kBN;

    gpu::MmaAcc acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) gpu::mmaZero(acc[i][j]);

    for (int64_t kc = 0; kc < k / kBK; ++kc) {
        if (tid < kBM) {
            float v[32];
            int64_t r = m0 + tid;
            if (r < rows) {
                Dequant<T>::run(w + r * rowBytes, static_cast<int>(kc), v, k);
            } else {
                for (int i = 0; i < 32; ++i) v[i] = 0.0f;
            }
            for (int i = 0; i < 32; i += 2) {
                *reinterpret_cast<half2*>(&smem.in.a[tid][i]) = __floats2half2_rn(v[i], v[i + 1]);
            }
        } else {
            int u = tid - kBM, j = u / 2, h = (u % 2) * 16;
            int64_t col = n0 + j;
            const float* src = x + col * k + kc * kBK + h;
            for (int i = 0; i < 16; i += 2) {
                float a = col < n ? src[i] : 0.0f, b = col < n ? src[i + 1] : 0.0f;
                half2 hi = __floats2half2_rn(a, b);
                *reinterpret_cast<half2*>(&smem.in.b[j][h + i]) = hi;
                if constexpr (kSplitX) {
                    float2 back = __half22float2(hi);
                    *reinterpret_cast<half2*>(&smem.in.bLo[j][h + i]) = __floats2half2_rn(a - back.x, b - back.y);
                }
            }
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kBK; kk += 16) {
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) {
                    const __half* a = &smem.in.a[wm * 32 + i * 16][kk];
                    gpu::mmaTile(acc[i][j], a, kLd, &smem.in.b[wn * 32 + j * 16][kk], kLd);
                    if constexpr (kSplitX) gpu::mmaTile(acc[i][j], a, kLd, &smem.in.bLo[wn * 32 + j * 16][kk], kLd);
                }
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) gpu::mmaStore(&smem.c[wn * 32 + j * 16][wm * 32 + i * 16], kLdc, acc[i][j]);
    __syncthreads();
    for (int idx = tid; idx < kBM * kBN; idx += kThreads) {
        int j = idx / kBM, r = idx % kBM;
        int64_t row = m0 + r, col = n0 + j;
        if (row < rows && col < n) out[col * rows + row] = smem.c[j][r] + (bias ? bias[row] : 0.0f);
    }
}

template <DType T>
void launch(const uint8_t* w, int64_t k, int64_t rows, const float* x, int64_t n, float* out, const float* bias,
            gpuStream_t stream) {
    size_t rowBytes = weightRowBytes(T, k);
    dim3 grid(static_cast<unsigned>((rows + kBM - 1) / kBM), static_cast<unsigned>((n + kBN - 1) / kBN));
    gpu::launch(matMulTiledKernel<kernelType(T)>, grid, kThreads, 0, stream, w, rowBytes, k, rows, x, n, out, bias);
}

}  // namespace

bool matMulTiledSupports(DType type) {
    switch (type) {
        case DType::F16: case DType::BF16: case DType::Q4_0: case DType::Q4_1: case DType::Q5_0:
        case DType::Q8_0: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
            return true;
        default:
            return isPlanar(type);  // F32 weights keep full precision through the mat-vec path
    }
}

void matMulTiled(DType type, const uint8_t* w, int64_t k, int64_t rows, const float* x, int64_t n, float* out,
                 const float* bias, gpuStream_t stream) {
    switch (type) {
        case DType::F16: launch<DType::F16>(w, k, rows, x, n, out, bias, stream); break;
        case DType::BF16: launch<DType::BF16>(w, k, rows, x, n, out, bias, stream); break;
        case DType::Q4_0: launch<DType::Q4_0>(w, k, rows, x, n, out, bias, stream); break;
        case DType::Q4_1: launch<DType::Q4_1>(w, k, rows, x, n, out, bias, stream); break;
        case DType::Q5_0: launch<DType::Q5_0>(w, k, rows, x, n, out, bias, stream); break;
        case DType::Q8_0: launch<DType::Q8_0>(w, k, rows, x, n, out, bias, stream); break;
        case DType::Q4_K: launch<DType::Q4_K>(w, k, rows, x, n, out, bias, stream); break;
        case DType::Q5_K: launch<DType::Q5_K>(w, k, rows, x, n, out, bias, stream); break;
        case DType::Q6_K: launch<DType::Q6_K>(w, k, rows, x, n, out, bias, stream); break;
        default:
            if (type == kQ4_0Planar) launch<kQ4_0Planar>(w, k, rows, x, n, out, bias, stream);
            if (type == kQ6_KPlanar) launch<kQ6_KPlanar>(w, k, rows, x, n, out, bias, stream);
            break;
    }
}

}  // namespace hearth::cuda
