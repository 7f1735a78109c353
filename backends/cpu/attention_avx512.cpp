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

// `count` cache rows of hd elements, `stride` elements apart from element `first` on, as f32
// rows of hd.
void cacheRowsToF32(const void* cache, bool f16, int64_t first, int64_t stride, int64_t hd, int count, float* dst) {
    for (int j = 0; j < count; ++j) {
        const int64_t at = first + j * stride;
        float* row = dst + j * hd;
        if (f16) {
            const auto* src = static_cast<const uint16_t*>(cache) + at;
            for (int64_t d = 0; d < hd; d += 16)
                _mm512_storeu_ps(row + d, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + d))));
        } else {
            std::memcpy(row, static_cast<const float*>(cache) + at, static_cast<size_t>(hd) * sizeof(float));
        }
    }
}

// Cache rows [t0, t0 + count) of one kv head as f32 rows of hd.
void loadRows(const AttentionTile& t, const void* cache, int64_t t0, int count, float* dst) {
    cacheRowsToF32(cache, t.f16, t0 * t.stride, t.stride, t.hd, count, dst);
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

// ---- Decode: one token against a range of cache positions -------------------------------
//
// A block of 16 cache positions is taken for every kv head before the next block, so that each
// thread reads its part of the cache front to back (a kv head alone is a stride the prefetchers
// follow poorly, and the cache has left the caches while the step's weights streamed through).
// Per kv head, the block's rows are converted to f32 once; each query head's 16 dot products are
// summed across lanes together (transposeSum16), and the softmax and the weighted values run on
// 16 keys per vector. The tiled kernel above would spend 16 query rows of work per vector on the
// 4-8 heads that share a kv head.

namespace {

constexpr int kDecodeKeys = 16;
constexpr float kSlack = 8.0f;  // see attentionDecodePartAvx512

// Lane j of the result is the sum of the lanes of v[slotOfKey(j)], in 45 shuffles and adds
// instead of 16 separate reductions.
inline __m512 transposeSum16(const __m512* v) {
    __m512 c[8], d[4];
    for (int i = 0; i < 8; ++i)  // c[i]: 8 partial sums of v[2i], then 8 of v[2i+1]
        c[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xEE));
    for (int i = 0; i < 4; ++i)  // d[i]: 128-bit lane L holds 4 partial sums of v[4i+L]
        d[i] = _mm512_add_ps(_mm512_shuffle_f32x4(c[2 * i], c[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(c[2 * i], c[2 * i + 1], 0xDD));
    const __m512 e0 = _mm512_add_ps(_mm512_unpacklo_ps(d[0], d[1]), _mm512_unpackhi_ps(d[0], d[1]));
    const __m512 e1 = _mm512_add_ps(_mm512_unpacklo_ps(d[2], d[3]), _mm512_unpackhi_ps(d[2], d[3]));
    const __m512d e0d = _mm512_castps_pd(e0), e1d = _mm512_castps_pd(e1);
    // Lane 4L + m: the sum of v[4m + L].
    return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(e0d, e1d)), _mm512_castpd_ps(_mm512_unpackhi_pd(e0d, e1d)));
}
constexpr int slotOfKey(int j) { return 4 * (j % 4) + j / 4; }

// The 16 scores of query q (hd = 16 * HV floats, pre-scaled) against keys k[0..count) (f32 rows
// of hd); keys past `count` come out as anything and are masked by the caller.
// (The loops with fixed trip counts are unrolled by pragma: at -O2 GCC keeps them as loops, and
// the arrays they index then live on the stack instead of in registers: the whole decode
// attention took ~1.8x as long.)
template <int HV>
__m512 keyScores(const float* q, const float* k, int count, int64_t hd) {
    __m512 qv[HV > 0 ? HV : 1];
    if constexpr (HV > 0) {
#pragma GCC unroll 16
        for (int x = 0; x < HV; ++x) qv[x] = _mm512_loadu_ps(q + 16 * x);
    }
    __m512 dots[kDecodeKeys];
#pragma GCC unroll 16
    for (int j = 0; j < kDecodeKeys; ++j) {
        const float* kr = k + (j < count ? j : 0) * hd;
        __m512 acc = _mm512_setzero_ps();
        if constexpr (HV > 0) {
#pragma GCC unroll 16
            for (int x = 0; x < HV; ++x) acc = _mm512_fmadd_ps(qv[x], _mm512_loadu_ps(kr + 16 * x), acc);
        } else {
            for (int64_t d = 0; d < hd; d += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + d), _mm512_loadu_ps(kr + d), acc);
        }
        dots[slotOfKey(j)] = acc;
    }
    return transposeSum16(dots);
}

