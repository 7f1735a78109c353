// e^x on 16 floats with AVX-512, for the AVX-512 translation units only (attention_avx512.cpp,
// elementwise_avx512.cpp): internal linkage, so no copy compiled with AVX-512 flags can be picked
// for code that runs on other CPUs.
#pragma once

#include <immintrin.h>

namespace hearth::cpu {
namespace {

// 2^n * p(r), r = x - n ln 2 in [-ln2/2, ln2/2], p the degree-6 Taylor polynomial (relative
// error about 2e-7). Lanes below -87 (including -inf and NaN) give 0; above 88.7, +inf.
inline __m512 exp16(__m512 x) {
    const __m512 low = _mm512_set1_ps(-87.0f);
    const __mmask16 live = _mm512_cmp_ps_mask(x, low, _CMP_GT_OQ);
    x = _mm512_max_ps(x, low);
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);  // ln 2 in two parts
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860682030941723e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_maskz_mov_ps(live, _mm512_scalef_ps(p, n));
}

}  // namespace
}  // namespace hearth::cpu
