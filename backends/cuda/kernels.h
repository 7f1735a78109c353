// Host-side launchers of the CUDA/HIP kernels. Every launcher only enqueues on `stream`; shapes
// are checked by the caller (CudaBackend), which also owns every scratch buffer passed in.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cuda/gpu_compat.h"
#include "backends/dtype.h"

namespace hearth::cuda {

// Bytes of q8_1 activations for x {k, n} (k a multiple of 32).
size_t q8_1Bytes(int64_t k, int64_t n);
// x F32 {k, n} -> q8_1 blocks, column after column.
void quantizeQ8_1(const float* x, void* q, int64_t k, int64_t n, gpuStream_t stream);

// Whether the mat-vec path reads this type through q8_1 activations.
bool matVecUsesQ8_1(DType type);
inline constexpr int kMatVecMaxCols = 8;
// out{rows, n} = W{k, rows} · x{k, n} (+ bias) for n <= kMatVecMaxCols. xq: the q8_1 form of x
// (quantized types) — x itself is read for F32/F16/BF16 weights.
void matVec(DType type, const uint8_t* w, int64_t k, int64_t rows, const float* x, const void* xq,
            int64_t n, float* out, const float* bias, gpuStream_t stream);

// Whether the tiled matmul (tensor cores where available) handles this weight type.
bool matMulTiledSupports(DType type);
// The same product for any n, dequantizing W tile by tile into half precision.
void matMulTiled(DType type, const uint8_t* w, int64_t k, int64_t rows, const float* x, int64_t n,
                 float* out, const float* bias, gpuStream_t stream);

void embed(DType type, const uint8_t* table, int64_t dim, int64_t vocab, const int32_t* ids, int64_t n,
           float* out, gpuStream_t stream);
void rmsNorm(float* out, const float* x, const float* weight, int64_t d, int64_t rows, float eps,
             gpuStream_t stream);

struct RopeArgs {
    int64_t headDim, heads, n;
    int rotaryDims;
    bool neox;
    float theta, positionScale;
    const float* freqFactors;  // may be null
};
void rope(float* x, const int32_t* positions, const RopeArgs& args, gpuStream_t stream);

void storeKv(void* kCache, void* vCache, bool f16, const float* k, const float* v, const int32_t* positions,
             int64_t rowElems, int64_t n, int64_t ctx, gpuStream_t stream);

struct AttentionArgs {
    int64_t headDim, heads, kvHeads, n, ctx;
    float scale;
    bool f16Cache;
    int splits;  // blocks along the cache; > 1 needs `partials`
};
// Floats of scratch the split-K attention needs.
size_t attentionPartialFloats(const AttentionArgs& args);
int attentionSplits(int64_t heads, int64_t n, int64_t ctx, int multiprocessors);
void attention(float* out, const float* q, const void* kCache, const void* vCache, const int32_t* positions,
               const AttentionArgs& args, float* partials, gpuStream_t stream);

void siluMul(float* out, const float* gate, const float* up, int64_t count, gpuStream_t stream);
void add(float* out, const float* a, const float* b, int64_t count, gpuStream_t stream);
void argmax(int32_t* out, const float* x, int64_t vocab, int64_t rows, gpuStream_t stream);

}  // namespace hearth::cuda