// o[0 .. 16 * NV) = scale * o + sum_j p[j] * v[j][0 .. 16 * NV) over `count` value rows hd apart.
template <int NV>
void addValues(const float* p, const float* v, int count, int64_t hd, __m512 scale, float* o) {
    // Even and odd keys into separate sums: one chain of 16 dependent FMAs would wait on latency.
    __m512 acc[2][NV];
#pragma GCC unroll 4
    for (int x = 0; x < NV; ++x) {
        acc[0][x] = _mm512_mul_ps(scale, _mm512_loadu_ps(o + 16 * x));
        acc[1][x] = _mm512_setzero_ps();
    }
    int j = 0;
    for (; j + 2 <= count; j += 2) {
#pragma GCC unroll 2
        for (int e = 0; e < 2; ++e) {
            const __m512 pj = _mm512_set1_ps(p[j + e]);
#pragma GCC unroll 4
            for (int x = 0; x < NV; ++x) acc[e][x] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(v + (j + e) * hd + 16 * x), acc[e][x]);
        }
    }
    if (j < count) {
        const __m512 pj = _mm512_set1_ps(p[j]);
#pragma GCC unroll 4
        for (int x = 0; x < NV; ++x) acc[0][x] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(v + j * hd + 16 * x), acc[0][x]);
    }
#pragma GCC unroll 4
    for (int x = 0; x < NV; ++x) _mm512_storeu_ps(o + 16 * x, _mm512_add_ps(acc[0][x], acc[1][x]));
}

__m512 keyScoresAny(const float* q, const float* k, int count, int64_t hd) {
    switch (hd) {
        case 64: return keyScores<4>(q, k, count, hd);
        case 128: return keyScores<8>(q, k, count, hd);
        case 256: return keyScores<16>(q, k, count, hd);
        default: return keyScores<0>(q, k, count, hd);
    }
}

// Cache rows [t0, t0 + count) of kv head kvh as f32 rows of hd.
void loadHeadRows(const AttentionStep& a, const void* cache, int64_t kvh, int64_t t0, int count, float* dst) {
    cacheRowsToF32(cache, a.f16, (t0 * a.kvHeads + kvh) * a.hd, a.kvHeads * a.hd, a.hd, count, dst);
}

}  // namespace

size_t attentionDecodeScratchFloats(int64_t hd, int64_t heads) {
    return static_cast<size_t>(2 * kDecodeKeys * hd + heads * hd + heads * 16);  // k, v blocks; scaled q; sums
}

