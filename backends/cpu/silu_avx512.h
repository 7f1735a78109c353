// SiLU(gate) * up on AVX-512 (silu_avx512.cpp, compiled with AVX-512 flags: call it only with the
// avx512 kernel table). The plain loop calls expf per element, a few percent of a prefill.
#pragma once

#include <cstdint>

namespace hearth::cpu {

// out[i] = gate[i] / (1 + e^-gate[i]) * up[i]; out may alias gate or up.
void siluMulAvx512(const float* gate, const float* up, float* out, int64_t n);

}  // namespace hearth::cpu
