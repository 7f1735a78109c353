// The AMX int8 prefill kernels (see kernels_amx.h). Compiled with -mamx-tile -mamx-int8 and the
// AVX-512 flags. As in kernels_x86.h, nothing here calls dtype.h's inline helpers or standard
// library templates: the linker could otherwise pick this file's AMX/AVX-512 copy of an inline
// function for code that runs on any CPU.
#include "backends/cpu/kernels_amx.h"

#include <immintrin.h>

#include <cstring>

namespace hearth::cpu::amx {

namespace {

constexpr int kBlockTileBytes = kTile * kQK;  // one A or B tile of a 32-element block: 512 bytes

// The panel of 16 unpacked weight rows: per 32-element block b, the A tile (row r's 32 signed
// bytes at b * 512 + 32 r), then per block 16 floats each of: the scale (of the first 16
// elements, for Q6_K), the scale of the second 16 (Q6_K only), and the min added per token sum
// (types with an offset per block: Q4_1, Q4_K, Q5_K).
struct Panel {
    int8_t* q;
    float* scale;
    float* scaleHi;
    float* min;
};
Panel panelOf(uint8_t* p, int64_t nb) {
    auto* f = reinterpret_cast<float*>(p + nb * kBlockTileBytes);
    return {reinterpret_cast<int8_t*>(p), f, f + nb * kTile, f + 2 * nb * kTile};
}

// Packed activations of one group: B tiles, then d[nb][16], then s[nb][16].
struct Packed {
    const int8_t* q;
    const float* d;
    const float* s;
};
Packed packedOf(const uint8_t* p, int64_t nb) {
    auto* f = reinterpret_cast<const float*>(p + nb * kBlockTileBytes);
    return {reinterpret_cast<const int8_t*>(p), f, f + nb * kTile};
}

enum class Kind { Plain, WithMin, HalfScales };
Kind kindOf(DType type) {
    switch (type) {
        case DType::Q4_1: case DType::Q4_K: case DType::Q5_K: return Kind::WithMin;
        case DType::Q6_K: return Kind::HalfScales;
        default: return Kind::Plain;
    }
}

inline float half(uint16_t h) { return _cvtsh_ss(h); }

// ---- activations ---------------------------------------------------------------------------

// One token's 32-element blocks as BlockQ8A: x ≈ d * q, s = d * sum(q), rounded to nearest even.
void quantizeToken(const float* x, int64_t k, BlockQ8A* out) {
    const __m512 signMask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < k / kQK; ++b) {
        const __m512 v0 = _mm512_loadu_ps(x + b * kQK), v1 = _mm512_loadu_ps(x + b * kQK + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(v0, signMask), _mm512_and_ps(v1, signMask)));
        const float d = amax / 127.0f, id = d > 0.0f ? 1.0f / d : 0.0f;
        const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(id)));
        const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(id)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].qs), _mm512_cvtsepi32_epi8(q0));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].qs + 16), _mm512_cvtsepi32_epi8(q1));
        out[b].d = d;
        out[b].s = d * static_cast<float>(_mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1)));
    }
}

// ---- weights: one row's blocks -> 32 signed bytes per block, with its scales ----------------

// Row r of the panel, block b.
struct RowOut {
    Panel p;
    int r;
    void q(int64_t b, __m256i v) const {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(p.q + b * kBlockTileBytes + r * kQK), v);
    }
    void scale(int64_t b, float s) const { p.scale[b * kTile + r] = s; }
    void scaleHi(int64_t b, float s) const { p.scaleHi[b * kTile + r] = s; }
    void min(int64_t b, float m) const { p.min[b * kTile + r] = m; }
};

// 16 bytes of packed nibbles -> 32 bytes: low nibbles first, then high nibbles.
inline __m256i nibbles(const uint8_t* qs) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(x, 4), x), _mm256_set1_epi8(0x0F));
}

void unpackRow(const BlockQ4_0* w, int64_t nb, const RowOut& o) {
    for (int64_t b = 0; b < nb; ++b) {
        o.q(b, _mm256_sub_epi8(nibbles(w[b].qs), _mm256_set1_epi8(8)));
        o.scale(b, half(w[b].d));
    }
}

void unpackRow(const BlockQ4_1* w, int64_t nb, const RowOut& o) {
    for (int64_t b = 0; b < nb; ++b) {
        o.q(b, nibbles(w[b].qs));
        o.scale(b, half(w[b].d));
        o.min(b, half(w[b].m));
    }
}