void attentionDecodePartAvx512(const AttentionStep& a, int64_t from, int64_t to, int64_t kvFrom, int64_t kvTo,
                               float* acc, float* m, float* l, float* scratch) {
    const int64_t hd = a.hd, group = a.heads / a.kvHeads;
    float* k = scratch;
    float* v = k + kDecodeKeys * hd;
    float* q = v + kDecodeKeys * hd;
    float* sums = q + a.heads * hd;  // per query head, 16 lanes of the running sum of exp(s - m)
    const __m512 sc = _mm512_set1_ps(a.scale);
    for (int64_t h = kvFrom * group; h < kvTo * group; ++h) {
        for (int64_t d = 0; d < hd; d += 16) {
            _mm512_storeu_ps(q + h * hd + d, _mm512_mul_ps(sc, _mm512_loadu_ps(a.q + h * hd + d)));
            _mm512_storeu_ps(acc + h * hd + d, _mm512_setzero_ps());
        }
        _mm512_store_ps(sums + h * 16, _mm512_setzero_ps());
        m[h] = -__builtin_inff();
    }
    for (int64_t t0 = from; t0 < to; t0 += kDecodeKeys) {
        const int count = static_cast<int>(to - t0 < kDecodeKeys ? to - t0 : kDecodeKeys);
        const __mmask16 seen = static_cast<__mmask16>((1u << count) - 1);
        // The next block is asked for while this one is worked on, a few of its positions (whole
        // rows of all kv heads) with each kv head: the prefetchers do not follow reads that skip
        // from head to head, and the cache has left the caches while the step's weights streamed
        // through (~10 % faster from DRAM at 1,088 positions: bench/backends/attention_bench.cpp).
        // Of each row, only the part of this call's kv heads. Into L2: a llama-3.2-1b block is
        // 32 KiB of keys and values, which asked for into L1 pushed out the block being worked on
        // (into L2: 576 positions cold 1.55-2.02 -> 1.53-1.55 ms, 4,096: 9.94-10.05 -> 9.66-9.89).
        const size_t elem = a.f16 ? 2 : 4, rowBytes = static_cast<size_t>(a.kvHeads * hd) * elem;
        const size_t partBytes = static_cast<size_t>((kvTo - kvFrom) * hd) * elem;
        const int64_t ahead = to - (t0 + kDecodeKeys) < kDecodeKeys ? to - (t0 + kDecodeKeys) : kDecodeKeys;
        const size_t next = static_cast<size_t>(t0 + kDecodeKeys) * rowBytes + static_cast<size_t>(kvFrom * hd) * elem;
        const char* nextK = static_cast<const char*>(a.k) + next;
        const char* nextV = static_cast<const char*>(a.v) + next;
        const int64_t kvCount = kvTo - kvFrom;
        for (int64_t kvh = kvFrom; kvh < kvTo; ++kvh) {
            const int64_t i = kvh - kvFrom;
            for (int64_t j = i * ahead / kvCount; j < (i + 1) * ahead / kvCount; ++j)
                for (size_t at = 0; at < partBytes; at += 64) {
                    _mm_prefetch(nextK + static_cast<size_t>(j) * rowBytes + at, _MM_HINT_T1);
                    _mm_prefetch(nextV + static_cast<size_t>(j) * rowBytes + at, _MM_HINT_T1);
                }
            loadHeadRows(a, a.k, kvh, t0, count, k);
            loadHeadRows(a, a.v, kvh, t0, count, v);
            for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
                const __m512 s = _mm512_mask_mov_ps(_mm512_set1_ps(-__builtin_inff()), seen,
                                                    keyScoresAny(q + h * hd, k, count, hd));
                // The running maximum m is raised only when a score passes it by more than
                // kSlack: exp(s - m) then stays below e^kSlack, and most blocks need neither their
                // maximum nor a rescale of what came before (the first block of a head always
                // raises it from -inf, and a rescale by exp(-inf) = 0 of the empty sums is
                // harmless). The sums are kept in 16 lanes and added up once at the end.
                // (Raising it at every block, a maximum, an exponential and a sum reduction per
                // head and block, took 3-7 % longer: bench/backends/attention_bench.cpp.)
                __m512 rescale = _mm512_set1_ps(1.0f);
                if (_mm512_cmp_ps_mask(s, _mm512_set1_ps(m[h] + kSlack), _CMP_GT_OQ)) {
                    const float blockMax = _mm512_reduce_max_ps(s);
                    const float newMax = blockMax > m[h] ? blockMax : m[h];
                    rescale = exp16(_mm512_set1_ps(m[h] - newMax));
                    m[h] = newMax;
                    _mm512_store_ps(sums + h * 16, _mm512_mul_ps(rescale, _mm512_load_ps(sums + h * 16)));
                }
                alignas(64) float p[kDecodeKeys];
                const __m512 e = exp16(_mm512_sub_ps(s, _mm512_set1_ps(m[h])));  // masked keys: 0
                _mm512_store_ps(p, e);
                _mm512_store_ps(sums + h * 16, _mm512_add_ps(e, _mm512_load_ps(sums + h * 16)));
                float* orow = acc + h * hd;
                for (int64_t d0 = 0; d0 < hd; d0 += 64) {
                    switch ((hd - d0) / 16) {
                        case 1: addValues<1>(p, v + d0, count, hd, rescale, orow + d0); break;
                        case 2: addValues<2>(p, v + d0, count, hd, rescale, orow + d0); break;
                        case 3: addValues<3>(p, v + d0, count, hd, rescale, orow + d0); break;
                        default: addValues<4>(p, v + d0, count, hd, rescale, orow + d0); break;
                    }
                }
            }
        }
    }
    for (int64_t h = kvFrom * group; h < kvTo * group; ++h)
        l[h] = _mm512_reduce_add_ps(_mm512_load_ps(sums + h * 16));
}

}  // namespace hearth::cpu
