// The tiled prefill attention kernel (see attention_tiled.h), compiled with AVX-512 flags. As in
// kernels_x86.h, no inline helper of dtype.h or template of the standard library is called here.
//
// Layout: the queries are transposed once per tile (qt[d][row], pre-scaled), so that scores come
// out key-major (p[key][row]) from broadcasts of one key element against 16 query rows, and the
// online softmax works on 16 rows per vector. The keys come element-major (kt[d][key], as the
// cache keeps them: key_blocks.h). The values are then summed as out[row] += p[key][row] * v[key],
// four rows by up to four 16-float pieces of the head at a time.
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

// 16 elements of a key block from p on, the lanes of `width` (the rest 0), as f32.
template <class T>
inline __m512 keyLanes16(const T* p, __mmask16 width) {
    if constexpr (sizeof(T) == 2) return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(width, p));
    else return _mm512_maskz_loadu_ps(width, p);
}

// The same from element `at` of a cache of either type.
inline __m512 keyLanes(const void* cache, bool f16, size_t at, __mmask16 width) {
    if (f16) return keyLanes16(static_cast<const uint16_t*>(cache) + at, width);
    return keyLanes16(static_cast<const float*>(cache) + at, width);
}

inline __mmask16 firstLanes(int64_t n) { return static_cast<__mmask16>((1u << n) - 1); }

// Key positions [t0, t0 + count) of one kv head (t0 a multiple of 16) as kt[d][j], kKeys floats
// a row; lanes past the cache's last position come out 0.
void loadKeys(const AttentionTile& t, int64_t t0, int count, float* kt) {
    for (int64_t b = t0 / KeyBlocks::kPositions; b * KeyBlocks::kPositions < t0 + count; ++b) {
        const int64_t width = t.keys.width(b);
        const size_t start = t.keys.blockStart(b) + static_cast<size_t>(t.keyFirst * width);
        const int lane = static_cast<int>(b * KeyBlocks::kPositions - t0);
        for (int64_t d = 0; d < t.hd; ++d)
            _mm512_storeu_ps(kt + d * kKeys + lane,
                             keyLanes(t.k, t.f16, start + static_cast<size_t>(d * width), firstLanes(width)));
    }
}

// Value rows [t0, t0 + count) of one kv head as f32 rows of hd.
void loadValues(const AttentionTile& t, int64_t t0, int count, float* dst) {
    cacheRowsToF32(t.v, t.f16, t0 * t.stride, t.stride, t.hd, count, dst);
}

