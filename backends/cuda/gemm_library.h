// Optional vendor BLAS for prefill (see gemm_library.cu) and the conversions that feed it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

#include "backends/cuda/gpu_compat.h"
#include "backends/dtype.h"

namespace hearth::cuda {

class GemmLibrary {
public:
    GemmLibrary();
    ~GemmLibrary();
    GemmLibrary(const GemmLibrary&) = delete;
    GemmLibrary& operator=(const GemmLibrary&) = delete;

    // Opens the library on first use (HEARTH_CUDA_BLAS=0 keeps it closed); false if absent.
    bool available(gpuStream_t stream);
    // out{rows, n} (+)= W{k, rows} · x{k, n}, both half precision, float accumulation.
    bool gemm(int64_t k, int64_t rows, int64_t n, const void* wHalf, const void* xHalf, float* out, bool accumulate);

    // With HEARTH_CUDA_F16_WEIGHTS=1 (opt-in: a half copy of every quantized matrix a prefill
    // touches, about 2 bytes a weight of extra device memory), the half copy of W, made on first
    // use; nullptr when not opted in or the memory ran out (the caller then dequantizes per call).
    const void* halfWeights(DType type, const uint8_t* w, int64_t k, int64_t rows, gpuStream_t stream);
    // Drops the half copies of weights in [begin, begin + bytes): that memory is being freed.
    void forget(const void* begin, size_t bytes);

private:
    void releaseHalfCopies();
    struct Impl;
    Impl* impl_ = nullptr;
    struct HalfCopy {
        DType type;
        int64_t k, rows;
        void* half;
    };
    std::map<const void*, HalfCopy> halfCopies_;
    int halfWeightsMode_ = -1;  // -1: env not read yet, 0: off, 1: on, 2: on but out of memory
};

// W {k, rows} of any quantized type or BF16 -> half, row-major (k % 32 == 0).
void dequantizeToHalf(DType type, const uint8_t* w, int64_t k, int64_t rows, void* out, gpuStream_t stream);
// hi = half(x), lo = half(x - hi); lo may be null.
void splitToHalf(const float* x, int64_t count, void* hi, void* lo, gpuStream_t stream);
void addBias(float* out, const float* bias, int64_t rows, int64_t n, gpuStream_t stream);

}  // namespace hearth::cuda
