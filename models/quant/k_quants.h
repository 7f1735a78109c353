// The K-quant super-block quantizers (256 weights per block), used through block_quant.h.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "backends/dtype.h"

namespace hearth::quant {

// Round to nearest, ties to even, the way the reference quantizers do it (adding 1.5 * 2^23 and
// reading the mantissa), so that scale searches land on the same integers. Valid for |v| < 2^22.
inline int nearestInt(float v) {
    float shifted = v + 12582912.f;
    int32_t bits;
    std::memcpy(&bits, &shifted, 4);
    return (bits & 0x007fffff) - 0x00400000;
}

void quantizeBlocksQ4K(const float* x, BlockQ4_K* y, int64_t blocks);
void quantizeBlocksQ5K(const float* x, BlockQ5_K* y, int64_t blocks);
void quantizeBlocksQ6K(const float* x, BlockQ6_K* y, int64_t blocks);

void dequantizeBlocksQ4K(const BlockQ4_K* x, float* y, int64_t blocks);
void dequantizeBlocksQ5K(const BlockQ5_K* x, float* y, int64_t blocks);
void dequantizeBlocksQ6K(const BlockQ6_K* x, float* y, int64_t blocks);

}  // namespace hearth::quant