void unpackRow(const BlockQ5_0* w, int64_t nb, const RowOut& o) {
    for (int64_t b = 0; b < nb; ++b) {
        uint32_t qh;
        std::memcpy(&qh, w[b].qh, 4);
        const __m256i fifth = _mm256_maskz_mov_epi8(static_cast<__mmask32>(qh), _mm256_set1_epi8(0x10));
        o.q(b, _mm256_sub_epi8(_mm256_or_si256(nibbles(w[b].qs), fifth), _mm256_set1_epi8(16)));
        o.scale(b, half(w[b].d));
    }
}

void unpackRow(const BlockQ8_0* w, int64_t nb, const RowOut& o) {
    for (int64_t b = 0; b < nb; ++b) {
        o.q(b, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs)));
        o.scale(b, half(w[b].d));
    }
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
// fifth bits of Q5_K are bits 2p and 2p+1 of qh.
template <class Block>
void unpackRowK45(const Block* w, int64_t nsb, const RowOut& o) {
    constexpr bool kFifth = sizeof(Block) == sizeof(BlockQ5_K);
    const __m256i low4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    for (int64_t sb = 0; sb < nsb; ++sb) {
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
            const int64_t b = sb * 8 + 2 * p;
            o.q(b, lo);
            o.q(b + 1, hi);
            o.scale(b, d * scale[2 * p]);
            o.scale(b + 1, d * scale[2 * p + 1]);
            o.min(b, -dmin * min[2 * p]);
            o.min(b + 1, -dmin * min[2 * p + 1]);
        }
    }
}

// Q6_K: in half h, ql[64h .. 64h+63] holds the low 4 bits and qh[32h .. 32h+31] the top 2 of
// elements 128h + 32j + l as (ql[32 (j % 2) + l] >> 4 (j / 2)) | (qh[l] >> 2j) & 3; q - 32 is
// signed, and each 16 elements have their own 8-bit scale.
void unpackRowQ6K(const BlockQ6_K* w, int64_t nsb, const RowOut& o) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), low2 = _mm256_set1_epi8(3), bias = _mm256_set1_epi8(32);
    for (int64_t sb = 0; sb < nsb; ++sb) {
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
                const int64_t b = sb * 8 + 4 * h + j;
                o.q(b, _mm256_sub_epi8(_mm256_or_si256(lowBits[j], top), bias));
                o.scale(b, d * static_cast<float>(blk.scales[2 * (4 * h + j)]));
                o.scaleHi(b, d * static_cast<float>(blk.scales[2 * (4 * h + j) + 1]));
            }
        }
    }
}

void unpackOneRow(DType type, const uint8_t* row, int64_t k, const RowOut& o) {
    switch (type) {
        case DType::Q4_0: unpackRow(reinterpret_cast<const BlockQ4_0*>(row), k / kQK, o); break;
        case DType::Q4_1: unpackRow(reinterpret_cast<const BlockQ4_1*>(row), k / kQK, o); break;
        case DType::Q5_0: unpackRow(reinterpret_cast<const BlockQ5_0*>(row), k / kQK, o); break;
        case DType::Q8_0: unpackRow(reinterpret_cast<const BlockQ8_0*>(row), k / kQK, o); break;
        case DType::Q4_K: unpackRowK45(reinterpret_cast<const BlockQ4_K*>(row), k / kQKK, o); break;
        case DType::Q5_K: unpackRowK45(reinterpret_cast<const BlockQ5_K*>(row), k / kQKK, o); break;
        case DType::Q6_K: unpackRowQ6K(reinterpret_cast<const BlockQ6_K*>(row), k / kQKK, o); break;
        default: break;
    }
}

// ---- tile products ---------------------------------------------------------------------------

// Tiles 0 and 1 hold two 16 x 16 int32 results, 2/3 and 4/5 the A (weights) and B (tokens)
// operands that produce them: two consecutive blocks, or Q6_K's two halves of one block.
struct alignas(64) TileConfig {
    uint8_t palette = 1;
    uint8_t startRow = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};

