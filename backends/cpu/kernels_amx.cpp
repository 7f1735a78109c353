// The AMX prefill kernels (see kernels_amx.h). Compiled with -mamx-tile -mamx-bf16 and the
// AVX-512 (BF16) flags. As in kernels_x86.h, nothing here calls dtype.h's inline helpers or
// standard library templates: the linker could otherwise pick this file's AMX/AVX-512 copy of an
// inline function for code that runs on any CPU.
#include "backends/cpu/kernels_amx.h"

#include <immintrin.h>

#include <cstring>

namespace hearth::cpu::amx {

namespace {

constexpr int kStep = 32;                       // elements of k per tile product
constexpr int kTileBytes = kTile * 64;          // one 16 x 64-byte tile: 1 KiB
constexpr int kPanelStepBytes = 2 * kTileBytes; // both row tiles of a panel for one step

inline float half(uint16_t h) { return _cvtsh_ss(h); }

// 32 floats (lo = the first 16) -> 32 bf16, rounded to nearest even.
inline __m512i toBf16(__m512 hi, __m512 lo) {
    const __m512bh v = _mm512_cvtne2ps_pbh(hi, lo);
    __m512i bits;
    std::memcpy(&bits, &v, sizeof(bits));
    return bits;
}

// ---- weights: one row's blocks -> bf16, 32 elements per step ------------------------------

// Row r of the 32-row panel: step s (elements 32 s .. 32 s + 31) is row r % 16 of the A tile
// of rows r / 16, 64 bytes, at panel + (s - first) * 2 KiB + (r / 16) KiB + (r % 16) * 64.
struct RowOut {
    uint8_t* panel;
    int64_t first;
    int r;
    uint8_t* at(int64_t s) const { return panel + (s - first) * kPanelStepBytes + (r / kTile) * kTileBytes + (r % kTile) * 64; }
    // Elements 32 s .. 32 s + 31 are s0 * q[i] + o0 (the first 16) and s1 * q[i] + o1 (the rest).
    void put(int64_t s, __m256i q, float s0, float o0, float s1, float o1) const {
        const __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(q)));
        const __m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(q, 1)));
        const __m512 wlo = _mm512_fmadd_ps(lo, _mm512_set1_ps(s0), _mm512_set1_ps(o0));
        const __m512 whi = _mm512_fmadd_ps(hi, _mm512_set1_ps(s1), _mm512_set1_ps(o1));
        _mm512_storeu_si512(at(s), toBf16(whi, wlo));
    }
    void put(int64_t s, __m256i q, float scale, float offset) const { put(s, q, scale, offset, scale, offset); }
    // The same for unsigned q below 16 (or 32 with `wide`): the block has only that many distinct
    // weights, so they are computed once as a bf16 table and looked up per element.
    void lookup(int64_t s, __m256i q, float scale, float offset, bool wide = false) const {
        const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        const __m512 sc = _mm512_set1_ps(scale), off = _mm512_set1_ps(offset);
        const __m512 lo = _mm512_fmadd_ps(iota, sc, off);
        const __m512 hi = wide ? _mm512_fmadd_ps(_mm512_add_ps(iota, _mm512_set1_ps(16.0f)), sc, off) : lo;
        _mm512_storeu_si512(at(s), _mm512_permutexvar_epi16(_mm512_cvtepu8_epi16(q), toBf16(hi, lo)));
    }
};

// 16 rows of 16 dwords -> 16 columns (r[i] becomes dword i of every input row): three rounds
// of shuffles inside and across 128-bit lanes, 64 in all.
inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    __m512i u[16];  // u[4a + c], lane L: rows 4a .. 4a+3 of column 4L + c
    for (int a = 0; a < 4; ++a) {
        u[4 * a] = _mm512_unpacklo_epi64(t[4 * a], t[4 * a + 2]);
        u[4 * a + 1] = _mm512_unpackhi_epi64(t[4 * a], t[4 * a + 2]);
        u[4 * a + 2] = _mm512_unpacklo_epi64(t[4 * a + 1], t[4 * a + 3]);
        u[4 * a + 3] = _mm512_unpackhi_epi64(t[4 * a + 1], t[4 * a + 3]);
    }
    for (int c = 0; c < 4; ++c) {
        const __m512i v = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88), w = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xDD);
        const __m512i x = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88), y = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xDD);
        r[c] = _mm512_shuffle_i32x4(v, x, 0x88);
        r[8 + c] = _mm512_shuffle_i32x4(v, x, 0xDD);
        r[4 + c] = _mm512_shuffle_i32x4(w, y, 0x88);
        r[12 + c] = _mm512_shuffle_i32x4(w, y, 0xDD);
    }
}

