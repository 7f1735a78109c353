// The element-wise activation quantizers on AVX-512 (see quantize_avx512.h), compiled with
// AVX-512 flags.
#include "backends/cpu/quantize_avx512.h"

#include <immintrin.h>

namespace hearth::cpu {

namespace {

inline float maxLanes(__m512 v) {
    v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0x4E));
    v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0xB1));
    v = _mm512_max_ps(v, _mm512_permute_ps(v, 0x4E));
    v = _mm512_max_ps(v, _mm512_permute_ps(v, 0xB1));
    return _mm512_cvtss_f32(v);
}
inline int sumLanes(__m512i v) {
    v = _mm512_add_epi32(v, _mm512_shuffle_i32x4(v, v, 0x4E));
    v = _mm512_add_epi32(v, _mm512_shuffle_i32x4(v, v, 0xB1));
    v = _mm512_add_epi32(v, _mm512_shuffle_epi32(v, _MM_PERM_BADC));
    v = _mm512_add_epi32(v, _mm512_shuffle_epi32(v, _MM_PERM_CDAB));
    return _mm_cvtsi128_si32(_mm512_castsi512_si128(v));
}

}  // namespace

void quantizeQ8AAvx512(const float* x, BlockQ8A* out, int64_t k) {
    for (int64_t ib = 0; ib < k / kQK; ++ib) {
        const __m512 a0 = _mm512_loadu_ps(x + ib * kQK), a1 = _mm512_loadu_ps(x + ib * kQK + 16);
        const float amax = maxLanes(_mm512_max_ps(_mm512_abs_ps(a0), _mm512_abs_ps(a1)));
        const float d = amax / 127.0f;
        const float id = d > 0.0f ? 1.0f / d : 0.0f;
        const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
        const __m512i q0 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(a0, _mm512_set1_ps(id))), lo), hi);
        const __m512i q1 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(a1, _mm512_set1_ps(id))), lo), hi);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out[ib].qs), _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out[ib].qs + 16), _mm512_cvtepi32_epi8(q1));
        out[ib].d = d;
        out[ib].s = d * static_cast<float>(sumLanes(_mm512_add_epi32(q0, q1)));
    }
}

void quantizeQ8KAvx512(const float* x, BlockQ8_K* out, int64_t k) {
    for (int64_t ib = 0; ib < k / kQKK; ++ib) {
        const float* v = x + ib * kQKK;
        __m512 m = _mm512_setzero_ps();
        for (int j = 0; j < kQKK; j += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(v + j)));
        const float amax = maxLanes(m);
        const float d = amax / 127.0f;
        const float id = d > 0.0f ? 1.0f / d : 0.0f;
        const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
        for (int j = 0; j < kQKK; j += 16) {
            const __m512i q =
                _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(v + j), _mm512_set1_ps(id))), lo), hi);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out[ib].qs + j), _mm512_cvtepi32_epi8(q));
            out[ib].bsums[j / 16] = static_cast<int16_t>(sumLanes(q));
        }
        out[ib].d = d;
    }
}

}  // namespace hearth::cpu
