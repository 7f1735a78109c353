// Host-side launchers of the prefill (many tokens at once) kernels that run on the tensor cores.
// Like kernels.h: enqueue only, shapes checked by CudaBackend.
#pragma once

#include "backends/cuda/kernels.h"

namespace hearth::cuda {

// Flash attention for a.n > 1 tokens over an F16 cache (attention_prefill.cu); the same result
// as attention(). Returns false, enqueuing nothing, where it does not apply (F32 cache, one token,
// a head size other than 64/80/96/128, more than 64 heads per kv head, unaligned tensors, or
// HEARTH_CUDA_PREFILL_ATTENTION=0); the caller then uses attention(). Needs sm_80+ to be fast:
// elsewhere gpu::mma16816 is emulated with shuffles, so callers check the device first.
bool attentionPrefill(float* out, const float* q, const void* kCache, const void* vCache, const int32_t* positions,
                      const AttentionArgs& args, gpuStream_t stream);

// The input of a prefill matmul through the BLAS, from the op held back for it (Norm, AddNorm,
// Silu, see PrepArgs; q8 ignored): writes args.out (and args.sum) as prepareActivation would, and
// half(out) into hi (and the rest, out - hi, into lo when lo is set), one pass per column.
// Returns false, enqueuing nothing, for the Quantize mode or columns that are not 16-byte aligned.
bool prepareHalf(const PrepArgs& args, void* hi, void* lo, gpuStream_t stream);

}  // namespace hearth::cuda