// p[j][row] = sum_d kt[d][j] * qt[d][row] for the block's keys, four keys at a time.
void scores(const float* qt, const float* kt, int count, int64_t hd, float* p) {
    for (int j0 = 0; j0 < count; j0 += 4) {
        __m512 s[4][kRowVectors];
        for (int jj = 0; jj < 4; ++jj)
            for (int v = 0; v < kRowVectors; ++v) s[jj][v] = _mm512_setzero_ps();
        for (int64_t d = 0; d < hd; ++d) {
            __m512 qv[kRowVectors];
            for (int v = 0; v < kRowVectors; ++v) qv[v] = _mm512_loadu_ps(qt + d * kRows + 16 * v);
            for (int jj = 0; jj < 4; ++jj) {
                const __m512 kb = _mm512_set1_ps(kt[d * kKeys + j0 + jj]);  // past count: unused
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
        loadKeys(t, t0, count, k);
        loadValues(t, t0, count, v);
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
// thread reads its part of the cache front to back. Per kv head and block, the query heads that
// share it (up to 8 at a time) get their 16 scores together: each key element of the 16
// positions is one vector (key_blocks.h), converted once and multiplied into every head's scores
// by a broadcast of that head's query element. The softmax runs on 16 keys per vector, and each
// value row, converted once, is added into every head's sum in registers. The next block of the
// same kv head is asked for along the way, a line at a time (the cache has left the caches while
// the step's weights streamed through; asked for a whole block at once, it was slower:
// docs/performance.md, decode, seventh pass).

namespace {

constexpr float kSlack = 8.0f;  // see pass()
constexpr int kMaxPassHeads = 8;

template <class T>
inline __m512 lanes16(const T* p) {
    if constexpr (sizeof(T) == 2)
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    else
        return _mm512_loadu_ps(p);
}

// s[h] = the 16 scores of query head h (pre-scaled, hd floats apart) against a key block of this
// kv head: element d of its positions at kt + d * width. Two sums per head (even and odd
// elements) so that the multiply-adds of a head do not wait on each other. `next`, if not null,
// is the same kv head's next block, asked for a line per two elements.
template <int NH, class T>
inline void blockScores(const float* q, const T* kt, int64_t width, __mmask16 lanes, int64_t hd,
                        const char* next, __m512* s) {
    __m512 even[NH], odd[NH];
#pragma GCC unroll 8
    for (int h = 0; h < NH; ++h) even[h] = odd[h] = _mm512_setzero_ps();
    for (int64_t d = 0; d < hd; d += 2) {
        if (next) {
            _mm_prefetch(next + d * 16 * static_cast<int64_t>(sizeof(T)), _MM_HINT_T0);
            if constexpr (sizeof(T) == 4) _mm_prefetch(next + d * 64 + 64, _MM_HINT_T0);
        }
        const __m512 k0 = keyLanes16(kt + d * width, lanes), k1 = keyLanes16(kt + (d + 1) * width, lanes);
#pragma GCC unroll 8
        for (int h = 0; h < NH; ++h) {
            even[h] = _mm512_fmadd_ps(_mm512_set1_ps(q[h * hd + d]), k0, even[h]);
            odd[h] = _mm512_fmadd_ps(_mm512_set1_ps(q[h * hd + d + 1]), k1, odd[h]);
        }
    }
#pragma GCC unroll 8
    for (int h = 0; h < NH; ++h) s[h] = _mm512_add_ps(even[h], odd[h]);
}

// acc[h][d0 .. d0 + 16 * DV) += sum_j p[h][j] * v[j][d0 ..], for the `count` value rows
// `rowStride` elements apart. `next` (if not null): the rows of the next block, asked for row by
// row.
template <int NH, int DV, class T>
inline void blockValues(const float* p, const T* v, int64_t rowStride, int count, int64_t d0, int64_t hd,
                        const char* next, float* acc) {
    __m512 o[NH][DV];
#pragma GCC unroll 8
    for (int h = 0; h < NH; ++h)
#pragma GCC unroll 4
        for (int x = 0; x < DV; ++x) o[h][x] = _mm512_loadu_ps(acc + h * hd + d0 + 16 * x);
    for (int j = 0; j < count; ++j) {
        if (next)
            for (int64_t at = 0; at < hd * static_cast<int64_t>(sizeof(T)); at += 64)
                _mm_prefetch(next + j * rowStride * static_cast<int64_t>(sizeof(T)) + at, _MM_HINT_T0);
        __m512 vv[DV];
#pragma GCC unroll 4
        for (int x = 0; x < DV; ++x) vv[x] = lanes16(v + j * rowStride + d0 + 16 * x);
#pragma GCC unroll 8
        for (int h = 0; h < NH; ++h) {
            const __m512 pj = _mm512_set1_ps(p[h * 16 + j]);
#pragma GCC unroll 4
            for (int x = 0; x < DV; ++x) o[h][x] = _mm512_fmadd_ps(pj, vv[x], o[h][x]);
        }
    }
#pragma GCC unroll 8
    for (int h = 0; h < NH; ++h)
#pragma GCC unroll 4
        for (int x = 0; x < DV; ++x) _mm512_storeu_ps(acc + h * hd + d0 + 16 * x, o[h][x]);
}

struct BlockRef {
    const void* kt;        // this kv head's key block
    int64_t width;         // positions per element in it (16 but in a last, partial block)
    const void* v;         // this kv head's first value row of the block
    int64_t rowStride;     // elements between value rows
    int count;             // positions of the block taken
    const char* nextKeys;  // the next block's, to ask for (null: none)
    const char* nextValues;
};

// NH query heads (q: their pre-scaled rows; m, sums, acc: their running state) against one block.
// The running maximum m is raised only when a score passes it by more than kSlack: exp(s - m)
// then stays below e^kSlack, and most blocks need neither their maximum nor a rescale of what
// came before (the first block of a head always raises it from -inf, and a rescale by
// exp(-inf) = 0 of the empty sums is harmless). The sums are kept in 16 lanes and added up once
// at the end. (Raising it at every block took 3-7 % longer: bench/backends/attention_bench.cpp.)
template <int NH, class T>
void pass(const float* q, const BlockRef& b, int64_t hd, float* m, float* sums, float* acc) {
    const __mmask16 lanes = firstLanes(b.width), seen = firstLanes(b.count);
    __m512 s[NH];
    blockScores<NH>(q, static_cast<const T*>(b.kt), b.width, lanes, hd, b.nextKeys, s);
    alignas(64) float p[NH * 16];
#pragma GCC unroll 8
    for (int h = 0; h < NH; ++h) {
        const __m512 sh = _mm512_mask_mov_ps(_mm512_set1_ps(-__builtin_inff()), seen, s[h]);
        if (_mm512_cmp_ps_mask(sh, _mm512_set1_ps(m[h] + kSlack), _CMP_GT_OQ)) {
            // The rare block that raises the maximum rescales what came before in place, so that
            // the value sums below need no factor (held for every head through that loop, the
            // factors pushed two of the 7-head pass's sums out of the registers).
            const float blockMax = _mm512_reduce_max_ps(sh);
            const float newMax = blockMax > m[h] ? blockMax : m[h];
            const __m512 rescale = exp16(_mm512_set1_ps(m[h] - newMax));
            m[h] = newMax;
            _mm512_store_ps(sums + h * 16, _mm512_mul_ps(rescale, _mm512_load_ps(sums + h * 16)));
            for (int64_t d = 0; d < hd; d += 16)
                _mm512_storeu_ps(acc + h * hd + d, _mm512_mul_ps(rescale, _mm512_loadu_ps(acc + h * hd + d)));
        }
        const __m512 e = exp16(_mm512_sub_ps(sh, _mm512_set1_ps(m[h])));  // masked keys: 0
        _mm512_store_ps(p + h * 16, e);
        _mm512_store_ps(sums + h * 16, _mm512_add_ps(e, _mm512_load_ps(sums + h * 16)));
    }
    // Pieces of 64 floats of the head where the heads' sums fit the registers, else of 32 and 16.
    const T* v = static_cast<const T*>(b.v);
    int64_t d0 = 0;
    if constexpr (NH <= 4)
        for (; d0 + 64 <= hd; d0 += 64)
            blockValues<NH, 4>(p, v, b.rowStride, b.count, d0, hd, d0 ? nullptr : b.nextValues, acc);
    for (; d0 + 32 <= hd; d0 += 32)
        blockValues<NH, 2>(p, v, b.rowStride, b.count, d0, hd, d0 ? nullptr : b.nextValues, acc);
    for (; d0 < hd; d0 += 16)
        blockValues<NH, 1>(p, v, b.rowStride, b.count, d0, hd, d0 ? nullptr : b.nextValues, acc);
}

template <class T>
void passHeads(int64_t heads, const float* q, const BlockRef& b, int64_t hd, float* m, float* sums,
               float* acc) {
    switch (heads) {
        case 1: return pass<1, T>(q, b, hd, m, sums, acc);
        case 2: return pass<2, T>(q, b, hd, m, sums, acc);
        case 3: return pass<3, T>(q, b, hd, m, sums, acc);
        case 4: return pass<4, T>(q, b, hd, m, sums, acc);
        case 5: return pass<5, T>(q, b, hd, m, sums, acc);
        case 6: return pass<6, T>(q, b, hd, m, sums, acc);
        case 7: return pass<7, T>(q, b, hd, m, sums, acc);
        default: return pass<8, T>(q, b, hd, m, sums, acc);
    }
}

template <class T>
void decodePart(const AttentionStep& a, int64_t from, int64_t to, int64_t kvFrom, int64_t kvTo, float* acc,
                float* sums, const float* q, float* m) {
    const int64_t hd = a.hd, group = a.heads / a.kvHeads, rowElems = a.kvHeads * hd;
    const T* keys = static_cast<const T*>(a.k);
    const T* values = static_cast<const T*>(a.v);
    for (int64_t t0 = from; t0 < to; t0 += KeyBlocks::kPositions) {
        const int64_t block = t0 / KeyBlocks::kPositions;
        const bool more = t0 + KeyBlocks::kPositions < to;
        BlockRef b{};
        b.width = a.keys.width(block);
        b.rowStride = rowElems;
        b.count = static_cast<int>(to - t0 < KeyBlocks::kPositions ? to - t0 : KeyBlocks::kPositions);
        for (int64_t kvh = kvFrom; kvh < kvTo; ++kvh) {
            b.kt = keys + a.keys.blockStart(block) + static_cast<size_t>(kvh * hd * b.width);
            b.v = values + (t0 * a.kvHeads + kvh) * hd;
            const T* nextKeys = nullptr;
            const T* nextValues = nullptr;
            if (more) {
                const int64_t nextWidth = a.keys.width(block + 1);
                nextKeys = keys + a.keys.blockStart(block + 1) + static_cast<size_t>(kvh * hd * nextWidth);
                nextValues = values + (t0 + KeyBlocks::kPositions) * rowElems + kvh * hd;
            }
            for (int64_t h = kvh * group; h < (kvh + 1) * group; h += kMaxPassHeads) {
                const int64_t left = (kvh + 1) * group - h, n = left < kMaxPassHeads ? left : kMaxPassHeads;
                const bool first = h == kvh * group;  // the next block is asked for once per kv head
                b.nextKeys = first ? reinterpret_cast<const char*>(nextKeys) : nullptr;
                b.nextValues = first ? reinterpret_cast<const char*>(nextValues) : nullptr;
                passHeads<T>(n, q + h * hd, b, hd, m + h, sums + h * 16, acc + h * hd);
            }
        }
    }
}

}  // namespace

size_t attentionDecodeScratchFloats(int64_t hd, int64_t heads) {
    return static_cast<size_t>(heads * hd + heads * 16);  // scaled q; per head 16 lanes of sums
}

void attentionDecodePartAvx512(const AttentionStep& a, int64_t from, int64_t to, int64_t kvFrom, int64_t kvTo,
                               float* acc, float* m, float* l, float* scratch) {
    const int64_t hd = a.hd, group = a.heads / a.kvHeads;
    float* q = scratch;
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
    if (a.f16) decodePart<uint16_t>(a, from, to, kvFrom, kvTo, acc, sums, q, m);
    else decodePart<float>(a, from, to, kvFrom, kvTo, acc, sums, q, m);
    for (int64_t h = kvFrom * group; h < kvTo * group; ++h)
        l[h] = _mm512_reduce_add_ps(_mm512_load_ps(sums + h * 16));
}

}  // namespace hearth::cpu
