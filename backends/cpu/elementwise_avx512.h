// Element-wise ops of the CPU backend on AVX-512 (elementwise_avx512.cpp, compiled with AVX-512
// flags: call them only with the avx512 kernel table). At decode each runs on one row of a few
// thousand floats on the calling thread, between two mat-vecs, while the other threads wait: the
// plain loops (scalar at -O2) took ~1 µs a call there, a few hundred µs over a step.
#pragma once

#include <cstdint>

namespace hearth::cpu {

// out[i] = gate[i] / (1 + e^-gate[i]) * up[i]; out may alias gate or up. (The plain loop calls
// expf per element, a few percent of a prefill.)
void siluMulAvx512(const float* gate, const float* up, float* out, int64_t n);

// out[i] = a[i] + b[i]; out may alias a or b.
void addAvx512(const float* a, const float* b, float* out, int64_t n);

// One row of RMSNorm: out[i] = x[i] * r * w[i], r = 1 / sqrt(mean(x²) + eps), the squares summed
// in double as the plain loop does. out may alias x.
void rmsNormRowAvx512(const float* x, const float* w, float* out, int64_t n, float eps);

}  // namespace hearth::cpu
