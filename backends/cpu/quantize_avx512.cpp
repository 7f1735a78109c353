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

// One block of 32: the quants of elements 0-15 in q0, 16-31 in q1 (as int32); returns d.
inline float quantizeBlock32(const float* x, __m512i& q0, __m512i& q1) {
    const __m512 a0 = _mm512_loadu_ps(x), a1 = _mm512_loadu_ps(x + 16);
    const float amax = maxLanes(_mm512_max_ps(_mm512_abs_ps(a0), _mm512_abs_ps(a1)));
    const float d = amax / 127.0f;
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    q0 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(a0, _mm512_set1_ps(id))), lo), hi);
    q1 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(a1, _mm512_set1_ps(id))), lo), hi);
    return d;
}

}  // namespace

void quantizeQ8AAvx512(const float* x, BlockQ8A* out, int64_t k) {
    for (int64_t ib = 0; ib < k / kQK; ++ib) {
        __m512i q0, q1;
        const float d = quantizeBlock32(x + ib * kQK, q0, q1);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out[ib].qs), _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out[ib].qs + 16), _mm512_cvtepi32_epi8(q1));
        out[ib].d = d;
        out[ib].s = d * static_cast<float>(sumLanes(_mm512_add_epi32(q0, q1)));
    }
}

static_assert(kDecodeGroupBytes == 192, "the padding below is the group's last 32 bytes");

void quantizeQ8N4GroupsAvx512(const float* x, uint8_t* out, int64_t k) {
    // Dword 4L + b of the result is dword L of block b: a 4x4 transpose of the four blocks' 16
    // quant bytes, laid side by side.
    const __m512i transpose = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    for (int64_t g = 0; g < k / (kQK * kDecodeGroup); ++g) {
        alignas(64) uint8_t low[64], high[64];
        alignas(16) int32_t offset[kDecodeGroup];
        alignas(16) float d[kDecodeGroup];
        for (int b = 0; b < kDecodeGroup; ++b) {
            __m512i q0, q1;
            d[b] = quantizeBlock32(x + (g * kDecodeGroup + b) * kQK, q0, q1);
            _mm_store_si128(reinterpret_cast<__m128i*>(low + 16 * b), _mm512_cvtepi32_epi8(q0));
            _mm_store_si128(reinterpret_cast<__m128i*>(high + 16 * b), _mm512_cvtepi32_epi8(q1));
            offset[b] = -8 * sumLanes(_mm512_add_epi32(q0, q1));
        }
        uint8_t* o = out + g * kDecodeGroupBytes;
        _mm512_storeu_si512(o, _mm512_permutexvar_epi32(transpose, _mm512_load_si512(low)));
        _mm512_storeu_si512(o + 64, _mm512_permutexvar_epi32(transpose, _mm512_load_si512(high)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 128), _mm_load_si128(reinterpret_cast<const __m128i*>(offset)));
        _mm_storeu_ps(reinterpret_cast<float*>(o + 144), _mm_load_ps(d));
        _mm512_mask_storeu_epi8(o + 128, ~((__mmask64{1} << 32) - 1), _mm512_setzero_si512());  // the padding
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