// 16 bytes of packed nibbles -> 32 bytes: low nibbles first, then high nibbles.
inline __m256i nibbles(const uint8_t* qs) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(x, 4), x), _mm256_set1_epi8(0x0F));
}

void unpackRow(const BlockQ4_0* w, int64_t b0, int64_t b1, const RowOut& o) {
    for (int64_t b = b0; b < b1; ++b) {
        const float d = half(w[b].d);
        o.lookup(b, nibbles(w[b].qs), d, -8.0f * d);
    }
}

void unpackRow(const BlockQ4_1* w, int64_t b0, int64_t b1, const RowOut& o) {
    for (int64_t b = b0; b < b1; ++b) o.lookup(b, nibbles(w[b].qs), half(w[b].d), half(w[b].m));
}

void unpackRow(const BlockQ5_0* w, int64_t b0, int64_t b1, const RowOut& o) {
    for (int64_t b = b0; b < b1; ++b) {
        uint32_t qh;
        std::memcpy(&qh, w[b].qh, 4);
        const __m256i fifth = _mm256_maskz_mov_epi8(static_cast<__mmask32>(qh), _mm256_set1_epi8(0x10));
        const float d = half(w[b].d);
        o.lookup(b, _mm256_or_si256(nibbles(w[b].qs), fifth), d, -16.0f * d, true);
    }
}

void unpackRow(const BlockQ8_0* w, int64_t b0, int64_t b1, const RowOut& o) {
    for (int64_t b = b0; b < b1; ++b)
        o.put(b, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs)), half(w[b].d), 0.0f);
}

// The eight 6-bit scales and mins of a Q4_K/Q5_K super-block (GGUF packing, see kQuantScaleMin).
inline void scalesMinsK(const uint8_t* q, uint8_t scale[8], uint8_t min[8]) {
    for (int j = 0; j < 4; ++j) {
        scale[j] = q[j] & 63;
        min[j] = q[j + 4] & 63;
        scale[j + 4] = static_cast<uint8_t>((q[j + 8] & 0xF) | ((q[j] >> 6) << 4));
        min[j + 4] = static_cast<uint8_t>((q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4));
    }
}

// Q4_K / Q5_K: sub-block 2p is the low nibbles of qs[32p .. 32p+31], 2p+1 the high ones; the
// fifth bits of Q5_K are bits 2p and 2p+1 of qh. w = d * scale * q - dmin * min.
template <class Block>
void unpackRowK45(const Block* w, int64_t sb0, int64_t sb1, const RowOut& o) {
    constexpr bool kFifth = sizeof(Block) == sizeof(BlockQ5_K);
    const __m256i low4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    for (int64_t sb = sb0; sb < sb1; ++sb) {
        const Block& blk = w[sb];
        uint8_t scale[8], min[8];
        scalesMinsK(blk.scales, scale, min);
        const float d = half(blk.d), dmin = half(blk.dmin);
        [[maybe_unused]] __m256i qh;
        if constexpr (kFifth) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh));
        for (int p = 0; p < 4; ++p) {
            const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs + 32 * p));
            __m256i lo = _mm256_and_si256(x, low4), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low4);
            if constexpr (kFifth) {
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * p + 1), one), 4));
            }
            const int64_t s = sb * 8 + 2 * p;
            o.lookup(s, lo, d * scale[2 * p], -dmin * min[2 * p], kFifth);
            o.lookup(s + 1, hi, d * scale[2 * p + 1], -dmin * min[2 * p + 1], kFifth);
        }
    }
}

// Q6_K: in half h, ql[64h .. 64h+63] holds the low 4 bits and qh[32h .. 32h+31] the top 2 of
// elements 128h + 32j + l as (ql[32 (j % 2) + l] >> 4 (j / 2)) | (qh[l] >> 2j) & 3; q - 32 is
// signed, and each 16 elements have their own 8-bit scale.
void unpackRowQ6K(const BlockQ6_K* w, int64_t sb0, int64_t sb1, const RowOut& o) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), low2 = _mm256_set1_epi8(3), bias = _mm256_set1_epi8(32);
    for (int64_t sb = sb0; sb < sb1; ++sb) {
        const BlockQ6_K& blk = w[sb];
        const float d = half(blk.d);
        for (int h = 0; h < 2; ++h) {
            const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.ql + 64 * h));
            const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.ql + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh + 32 * h));
            const __m256i lowBits[4] = {_mm256_and_si256(ql0, low4), _mm256_and_si256(ql1, low4),
                                        _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                                        _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4)};
            for (int j = 0; j < 4; ++j) {
                const __m256i top = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), low2), 4);
                const int sub = 2 * (4 * h + j);
                o.put(sb * 8 + 4 * h + j, _mm256_sub_epi8(_mm256_or_si256(lowBits[j], top), bias),
                      d * static_cast<float>(blk.scales[sub]), 0.0f, d * static_cast<float>(blk.scales[sub + 1]), 0.0f);
            }
        }
    }
}

