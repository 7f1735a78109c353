// The tiled prefill attention kernel (see attention_tiled.h), compiled with AVX-512 flags. As in
// kernels_x86.h, no inline helper of dtype.h or template of the standard library is called here.
//
// Layout: the queries are transposed once per tile (qt[d][row], pre-scaled), so that scores come
// out key-major (p[key][row]) from broadcasts of one key element against 16 query rows, and the
// online softmax works on 16 rows per vector. The values are then summed as out[row] +=
// p[key][row] * v[key], four rows by up to four 16-float pieces of the head at a time.
#include <immintrin.h>

#include <cstring>

#include "backends/cpu/attention_tiled.h"
#include "backends/cpu/exp_avx512.h"

namespace hearth::cpu {

namespace {

constexpr int kRows = kAttentionRows, kKeys = kAttentionKeys, kRowVectors = kRows / 16;

// Cache rows [t0, t0 + count) of one kv head as f32 rows of hd.
void loadRows(const AttentionTile& t, const void* cache, int64_t t0, int count, float* dst) {
    for (int j = 0; j < count; ++j) {
        const int64_t at = (t0 + j) * t.stride;
        float* row = dst + j * t.hd;
        if (t.f16) {
            const auto* src = static_cast<const uint16_t*>(cache) + at;
            for (int64_t d = 0; d < t.hd; d += 16)
                _mm512_storeu_ps(row + d, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + d))));
        } else {
            std::memcpy(row, static_cast<const float*>(cache) + at, static_cast<size_t>(t.hd) * sizeof(float));
        }
    }
}

// p[j][row] = sum_d k[j][d] * qt[d][row] for the block's keys, four keys at a time.
void scores(const float* qt, const float* k, int count, int64_t hd, float* p) {
    for (int j0 = 0; j0 < count; j0 += 4) {
        __m512 s[4][kRowVectors];
        for (int jj = 0; jj < 4; ++jj)
            for (int v = 0; v < kRowVectors; ++v) s[jj][v] = _mm512_setzero_ps();
        const float* kr[4];
        for (int jj = 0; jj < 4; ++jj) kr[jj] = k + (j0 + jj < count ? j0 + jj : count - 1) * hd;
        for (int64_t d = 0; d < hd; ++d) {
            __m512 qv[kRowVectors];
            for (int v = 0; v < kRowVectors; ++v) qv[v] = _mm512_loadu_ps(qt + d * kRows + 16 * v);
            for (int jj = 0; jj < 4; ++jj) {
                const __m512 kb = _mm512_set1_ps(kr[jj][d]);
                for (int v = 0; v < kRowVectors; ++v) s[jj][v] = _mm512_fmadd_ps(kb, qv[v], s[jj][v]);
            }
        }
        for (int jj = 0; jj < 4 && j0 + jj < count; ++jj)
            for (int v = 0; v < kRowVectors; ++v) _mm512_storeu_ps(p + (j0 + jj) * kRows + 16 * v, s[jj][v]);
    }
}

// out[row] += sum_j p[j][row] * v[j] for four rows and NV pieces of 16 of the head at offset d0.
template <int NV>
void weightedValues(const float* p, const float* v, int count, int64_t hd, int r0, int64_t d0, float* o) {
    __m512 acc[4][NV];
    for (int rr = 0; rr < 4; ++rr)
        for (int x = 0; x < NV; ++x) acc[rr][x] = _mm512_loadu_ps(o + (r0 + rr) * hd + d0 + 16 * x);
    for (int j = 0; j < count; ++j) {
        __m512 vv[NV];
        for (int x = 0; x < NV; ++x) vv[x] = _mm512_loadu_ps(v + j * hd + d0 + 16 * x);
        for (int rr = 0; rr < 4; ++rr) {
            const __m512 pb = _mm512_set1_ps(p[j * kRows + r0 + rr]);
            for (int x = 0; x < NV; ++x) acc[rr][x] = _mm512_fmadd_ps(pb, vv[x], acc[rr][x]);
        }
    }
    for (int rr = 0; rr < 4; ++rr)
        for (int x = 0; x < NV; ++x) _mm512_storeu_ps(o + (r0 + rr) * hd + d0 + 16 * x, acc[rr][x]);
}

}  // namespace

size_t attentionScratchFloats(int64_t hd) {
    // qt, k, v, out (each 64 x hd), p (64 x 64)
    return static_cast<size_t>(4 * 64 * hd + kKeys * kRows);
}

