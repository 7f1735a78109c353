// Row quantizers and dequantizers for the GGUF block formats (layouts in backends/dtype.h).
//
// Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 use the reference rounding of the ggml specification, so their
// blocks are byte-identical to the reference quantizer's for the same input. The K-quants (Q4_K,
// Q5_K, Q6_K) search each sub-block's scale (and min) to minimise a weighted squared error, as the
// reference K-quantizers do.
//
//   std::vector<uint8_t> row(*dtypeRowBytes(DType::Q4_K, n));
//   quant::quantizeRow(DType::Q4_K, x, row.data(), n);   // n: a multiple of the block size
//   quant::dequantizeRow(DType::Q4_K, row.data(), y, n);
#pragma once

#include <cstdint>

#include "backends/dtype.h"

namespace hearth::quant {

// Types quantizeRow can produce: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k.
bool canQuantizeTo(DType type);
// Types dequantizeRow can read: the above.
bool canDequantize(DType type);

// `n` must be a multiple of the type's block size and `dst` hold dtypeRowBytes(type, n) bytes.
// `x` must be finite (callers check source data; see rowIsFinite).
void quantizeRow(DType type, const float* x, void* dst, int64_t n);
void dequantizeRow(DType type, const void* src, float* y, int64_t n);

bool rowIsFinite(const float* x, int64_t n);

// Source rows of a plain type widened to f32 (f32, f16, bf16).
void widenRow(DType type, const void* src, float* y, int64_t n);

}  // namespace hearth::quant