// Steps [s0, s1) of one row (for the K-quants whole super-blocks: s0, s1 multiples of 8).
void unpackSteps(DType type, const uint8_t* row, int64_t s0, int64_t s1, const RowOut& o) {
    switch (type) {
        case DType::Q4_0: unpackRow(reinterpret_cast<const BlockQ4_0*>(row), s0, s1, o); break;
        case DType::Q4_1: unpackRow(reinterpret_cast<const BlockQ4_1*>(row), s0, s1, o); break;
        case DType::Q5_0: unpackRow(reinterpret_cast<const BlockQ5_0*>(row), s0, s1, o); break;
        case DType::Q8_0: unpackRow(reinterpret_cast<const BlockQ8_0*>(row), s0, s1, o); break;
        case DType::Q4_K: unpackRowK45(reinterpret_cast<const BlockQ4_K*>(row), s0 / 8, s1 / 8, o); break;
        case DType::Q5_K: unpackRowK45(reinterpret_cast<const BlockQ5_K*>(row), s0 / 8, s1 / 8, o); break;
        case DType::Q6_K: unpackRowQ6K(reinterpret_cast<const BlockQ6_K*>(row), s0 / 8, s1 / 8, o); break;
        default: break;
    }
}

// ---- tile products ---------------------------------------------------------------------------

// Tiles 0-3: the 2 x 2 results, 16 weight rows x 16 tokens each (row tile i, token tile j at
// 2 i + j); 4/5 the two weight tiles of a step (rows as they are in the file, 32 bf16 each), 6/7
// the two token tiles (pairs of elements: row p holds elements 2p, 2p+1 of each token). All are
// 16 rows x 64 bytes.
struct alignas(64) TileConfig {
    uint8_t palette = 1;
    uint8_t startRow = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};

}  // namespace

size_t packedGroupBytes(int64_t k) { return static_cast<size_t>(k / kStep) * kTileBytes; }

void packGroup(const float* x, int64_t k, int64_t n, int64_t g, uint8_t* dst) {
    // Step s: the 16 tokens' 32 elements as bf16 (16 dwords of pairs each), transposed so that
    // row p of the B tile holds pair p of every token.
    for (int64_t s = 0; s < k / kStep; ++s) {
        __m512i v[kTile];
        for (int t = 0; t < kTile; ++t) {
            const int64_t token = g * kTile + t;
            v[t] = _mm512_setzero_si512();
            if (token < n) {
                const float* src = x + token * k + s * kStep;
                v[t] = toBf16(_mm512_loadu_ps(src + 16), _mm512_loadu_ps(src));
            }
        }
        transpose16(v);
        for (int p = 0; p < kTile; ++p) _mm512_storeu_si512(dst + s * kTileBytes + p * 64, v[p]);
    }
}

size_t panelBytes(int64_t k) { return static_cast<size_t>(k / kStep) * kPanelStepBytes; }

void unpackRows(DType type, const uint8_t* weight, size_t rowBytes, int64_t rows, int64_t row0, int64_t k0,
                int64_t k1, uint8_t* panel) {
    const int64_t first = k0 / kStep, steps = k1 / kStep;
    for (int r = 0; r < kPanelRows; ++r) {
        const RowOut o{panel, first, r};
        if (row0 + r < rows) {
            unpackSteps(type, weight + static_cast<size_t>(row0 + r) * rowBytes, first, steps, o);
        } else {
            for (int64_t s = first; s < steps; ++s) _mm512_storeu_si512(o.at(s), _mm512_setzero_si512());
        }
    }
}

