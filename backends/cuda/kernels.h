// Host-side launchers of the CUDA/HIP kernels. Every launcher only enqueues on `stream`; shapes
// are checked by the caller (CudaBackend), which also owns every scratch buffer passed in.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cuda/gpu_compat.h"
#include "backends/cuda/weight_repack.h"
#include "backends/dtype.h"

namespace hearth::cuda {

// Rewrites `rows` rows of k GGUF Q4_0 / Q6_K weights at `src` into the planar layout at `dst`
// (same size, not overlapping; rows 16-byte aligned, see repack::repackable).
void repackRows(DType type, const uint8_t* src, uint8_t* dst, int64_t k, int64_t rows, gpuStream_t stream);

// Activations quantized to 8 bits per 32 values: int8 values (k bytes a column) and float
// (scale, scale * sum) pairs, each array column after column.
struct Q8Buffer {
    void* qs = nullptr;
    void* ds = nullptr;
    // The same buffer from column c on.
    Q8Buffer column(int64_t c, int64_t k) const {
        return {static_cast<char*>(qs) + c * k, static_cast<char*>(ds) + c * (k / 32) * 8};
    }
};
// Bytes of a Q8Buffer for x {k, n} (k a multiple of 32), and its two arrays inside `base`.
size_t q8_1Bytes(int64_t k, int64_t n);
Q8Buffer q8Layout(void* base, int64_t k, int64_t n);

// Prepares a matmul input in one kernel, one block per column of k values (k % 32 == 0):
//   Quantize: a -> q8
//   Norm:     out = rmsnorm(a) * w                      (-> q8)
//   AddNorm:  sum = a + b; out = rmsnorm(sum) * w       (-> q8)   the residual add fused in
//   Silu:     out = silu(a) * b                         (-> q8)
// q8 may be null (the weights are not quantized, or nothing reads the result yet).
enum class Prep { Quantize, Norm, AddNorm, Silu };
struct PrepArgs {
    Prep mode;
    int64_t k, n;
    const float* a;
    const float* b;
    float* sum;
    float* out;
    const float* weight;
    float eps;
    Q8Buffer q8;  // qs null: no quantization
};
void prepareActivation(const PrepArgs& args, gpuStream_t stream);

// Whether the mat-vec path reads this type through q8_1 activations.
bool matVecUsesQ8_1(DType type);
inline constexpr int kMatVecMaxCols = 8;
inline constexpr int kMatVecMaxJobs = 4;
// One weight matrix {k, rows} of a mat-vec launch; jobs of one launch share type, k and x.
struct MatVecJob {
    const uint8_t* w;
    int64_t rows;
    float* out;
    const float* bias;
    // With sum set, also sum = addend + out (the residual add that follows a projection; sum may
    // be addend itself, element for element).
    float* sum = nullptr;
    const float* addend = nullptr;
};
// out{rows, n} = W{k, rows} · x{k, n} (+ bias) for n <= kMatVecMaxCols and up to kMatVecMaxJobs
// matrices in one launch. xq: the q8_1 form of x (quantized types); x itself is read for
// F32/F16/BF16 weights.
void matVec(DType type, const MatVecJob* jobs, int count, int64_t k, const float* x, const Q8Buffer& xq, int64_t n,
            gpuStream_t stream);

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
// Rotates q {headDim, heads, n} and k {headDim, kvHeads, n} in one launch; with kCache set, also
// stores the rotated k and v into the caches at `positions` (the storeKv that follows RoPE).
struct RopeStoreArgs {
    RopeArgs rope;  // heads = q heads
    float* q;
    float* k;
    int64_t kvHeads;
    void* kCache;
    void* vCache;
    const float* v;
    bool f16;
    int64_t ctx;
};
void ropeStore(const int32_t* positions, const RopeStoreArgs& args, gpuStream_t stream);

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
int attentionSplits(int64_t heads, int64_t kvHeads, int64_t n, int64_t ctx, int multiprocessors);
// With q8 set and args.splits > 1 and headDim % 32 == 0, the split merge also writes out in q8
// form (out as {heads * headDim, n}, the input of the output projection); returns whether it did.
bool attention(float* out, const float* q, const void* kCache, const void* vCache, const int32_t* positions,
               const AttentionArgs& args, float* partials, gpuStream_t stream, const Q8Buffer& q8 = {});

void siluMul(float* out, const float* gate, const float* up, int64_t count, gpuStream_t stream);
void add(float* out, const float* a, const float* b, int64_t count, gpuStream_t stream);
void argmax(int32_t* out, const float* x, int64_t vocab, int64_t rows, gpuStream_t stream);

}  // namespace hearth::cuda