TileConfig configFor(Kind kind) {
    TileConfig c;
    const int kBytes = kind == Kind::HalfScales ? kQK / 2 : kQK;  // elements per tile product
    for (int pair = 0; pair < 2; ++pair) {
        const int result = pair, weights = 2 + 2 * pair, tokens = 3 + 2 * pair;
        c.colsb[result] = kTile * 4;
        c.rows[result] = kTile;
        c.colsb[weights] = static_cast<uint16_t>(kBytes);
        c.rows[weights] = kTile;
        c.colsb[tokens] = kTile * 4;
        c.rows[tokens] = static_cast<uint8_t>(kBytes / 4);
    }
    return c;
}

// acc[r] (16 tokens of weight row r) += one unit's integer dot products c (16 x 16), scaled by
// the weight row's scale and the tokens' block scales (plus the row's min times the tokens' sums).
template <Kind kind>
inline void applyScales(const int32_t* c, const float* scale, const float* min, const Packed& a, int64_t b, __m512 acc[kTile]) {
    const __m512 da = _mm512_loadu_ps(a.d + b * kTile);
    [[maybe_unused]] __m512 sa;
    if constexpr (kind == Kind::WithMin) sa = _mm512_loadu_ps(a.s + b * kTile);
#pragma GCC unroll 16
    for (int r = 0; r < kTile; ++r) {
        const __m512 p = _mm512_cvtepi32_ps(_mm512_load_si512(c + r * kTile));
        acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(p, da), _mm512_set1_ps(scale[r]), acc[r]);
        if constexpr (kind == Kind::WithMin) acc[r] = _mm512_fmadd_ps(sa, _mm512_set1_ps(min[r]), acc[r]);
    }
}

// One 16-row panel against one group of 16 tokens, over all of k. The unit of a tile product is
// a 32-element block (16 elements, half a block, for Q6_K: each half has its own scale). Units
// alternate between two sets of tiles (result 0 from operands 2/3, result 1 from 4/5), and the
// next unit's product is issued before this one's result is stored and scaled: the tile unit
// and the vector scaling then overlap instead of waiting for each other (scaled right after
// each product, the scaling took as long as the products).
template <Kind kind>
void multiplyGroup(const Panel& w, const Packed& a, int64_t nb, float result[kTile][kTile]) {
    constexpr bool kHalves = kind == Kind::HalfScales;
    constexpr int kATileStride = kQK, kBTileStride = kTile * 4;
    const int64_t units = kHalves ? 2 * nb : nb;
    auto weightsOf = [&](int64_t u) { return kHalves ? w.q + (u / 2) * kBlockTileBytes + (u % 2) * (kQK / 2) : w.q + u * kBlockTileBytes; };
    auto tokensOf = [&](int64_t u) { return kHalves ? a.q + (u / 2) * kBlockTileBytes + (u % 2) * (kBlockTileBytes / 2) : a.q + u * kBlockTileBytes; };
    alignas(64) int32_t c[2][kTile * kTile];
    __m512 acc[kTile];  // fully unrolled below, so these stay in registers
#pragma GCC unroll 16
    for (int r = 0; r < kTile; ++r) acc[r] = _mm512_setzero_ps();
    auto scale = [&](int64_t u, const int32_t* cu) {
        const int64_t b = kHalves ? u / 2 : u;
        const float* sc = (kHalves && u % 2 ? w.scaleHi : w.scale) + b * kTile;
        applyScales<kind == Kind::WithMin ? Kind::WithMin : Kind::Plain>(cu, sc, w.min + b * kTile, a, b, acc);
    };
    _tile_loadd(2, weightsOf(0), kATileStride);
    _tile_loadd(3, tokensOf(0), kBTileStride);
    _tile_zero(0);
    _tile_dpbssd(0, 2, 3);
    for (int64_t u = 0; u < units; u += 2) {
        if (u + 1 < units) {
            _tile_loadd(4, weightsOf(u + 1), kATileStride);
            _tile_loadd(5, tokensOf(u + 1), kBTileStride);
            _tile_zero(1);
            _tile_dpbssd(1, 4, 5);
        }
        _tile_stored(0, c[0], kTile * 4);
        if (u + 2 < units) {
            _tile_loadd(2, weightsOf(u + 2), kATileStride);
            _tile_loadd(3, tokensOf(u + 2), kBTileStride);
            _tile_zero(0);
            _tile_dpbssd(0, 2, 3);
        }
        scale(u, c[0]);
        if (u + 1 < units) {
            _tile_stored(1, c[1], kTile * 4);
            scale(u + 1, c[1]);
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < kTile; ++r) _mm512_store_ps(result[r], acc[r]);
}

}  // namespace