namespace {

// The panel of one sub-slice (unpacked) against token groups [g0, g1) in pairs. Each pair's four
// result tiles start from zero on the slice's first sub-slice and from `acc` after that; they go
// back to `acc` unless this is the slice's last sub-slice, then to out (transposed: a result tile
// is [row][token]), on top of the bias or, with `accumulate`, of out.
void multiplySub(const uint8_t* panel, int64_t s0, int64_t s1, const uint8_t* packed, size_t groupBytes, int64_t n,
                 int64_t g0, int64_t g1, int64_t row0, int64_t rows, const float* bias, bool firstSub, bool lastSub,
                 bool accumulate, float* acc, float* out) {
    alignas(64) float biasRows[2][kTile] = {};
    for (int i = 0; i < 2; ++i)
        for (int r = 0; r < kTile; ++r)
            if (bias && row0 + kTile * i + r < rows) biasRows[i][r] = bias[row0 + kTile * i + r];
    for (int64_t g = g0; g < g1; g += 2) {  // the packed groups come in pairs (see packedGroups)
        const uint8_t* t0 = packed + static_cast<size_t>(g) * groupBytes;
        const uint8_t* t1 = t0 + groupBytes;
        float* c = acc + (g - g0) / 2 * 4 * kTile * kTile;
        if (firstSub) {
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
        } else {
            _tile_loadd(0, c, 64);
            _tile_loadd(1, c + kTile * kTile, 64);
            _tile_loadd(2, c + 2 * kTile * kTile, 64);
            _tile_loadd(3, c + 3 * kTile * kTile, 64);
        }
        for (int64_t s = s0; s < s1; ++s) {
            const uint8_t* w = panel + (s - s0) * kPanelStepBytes;
            _tile_loadd(4, w, 64);
            _tile_loadd(5, w + kTileBytes, 64);
            _tile_loadd(6, t0 + s * kTileBytes, 64);
            _tile_loadd(7, t1 + s * kTileBytes, 64);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
        _tile_stored(0, c, 64);
        _tile_stored(1, c + kTile * kTile, 64);
        _tile_stored(2, c + 2 * kTile * kTile, 64);
        _tile_stored(3, c + 3 * kTile * kTile, 64);
        if (!lastSub) continue;
        // Result tile 2 i + j is [row][token]: transposed, each token's 16 rows are contiguous in out.
        for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j) {
                const int64_t r0 = row0 + kTile * i, firstToken = (g + j) * kTile;
                const int64_t validRows = rows - r0 < kTile ? rows - r0 : kTile;
                const int64_t validTokens = n - firstToken < kTile ? n - firstToken : kTile;
                if (validRows <= 0 || validTokens <= 0) continue;
                __m512i v[kTile];
                for (int r = 0; r < kTile; ++r) v[r] = _mm512_load_si512(c + (2 * i + j) * kTile * kTile + r * kTile);
                transpose16(v);
                const __mmask16 mask = static_cast<__mmask16>((1u << validRows) - 1u);
                const __m512 b = _mm512_load_ps(biasRows[i]);
                for (int64_t t = 0; t < validTokens; ++t) {
                    float* o = out + (firstToken + t) * rows + r0;
                    const __m512 base = accumulate ? _mm512_maskz_loadu_ps(mask, o) : b;
                    _mm512_mask_storeu_ps(o, mask, _mm512_add_ps(base, _mm512_castsi512_ps(v[t])));
                }
            }
    }
}

}  // namespace

size_t taskScratchBytes(int64_t groups) {
    return panelBytes(kSubSlice) + static_cast<size_t>((groups + 1) / 2) * 4 * kTile * kTile * sizeof(float);
}

void runTask(DType type, const uint8_t* weight, size_t rowBytes, int64_t rows, int64_t row0, int64_t k0, int64_t k1,
             const uint8_t* packed, int64_t k, int64_t n, int64_t g0, int64_t g1, const float* bias, bool accumulate,
             float* out, uint8_t* scratch) {
    uint8_t* panel = scratch;
    auto* acc = reinterpret_cast<float*>(scratch + panelBytes(kSubSlice));
    for (int64_t sub0 = k0; sub0 < k1; sub0 += kSubSlice) {
        const int64_t sub1 = sub0 + kSubSlice < k1 ? sub0 + kSubSlice : k1;
        unpackRows(type, weight, rowBytes, rows, row0, sub0, sub1, panel);
        multiplySub(panel, sub0 / kStep, sub1 / kStep, packed, packedGroupBytes(k), n, g0, g1, row0, rows, bias,
                    sub0 == k0, sub1 == k1, accumulate, acc, out);
    }
}

int64_t packedGroups(int64_t n) { return ((n + kTile - 1) / kTile + 1) / 2 * 2; }

void beginTiles() {
    TileConfig config;
    for (int t = 0; t < 8; ++t) {
        config.colsb[t] = 64;
        config.rows[t] = kTile;
    }
    // Not _tile_loadconfig: GCC 12's version names only the first 8 bytes of the configuration
    // as read, so the compiler dropped the stores of the tile shapes.
    __asm__ volatile("ldtilecfg %0" : : "m"(config));
}

void endTiles() { _tile_release(); }

}  // namespace hearth::cpu::amx
