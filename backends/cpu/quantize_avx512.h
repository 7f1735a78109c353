// The element-wise activation quantizers, Q8A (blocks of 32) and Q8_K (blocks of 256), on
// AVX-512 (quantize_avx512.cpp, compiled with AVX-512 F/BW/DQ flags: call them only where cpuid
// reports those). They give bit for bit what the plain ones in kernels_scalar.cpp give: the same
// float scale, and cvtps2dq rounds to nearest even as those do. Every decode mat-vec quantizes
// its input on one thread while the others wait: for 2,048 elements 4.3-5.3 us in plain C++,
// 0.6-1.0 us with these (docs/performance.md).
#pragma once

#include <cstdint>

#include "backends/cpu/kernels.h"

namespace hearth::cpu {

void quantizeQ8AAvx512(const float* x, BlockQ8A* out, int64_t k);
// The whole Q8N4 groups of k (kernels.h): Q8A blocks rearranged for the Q4_0 decode kernel.
void quantizeQ8N4GroupsAvx512(const float* x, uint8_t* out, int64_t k);
void quantizeQ8KAvx512(const float* x, BlockQ8_K* out, int64_t k);

}  // namespace hearth::cpu