size_t packedGroupBytes(int64_t k) {
    return static_cast<size_t>(k / kQK) * (kBlockTileBytes + 2 * kTile * sizeof(float));
}

void packGroup(const float* x, int64_t k, int64_t n, int64_t g, uint8_t* dst, BlockQ8A* tmp) {
    const int64_t nb = k / kQK;
    auto* q = reinterpret_cast<int8_t*>(dst);
    auto* d = reinterpret_cast<float*>(dst + nb * kBlockTileBytes);
    float* s = d + nb * kTile;
    for (int t = 0; t < kTile; ++t) {
        const int64_t token = g * kTile + t;
        if (token < n) {
            quantizeToken(x + token * k, k, tmp);
        } else {
            std::memset(static_cast<void*>(tmp), 0, static_cast<size_t>(nb) * sizeof(BlockQ8A));
        }
        for (int64_t b = 0; b < nb; ++b) {
            // Dword r of the token's block goes to row r of the B tile, at column 4 t.
            for (int r = 0; r < kQK / 4; ++r) std::memcpy(q + b * kBlockTileBytes + r * kTile * 4 + 4 * t, tmp[b].qs + 4 * r, 4);
            d[b * kTile + t] = tmp[b].d;
            s[b * kTile + t] = tmp[b].s;
        }
    }
}

size_t panelBytes(int64_t k) {
    return static_cast<size_t>(k / kQK) * (kBlockTileBytes + 3 * kTile * sizeof(float));
}

void unpackRows(DType type, const uint8_t* weight, size_t rowBytes, int64_t rows, int64_t row0, int64_t k,
                uint8_t* panel) {
    const int64_t nb = k / kQK;
    const Panel p = panelOf(panel, nb);
    for (int r = 0; r < kTile; ++r) {
        const RowOut o{p, r};
        if (row0 + r < rows) {
            unpackOneRow(type, weight + static_cast<size_t>(row0 + r) * rowBytes, k, o);
            if (kindOf(type) != Kind::WithMin)
                for (int64_t b = 0; b < nb; ++b) o.min(b, 0.0f);
        } else {
            for (int64_t b = 0; b < nb; ++b) {
                o.q(b, _mm256_setzero_si256());
                o.scale(b, 0.0f);
                o.scaleHi(b, 0.0f);
                o.min(b, 0.0f);
            }
        }
    }
}

void multiply(DType type, const uint8_t* panel, int64_t k, const uint8_t* packed, int64_t n, int64_t g0, int64_t g1,
              int64_t row0, int64_t rows, const float* bias, float* out) {
    const int64_t nb = k / kQK;
    const Panel w = panelOf(const_cast<uint8_t*>(panel), nb);
    const size_t groupBytes = packedGroupBytes(k);
    const Kind kind = kindOf(type);
    const int validRows = static_cast<int>(rows - row0 < kTile ? rows - row0 : kTile);
    for (int64_t g = g0; g < g1; ++g) {
        const Packed a = packedOf(packed + static_cast<size_t>(g) * groupBytes, nb);
        alignas(64) float result[kTile][kTile];
        switch (kind) {
            case Kind::Plain: multiplyGroup<Kind::Plain>(w, a, nb, result); break;
            case Kind::WithMin: multiplyGroup<Kind::WithMin>(w, a, nb, result); break;
            case Kind::HalfScales: multiplyGroup<Kind::HalfScales>(w, a, nb, result); break;
        }
        const int validTokens = static_cast<int>(n - g * kTile < kTile ? n - g * kTile : kTile);
        for (int t = 0; t < validTokens; ++t) {
            float* o = out + (g * kTile + t) * rows + row0;
            for (int r = 0; r < validRows; ++r) o[r] = result[r][t] + (bias ? bias[row0 + r] : 0.0f);
        }
    }
}

void beginTiles(DType type) {
    const TileConfig config = configFor(kindOf(type));
    // Not _tile_loadconfig: GCC 12's version names only the first 8 bytes of the configuration
    // as read, so the compiler dropped the stores of the tile shapes.
    __asm__ volatile("ldtilecfg %0" : : "m"(config));
}

void endTiles() { _tile_release(); }

}  // namespace hearth::cpu::amx