void attentionTileAvx512(const AttentionTile& t, float* scratch) {
    const int64_t hd = t.hd;
    float* qt = scratch;
    float* k = qt + kRows * hd;
    float* v = k + kKeys * hd;
    float* o = v + kKeys * hd;
    float* p = o + kRows * hd;
    int32_t maxLast = -1;
    alignas(64) int32_t last[kRows];
    for (int r = 0; r < kRows; ++r) {
        last[r] = r < t.rows ? t.last[r] : -1;
        maxLast = last[r] > maxLast ? last[r] : maxLast;
        for (int64_t d = 0; d < hd; ++d) qt[d * kRows + r] = r < t.rows ? t.q[r][d] * t.scale : 0.0f;
    }
    std::memset(o, 0, static_cast<size_t>(kRows * hd) * sizeof(float));
    __m512 m[kRowVectors], l[kRowVectors];
    __m512i lastV[kRowVectors];
    for (int x = 0; x < kRowVectors; ++x) {
        m[x] = _mm512_set1_ps(-__builtin_inff());
        l[x] = _mm512_setzero_ps();
        lastV[x] = _mm512_load_si512(last + 16 * x);
    }
    const int rowGroups = (t.rows + 3) / 4;
    for (int64_t t0 = 0; t0 <= maxLast; t0 += kKeys) {
        const int count = static_cast<int>(maxLast + 1 - t0 < kKeys ? maxLast + 1 - t0 : kKeys);
        loadRows(t, t.k, t0, count, k);
        loadRows(t, t.v, t0, count, v);
        scores(qt, k, count, hd, p);
        // Online softmax, 16 rows per vector: keys past a row's last position get probability 0.
        for (int x = 0; x < kRowVectors; ++x) {
            __m512 blockMax = _mm512_set1_ps(-__builtin_inff());
            for (int j = 0; j < count; ++j) {
                const __mmask16 seen = _mm512_cmpge_epi32_mask(lastV[x], _mm512_set1_epi32(static_cast<int>(t0 + j)));
                const __m512 s = _mm512_mask_mov_ps(_mm512_set1_ps(-__builtin_inff()), seen, _mm512_loadu_ps(p + j * kRows + 16 * x));
                _mm512_storeu_ps(p + j * kRows + 16 * x, s);
                blockMax = _mm512_max_ps(blockMax, s);
            }
            const __m512 newMax = _mm512_max_ps(m[x], blockMax);
            const __m512 correction = exp16(_mm512_sub_ps(m[x], newMax));  // 0 while a row has seen nothing
            m[x] = newMax;
            __m512 sum = _mm512_mul_ps(l[x], correction);
            for (int j = 0; j < count; ++j) {
                const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(p + j * kRows + 16 * x), newMax));
                _mm512_storeu_ps(p + j * kRows + 16 * x, e);
                sum = _mm512_add_ps(sum, e);
            }
            l[x] = sum;
            alignas(64) float c[16];
            _mm512_store_ps(c, correction);
            for (int rr = 0; rr < 16; ++rr) {
                const int r = 16 * x + rr;
                if (r >= t.rows || c[rr] == 1.0f) continue;
                const __m512 cr = _mm512_set1_ps(c[rr]);
                for (int64_t d = 0; d < hd; d += 16) _mm512_storeu_ps(o + r * hd + d, _mm512_mul_ps(cr, _mm512_loadu_ps(o + r * hd + d)));
            }
        }
        for (int g = 0; g < rowGroups; ++g) {
            for (int64_t d0 = 0; d0 < hd; d0 += 64) {
                switch ((hd - d0) / 16) {
                    case 1: weightedValues<1>(p, v, count, hd, 4 * g, d0, o); break;
                    case 2: weightedValues<2>(p, v, count, hd, 4 * g, d0, o); break;
                    case 3: weightedValues<3>(p, v, count, hd, 4 * g, d0, o); break;
                    default: weightedValues<4>(p, v, count, hd, 4 * g, d0, o); break;
                }
            }
        }
    }
    alignas(64) float sums[kRows];
    for (int x = 0; x < kRowVectors; ++x) _mm512_store_ps(sums + 16 * x, l[x]);
    for (int r = 0; r < t.rows; ++r) {
        const __m512 inv = _mm512_set1_ps(1.0f / sums[r]);
        for (int64_t d = 0; d < hd; d += 16) _mm512_storeu_ps(t.out[r] + d, _mm512_mul_ps(inv, _mm512_loadu_ps(o + r * hd + d)));
    }
}

}  // namespace hearth::cpu
