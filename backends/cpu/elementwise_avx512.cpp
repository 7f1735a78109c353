#include "backends/cpu/elementwise_avx512.h"

#include <immintrin.h>

#include <cmath>

#include "backends/cpu/exp_avx512.h"

namespace hearth::cpu {

namespace {

// The lanes of a row's last, partial vector of 16 (all 16 where n - i >= 16).
inline __mmask16 lanesFrom(int64_t i, int64_t n) {
    return n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1u);
}

}  // namespace

void siluMulAvx512(const float* gate, const float* up, float* out, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanesFrom(i, n);
        const __m512 g = _mm512_maskz_loadu_ps(m, gate + i), u = _mm512_maskz_loadu_ps(m, up + i);
        const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), u));
    }
}

void addAvx512(const float* a, const float* b, float* out, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanesFrom(i, n);
        const __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        _mm512_mask_storeu_ps(out + i, m, sum);
    }
}

void rmsNormRowAvx512(const float* x, const float* w, float* out, int64_t n, float eps) {
    // Two running sums of eight doubles (the low and high halves of each vector); the masked-off
    // lanes of a last, partial vector load as zeros.
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        const __m512 v = _mm512_maskz_loadu_ps(lanesFrom(i, n), x + i);
        const __m512d vlo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        const __m512d vhi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
        lo = _mm512_fmadd_pd(vlo, vlo, lo);
        hi = _mm512_fmadd_pd(vhi, vhi, hi);
    }
    const double total = _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
    const __m512 r = _mm512_set1_ps(static_cast<float>(1.0 / std::sqrt(total / static_cast<double>(n) + eps)));
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanesFrom(i, n);
        const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), r);
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i)));
    }
}

}  // namespace hearth::cpu
