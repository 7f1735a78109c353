// The x86 SIMD kernels, written once and compiled twice: by kernels_avx2.cpp (AVX2+FMA+F16C) and
// kernels_avx512.cpp (plus AVX-512 BW/VL/VNNI, which turns the byte dot products into dpbusd).
// Everything here is `static` inside the including file's namespace, and nothing from dtype.h's
// inline functions or the standard library's templates is called: an inline function compiled
// with -mavx2 could otherwise be picked by the linker for code that runs on any CPU.
//
// Integer dot products: weights are unpacked to unsigned bytes u, activations are signed bytes a,
// so u·a is one maddubs (or dpbusd) per 32 elements; the weight's offset (Q4_0's -8, Q4_1's min)
// is applied once per block through the activation block's sum. Q8_0's signed weights go as
// |q| with their sign moved onto a (maddubs saturates 16-bit pairs, so no +128 bias there).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backends/cpu/kernels.h"

#if !defined(HEARTH_KERNEL_NS)
#error "define HEARTH_KERNEL_NS before including kernels_x86.h"
#endif

namespace hearth::cpu::HEARTH_KERNEL_NS {
namespace {

inline float halfToFloat(uint16_t h) { return _cvtsh_ss(h); }

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// 8 x i32: sums of four u8*s8 products each.
inline __m256i dotBytes(__m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

// u8*s8 products summed in pairs, then weighted by 16-bit scales: 8 x i32.
inline __m256i dotBytesScaled(__m256i u, __m256i s, __m256i scales16) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scales16);
}

inline __m256i loadBytes(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// 16 bytes of packed nibbles -> 32 bytes: low nibbles first, then high nibbles.
inline __m256i nibbles(const uint8_t* qs) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(x, 4), x);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// 32 bits -> 32 bytes, byte i = 0x10 when bit i is set.
inline __m256i bitsTo0x10(uint32_t bits) {
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    return _mm256_maskz_mov_epi8(static_cast<__mmask32>(bits), _mm256_set1_epi8(0x10));
#else
    const __m256i shuffle = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2,
                                             2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bitMask = _mm256_set1_epi64x(0x8040201008040201LL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), shuffle);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bitMask), bitMask);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
#endif
}

// ---- 32-element blocks: w = d*u + off -------------------------------------------------------

inline __m256i unpack(const BlockQ4_0& b, float& d, float& off) {
    d = halfToFloat(b.d);
    off = -8.0f * d;
    return nibbles(b.qs);
}

inline __m256i unpack(const BlockQ4_1& b, float& d, float& off) {
    d = halfToFloat(b.d);
    off = halfToFloat(b.m);
    return nibbles(b.qs);
}

inline __m256i unpack(const BlockQ5_0& b, float& d, float& off) {
    d = halfToFloat(b.d);
    off = -16.0f * d;
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    return _mm256_or_si256(nibbles(b.qs), bitsTo0x10(qh));
}

// Signed weights: returned as they are; dot32Cols moves their sign onto the activations.
inline __m256i unpack(const BlockQ8_0& b, float& d, float& off) {
    d = halfToFloat(b.d);
    off = 0.0f;
    return loadBytes(b.qs);
}

template <class Block, int NC>
void dot32Cols(int64_t k, const void* weight, const void* act, size_t stride, float* out) {
    const auto* w = static_cast<const Block*>(weight);
    const BlockQ8A* a[NC];
    __m256 acc[NC];
    float offAcc[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = reinterpret_cast<const BlockQ8A*>(static_cast<const char*>(act) + c * stride);
        acc[c] = _mm256_setzero_ps();
        offAcc[c] = 0.0f;
    }
    const int64_t nb = k / kQK;
    for (int64_t ib = 0; ib < nb; ++ib) {
        float d, off;
        __m256i u = unpack(w[ib], d, off);
        [[maybe_unused]] __m256i sign = u;
        if constexpr (sizeof(Block) == sizeof(BlockQ8_0)) u = _mm256_sign_epi8(u, u);  // |q|, sign on a
        for (int c = 0; c < NC; ++c) {
            const BlockQ8A& ab = a[c][ib];
            __m256i av = loadBytes(ab.qs);
            if constexpr (sizeof(Block) == sizeof(BlockQ8_0)) av = _mm256_sign_epi8(av, sign);
            __m256 p = _mm256_cvtepi32_ps(dotBytes(u, av));
            acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(d * ab.d), p, acc[c]);
            offAcc[c] += off * ab.s;
        }
    }
    for (int c = 0; c < NC; ++c) out[c] = hsum(acc[c]) + offAcc[c];
}

// ---- K-quants against Q8_K ---------------------------------------------------------------

// The eight 6-bit scales and mins of a Q4_K/Q5_K block, unpacked four at a time: bytes 0-3 hold
// the low scales (6 bits) and the top bits of the high ones, 4-7 the same for the mins, 8-11 the
// low nibbles of the high scales and mins.
inline void scalesMinsK(const uint8_t* q, uint8_t scales[8], uint8_t mins[8]) {
    uint32_t s0, s1, s2;
    std::memcpy(&s0, q, 4);
    std::memcpy(&s1, q + 4, 4);
    std::memcpy(&s2, q + 8, 4);
    const uint32_t low6 = 0x3f3f3f3fu, low4 = 0x0f0f0f0fu, top2 = 0x03030303u;
    const uint32_t sc[2] = {s0 & low6, (s2 & low4) | (((s0 >> 6) & top2) << 4)};
    const uint32_t mn[2] = {s1 & low6, ((s2 >> 4) & low4) | (((s1 >> 6) & top2) << 4)};
    std::memcpy(scales, sc, 8);
    std::memcpy(mins, mn, 8);
}

// Q4_K / Q5_K: four pairs of 32-element sub-blocks; pair p's low part uses scale 2p, high 2p+1.
template <class Block, int NC>
void dotQ45K(int64_t k, const void* weight, const void* act, size_t stride, float* out) {
    constexpr bool kHigh = sizeof(Block) == sizeof(BlockQ5_K);
    const auto* w = static_cast<const Block*>(weight);
    const BlockQ8_K* a[NC];
    __m256 acc[NC], minAcc[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = reinterpret_cast<const BlockQ8_K*>(static_cast<const char*>(act) + c * stride);
        acc[c] = minAcc[c] = _mm256_setzero_ps();
    }
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i one = _mm256_set1_epi8(1);
    for (int64_t ib = 0; ib < k / kQKK; ++ib) {
        const Block& b = w[ib];
        alignas(16) uint8_t scale[8], min[8];
        scalesMinsK(b.scales, scale, min);
        // Scale j as 16 x i16, and the mins paired (m0 m0 m1 m1 ...) to meet the 16 bsums.
        __m256i sc[8];
        const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(scale))));
        for (int j = 0; j < 8; ++j)
            sc[j] = _mm256_shuffle_epi8(scales16, _mm256_set1_epi16(static_cast<short>((2 * j) | ((2 * j + 1) << 8))));
        const __m128i m8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(min));
        const __m256i minsPaired = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
        __m256i u[8];
        __m256i qh;
        if constexpr (kHigh) qh = loadBytes(b.qh);
        for (int p = 0; p < 4; ++p) {
            __m256i q = loadBytes(b.qs + 32 * p);
            u[2 * p] = _mm256_and_si256(q, low4);
            u[2 * p + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
            if constexpr (kHigh) {
                __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), one);
                __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * p + 1), one);
                u[2 * p] = _mm256_or_si256(u[2 * p], _mm256_slli_epi16(h0, 4));
                u[2 * p + 1] = _mm256_or_si256(u[2 * p + 1], _mm256_slli_epi16(h1, 4));
            }
        }
        const float d = halfToFloat(b.d), dmin = halfToFloat(b.dmin);
        for (int c = 0; c < NC; ++c) {
            const BlockQ8_K& ab = a[c][ib];
            __m256i sum = _mm256_setzero_si256();
            for (int j = 0; j < 8; ++j)
                sum = _mm256_add_epi32(sum, dotBytesScaled(u[j], loadBytes(ab.qs + 32 * j), sc[j]));
            const __m256i mins = _mm256_madd_epi16(loadBytes(ab.bsums), minsPaired);
            acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(d * ab.d), _mm256_cvtepi32_ps(sum), acc[c]);
            minAcc[c] = _mm256_fmadd_ps(_mm256_set1_ps(dmin * ab.d), _mm256_cvtepi32_ps(mins), minAcc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) out[c] = hsum(_mm256_sub_ps(acc[c], minAcc[c]));
}

// Q6_K: two halves of 128; in each, four groups of 32 with two 16-element scales each.
template <int NC>
void dotQ6K(int64_t k, const void* weight, const void* act, size_t stride, float* out) {
    const auto* w = static_cast<const BlockQ6_K*>(weight);
    const BlockQ8_K* a[NC];
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = reinterpret_cast<const BlockQ8_K*>(static_cast<const char*>(act) + c * stride);
        acc[c] = _mm256_setzero_ps();
    }
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i low2 = _mm256_set1_epi8(0x03);
    for (int64_t ib = 0; ib < k / kQKK; ++ib) {
        const BlockQ6_K& b = w[ib];
        __m256i u[8], sc[8];
        for (int h = 0; h < 2; ++h) {
            __m256i ql0 = loadBytes(b.ql + 64 * h), ql1 = loadBytes(b.ql + 64 * h + 32);
            __m256i qh = loadBytes(b.qh + 32 * h);
            auto high = [&](int shift) {
                return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, shift), low2), 4);
            };
            u[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(ql0, low4), high(0));
            u[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, low4), high(2));
            u[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), high(4));
            u[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4), high(6));
            for (int g = 0; g < 4; ++g) {
                const int8_t* s = b.scales + 8 * h + 2 * g;
                sc[4 * h + g] = _mm256_set_m128i(_mm_set1_epi16(s[1]), _mm_set1_epi16(s[0]));
            }
        }
        const float d = halfToFloat(b.d);
        for (int c = 0; c < NC; ++c) {
            const BlockQ8_K& ab = a[c][ib];
            __m256i sum = _mm256_setzero_si256();
            for (int j = 0; j < 8; ++j)
                sum = _mm256_add_epi32(sum, dotBytesScaled(u[j], loadBytes(ab.qs + 32 * j), sc[j]));
            // q is stored biased by 32: subtract 32 * scale * (sum of the 16 activations).
            __m256i bsums = _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ab.bsums)));
            __m256i bsums2 = _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ab.bsums + 8)));
            __m256i s0 = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.scales)));
            __m256i s1 = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.scales + 8)));
            __m256i corr = _mm256_add_epi32(_mm256_mullo_epi32(bsums, s0), _mm256_mullo_epi32(bsums2, s1));
            sum = _mm256_sub_epi32(sum, _mm256_slli_epi32(corr, 5));
            acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(d * ab.d), _mm256_cvtepi32_ps(sum), acc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) out[c] = hsum(acc[c]);
}

// ---- float weights against F32 activations -------------------------------------------------

inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
struct Bf16 { uint16_t bits; };
inline __m256 load8(const Bf16* p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}
inline float load1(const float* p) { return *p; }
inline float load1(const uint16_t* p) { return halfToFloat(*p); }
inline float load1(const Bf16* p) {
    uint32_t bits = static_cast<uint32_t>(p->bits) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

template <class T, int NC>
void dotFloatCols(int64_t k, const void* weight, const void* act, size_t stride, float* out) {
    const T* w = static_cast<const T*>(weight);
    const float* x[NC];
    __m256 acc0[NC], acc1[NC];
    for (int c = 0; c < NC; ++c) {
        x[c] = reinterpret_cast<const float*>(static_cast<const char*>(act) + c * stride);
        acc0[c] = acc1[c] = _mm256_setzero_ps();
    }
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        __m256 w0 = load8(w + i), w1 = load8(w + i + 8);
        for (int c = 0; c < NC; ++c) {
            acc0[c] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x[c] + i), acc0[c]);
            acc1[c] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x[c] + i + 8), acc1[c]);
        }
    }
    for (int c = 0; c < NC; ++c) {
        float s = hsum(_mm256_add_ps(acc0[c], acc1[c]));
        for (int64_t j = i; j < k; ++j) s += load1(w + j) * x[c][j];
        out[c] = s;
    }
}

// Runtime column count -> the template instance with that many accumulators; more than 4
// columns go 4 at a time (8 columns measured no faster, even with 32 zmm registers).
#define HEARTH_COLS_DISPATCH(name, ...)                                                                  \
    void name(int64_t k, const void* w, const void* act, size_t stride, int cols, float* out) {          \
        for (; cols > 4; cols -= 4, out += 4, act = static_cast<const char*>(act) + 4 * stride)          \
            __VA_ARGS__<4>(k, w, act, stride, out);                                                       \
        switch (cols) {                                                                                   \
            case 1: __VA_ARGS__<1>(k, w, act, stride, out); break;                                        \
            case 2: __VA_ARGS__<2>(k, w, act, stride, out); break;                                        \
            case 3: __VA_ARGS__<3>(k, w, act, stride, out); break;                                        \
            default: __VA_ARGS__<4>(k, w, act, stride, out); break;                                       \
        }                                                                                                 \
    }

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
// Q4_0 against Q8I, 16 blocks per step. Four 128-bit loads per 4 blocks and a 4x4 dword
// transpose put dword t of all 16 blocks' nibbles into one vector, so that 8 dpbusd give the 16
// block sums in 16 lanes, and the block scales are applied once per 16 blocks as one vector:
// the per-block broadcast / convert / multiply of dot32Cols is gone, which is what limited it.
template <int NC>
void dotQ4_0Interleaved(int64_t k, const void* weight, const void* act, size_t stride, float* out) {
    const auto* w = static_cast<const BlockQ4_0*>(weight);
    const int64_t nb = k / kQK, groups = nb / kInterleaveGroup;
    const uint8_t* a[NC];
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = static_cast<const uint8_t*>(act) + c * stride;
        acc[c] = _mm512_setzero_ps();
    }
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512 eight = _mm512_set1_ps(8.0f);
    // Byte offset of the block in each lane (lane L holds block 4 * (L % 4) + L / 4).
    const __m512i offsets = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15),
        _mm512_set1_epi32(static_cast<int>(sizeof(BlockQ4_0))));
    for (int64_t g = 0; g < groups; ++g) {
        const BlockQ4_0* blk = w + g * kInterleaveGroup;
        __m512i z[4];
        for (int i = 0; i < 4; ++i) {
            auto q = [&](int j) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[4 * i + j].qs)); };
            __m512i v = _mm512_castsi128_si512(q(0));
            v = _mm512_inserti32x4(v, q(1), 1);
            v = _mm512_inserti32x4(v, q(2), 2);
            z[i] = _mm512_inserti32x4(v, q(3), 3);
        }
        const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
        const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
        const __m512i wv[4] = {_mm512_unpacklo_epi64(t0, t2), _mm512_unpackhi_epi64(t0, t2),
                               _mm512_unpacklo_epi64(t1, t3), _mm512_unpackhi_epi64(t1, t3)};
        __m512i lo[4], hi[4];
        for (int t = 0; t < 4; ++t) {
            lo[t] = _mm512_and_si512(wv[t], low4);
            hi[t] = _mm512_and_si512(_mm512_srli_epi16(wv[t], 4), low4);
        }
        const __m512i dBits = _mm512_i32gather_epi32(offsets, static_cast<const void*>(blk), 1);
        const __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dBits));
        for (int c = 0; c < NC; ++c) {
            const uint8_t* ag = a[c] + g * kInterleaveGroupBytes;
            __m512i sum = _mm512_setzero_si512();
            for (int t = 0; t < 4; ++t) {
                sum = _mm512_dpbusd_epi32(sum, lo[t], _mm512_loadu_si512(ag + 128 * t));
                sum = _mm512_dpbusd_epi32(sum, hi[t], _mm512_loadu_si512(ag + 128 * t + 64));
            }
            const __m512 da = _mm512_loadu_ps(reinterpret_cast<const float*>(ag + 512));
            const __m512 sa = _mm512_loadu_ps(reinterpret_cast<const float*>(ag + 576));
            // w = d (q - 8): dw * (da * sum(q a) - 8 * sa), one accumulator per column.
            const __m512 blockDot = _mm512_fnmadd_ps(eight, sa, _mm512_mul_ps(da, _mm512_cvtepi32_ps(sum)));
            acc[c] = _mm512_fmadd_ps(dw, blockDot, acc[c]);
        }
    }
    float tail[NC] = {};
    if (nb > groups * kInterleaveGroup)
        dot32Cols<BlockQ4_0, NC>((nb - groups * kInterleaveGroup) * kQK, w + groups * kInterleaveGroup,
                                 static_cast<const uint8_t*>(act) + groups * kInterleaveGroupBytes, stride, tail);
    for (int c = 0; c < NC; ++c)
        out[c] = _mm512_reduce_add_ps(acc[c]) + tail[c];
}
// Lane tables of the Q8KI layout: for each lane, where its low sub-block's scale sits among the
// 32 bytes [sb0 scales 0-3, sb1 scales 0-3, (unused 8), sb0 scales 4-7, sb1 scales 4-7, ...],
// and where its super-block's d sits among [d0, dmin0, d1, dmin1].
struct KLaneTables {
    int32_t scale[16];
    int32_t d[16];
};
constexpr KLaneTables makeKLaneTables() {
    KLaneTables t{};
    for (int lane = 0; lane < 16; ++lane) {
        const KLane l = kLane(lane);
        const int sub = 2 * l.pair;
        t.scale[lane] = sub < 4 ? l.sb * 4 + sub : 16 + l.sb * 4 + sub - 4;
        t.d[lane] = 2 * l.sb;
    }
    return t;
}
alignas(64) constexpr KLaneTables kKLanes = makeKLaneTables();

inline __m128i load32x2(const BlockQ4_K* blk, size_t offset) {
    auto word = [&](int sb) {
        int32_t v;
        std::memcpy(&v, reinterpret_cast<const uint8_t*>(blk + sb) + offset, 4);
        return v;
    };
    return _mm_setr_epi32(word(0), word(1), 0, 0);
}

// d * scale and dmin * min of each lane's low (2p) and high (2p+1) sub-block, for two Q4_K
// blocks. The 6-bit fields are unpacked with 32-bit masks straight from the weights (no round
// trip through the stack, which would stall store forwarding).
inline void scalesMinsInLanes(const BlockQ4_K* blk, __m512& scLo, __m512& scHi, __m512& mnLo, __m512& mnHi) {
    const size_t at = offsetof(BlockQ4_K, scales);
    const __m128i s0 = load32x2(blk, at), s1 = load32x2(blk, at + 4), s2 = load32x2(blk, at + 8);
    const __m128i low6 = _mm_set1_epi32(0x3f3f3f3f), low4 = _mm_set1_epi32(0x0f0f0f0f), top2 = _mm_set1_epi32(0x03030303);
    const __m128i scA = _mm_and_si128(s0, low6);
    const __m128i scB = _mm_or_si128(_mm_and_si128(s2, low4), _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(s0, 6), top2), 4));
    const __m128i mnA = _mm_and_si128(s1, low6);
    const __m128i mnB = _mm_or_si128(_mm_and_si128(_mm_srli_epi32(s2, 4), low4), _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(s1, 6), top2), 4));
    const __m512i scaleIdx = _mm512_load_si512(kKLanes.scale);
    const __m512i scaleIdxHi = _mm512_add_epi32(scaleIdx, _mm512_set1_epi32(1));
    auto lanes = [&](__m128i x, __m128i y, __m512i idx) {
        return _mm512_cvtepi32_ps(_mm512_permutex2var_epi32(_mm512_cvtepu8_epi32(x), idx, _mm512_cvtepu8_epi32(y)));
    };
    const __m128 dd = _mm_cvtph_ps(load32x2(blk, 0));  // d0 dmin0 d1 dmin1
    const __m512i dIdx = _mm512_load_si512(kKLanes.d);
    const __m512 d = _mm512_permutexvar_ps(dIdx, _mm512_castps128_ps512(dd));
    const __m512 dmin = _mm512_permutexvar_ps(_mm512_add_epi32(dIdx, _mm512_set1_epi32(1)), _mm512_castps128_ps512(dd));
    scLo = _mm512_mul_ps(d, lanes(scA, scB, scaleIdx));
    scHi = _mm512_mul_ps(d, lanes(scA, scB, scaleIdxHi));
    mnLo = _mm512_mul_ps(dmin, lanes(mnA, mnB, scaleIdx));
    mnHi = _mm512_mul_ps(dmin, lanes(mnA, mnB, scaleIdxHi));
}

// Q4_K against Q8KI, two super-blocks per step: four 64-byte loads and a 4x4 dword transpose
// put one 16-byte chunk of qs in each lane, whose low and high nibbles belong to one sub-block
// each, so 8 dpbusd give 32 half-sub-block sums and scales and mins are applied as vectors.
template <int NC>
void dotQ4_KInterleaved(int64_t k, const void* weight, const void* act, size_t stride, float* out) {
    const auto* w = static_cast<const BlockQ4_K*>(weight);
    const int64_t nb = k / kQKK, groups = nb / kKGroup;
    const uint8_t* a[NC];
    __m512 acc[NC], accMin[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = static_cast<const uint8_t*>(act) + c * stride;
        acc[c] = accMin[c] = _mm512_setzero_ps();
    }
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    for (int64_t g = 0; g < groups; ++g) {
        const BlockQ4_K* blk = w + g * kKGroup;
        const __m512i z0 = _mm512_loadu_si512(blk[0].qs), z1 = _mm512_loadu_si512(blk[0].qs + 64);
        const __m512i z2 = _mm512_loadu_si512(blk[1].qs), z3 = _mm512_loadu_si512(blk[1].qs + 64);
        const __m512i t0 = _mm512_unpacklo_epi32(z0, z1), t1 = _mm512_unpackhi_epi32(z0, z1);
        const __m512i t2 = _mm512_unpacklo_epi32(z2, z3), t3 = _mm512_unpackhi_epi32(z2, z3);
        const __m512i wv[4] = {_mm512_unpacklo_epi64(t0, t2), _mm512_unpackhi_epi64(t0, t2),
                               _mm512_unpacklo_epi64(t1, t3), _mm512_unpackhi_epi64(t1, t3)};
        __m512i lo[4], hi[4];
        for (int t = 0; t < 4; ++t) {
            lo[t] = _mm512_and_si512(wv[t], low4);
            hi[t] = _mm512_and_si512(_mm512_srli_epi16(wv[t], 4), low4);
        }
        __m512 scLo, scHi, mnLo, mnHi;
        scalesMinsInLanes(blk, scLo, scHi, mnLo, mnHi);
        for (int c = 0; c < NC; ++c) {
            const uint8_t* ag = a[c] + g * kKGroupBytes;
            __m512i sumLo = _mm512_setzero_si512(), sumHi = _mm512_setzero_si512();
            for (int t = 0; t < 4; ++t) {
                sumLo = _mm512_dpbusd_epi32(sumLo, lo[t], _mm512_loadu_si512(ag + 128 * t));
                sumHi = _mm512_dpbusd_epi32(sumHi, hi[t], _mm512_loadu_si512(ag + 128 * t + 64));
            }
            const float* f = reinterpret_cast<const float*>(ag + 512);
            const __m512 both = _mm512_fmadd_ps(scLo, _mm512_cvtepi32_ps(sumLo), _mm512_mul_ps(scHi, _mm512_cvtepi32_ps(sumHi)));
            acc[c] = _mm512_fmadd_ps(_mm512_loadu_ps(f), both, acc[c]);
            accMin[c] = _mm512_fmadd_ps(mnLo, _mm512_loadu_ps(f + 16), accMin[c]);
            accMin[c] = _mm512_fmadd_ps(mnHi, _mm512_loadu_ps(f + 32), accMin[c]);
        }
    }
    float tail[NC] = {};
    if (nb > groups * kKGroup)
        dotQ45K<BlockQ4_K, NC>((nb - groups * kKGroup) * kQKK, w + groups * kKGroup,
                               static_cast<const uint8_t*>(act) + groups * kKGroupBytes, stride, tail);
    for (int c = 0; c < NC; ++c) out[c] = _mm512_reduce_add_ps(_mm512_sub_ps(acc[c], accMin[c])) + tail[c];
}

// Q6_K against Q8K6I, two super-blocks per step: four 64-byte loads of ql and a 4x4 dword
// transpose put one 16-byte chunk of ql in each lane; the top bits come from qh with one
// permute per dword and a per-lane shift. Each lane's low and high nibbles are 16 weights of one
// sub-block each, so 8 dpbusd give 32 sub-block sums, scaled as vectors.
struct K6LaneTables {
    int32_t qhIndex[4][16];  // dword of [qh of sb0 | qh of sb1] for dword t of each lane
    int32_t shiftLo[16];
    int32_t subLo[16];  // index of sub-block subLo among [scales of sb0 | scales of sb1]
    int32_t sb[16];
};
constexpr K6LaneTables makeK6LaneTables() {
    K6LaneTables t{};
    for (int lane = 0; lane < 16; ++lane) {
        const K6Lane l = k6Lane(lane);
        for (int d = 0; d < 4; ++d) t.qhIndex[d][lane] = 16 * l.sb + 4 * l.qhChunk + d;
        t.shiftLo[lane] = l.shiftLo;
        t.subLo[lane] = 16 * l.sb + l.subLo;
        t.sb[lane] = l.sb;
    }
    return t;
}
alignas(64) constexpr K6LaneTables kK6Lanes = makeK6LaneTables();

template <int NC>
void dotQ6_KInterleaved(int64_t k, const void* weight, const void* act, size_t stride, float* out) {
    const auto* w = static_cast<const BlockQ6_K*>(weight);
    const int64_t nb = k / kQKK, groups = nb / kK6Group;
    const uint8_t* a[NC];
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = static_cast<const uint8_t*>(act) + c * stride;
        acc[c] = _mm512_setzero_ps();
    }
    const __m512i low4 = _mm512_set1_epi8(0x0F), low2 = _mm512_set1_epi8(0x03);
    const __m512i shiftLo = _mm512_load_si512(kK6Lanes.shiftLo);
    const __m512i shiftHi = _mm512_add_epi32(shiftLo, _mm512_set1_epi32(4));
    const __m512i subLo = _mm512_load_si512(kK6Lanes.subLo);
    const __m512i subHi = _mm512_add_epi32(subLo, _mm512_set1_epi32(4));
    const __m512i sbIndex = _mm512_load_si512(kK6Lanes.sb);
    for (int64_t g = 0; g < groups; ++g) {
        const BlockQ6_K* blk = w + g * kK6Group;
        const __m512i z0 = _mm512_loadu_si512(blk[0].ql), z1 = _mm512_loadu_si512(blk[0].ql + 64);
        const __m512i z2 = _mm512_loadu_si512(blk[1].ql), z3 = _mm512_loadu_si512(blk[1].ql + 64);
        const __m512i t0 = _mm512_unpacklo_epi32(z0, z1), t1 = _mm512_unpackhi_epi32(z0, z1);
        const __m512i t2 = _mm512_unpacklo_epi32(z2, z3), t3 = _mm512_unpackhi_epi32(z2, z3);
        const __m512i wv[4] = {_mm512_unpacklo_epi64(t0, t2), _mm512_unpackhi_epi64(t0, t2),
                               _mm512_unpacklo_epi64(t1, t3), _mm512_unpackhi_epi64(t1, t3)};
        const __m512i qh0 = _mm512_loadu_si512(blk[0].qh), qh1 = _mm512_loadu_si512(blk[1].qh);
        __m512i lo[4], hi[4];
        for (int t = 0; t < 4; ++t) {
            const __m512i q = _mm512_permutex2var_epi32(qh0, _mm512_load_si512(kK6Lanes.qhIndex[t]), qh1);
            const __m512i topLo = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi32(q, shiftLo), low2), 4);
            const __m512i topHi = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi32(q, shiftHi), low2), 4);
            lo[t] = _mm512_or_si512(_mm512_and_si512(wv[t], low4), topLo);
            hi[t] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(wv[t], 4), low4), topHi);
        }
        const __m512i sc0 = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[0].scales)));
        const __m512i sc1 = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[1].scales)));
        const __m512 d = _mm512_permutexvar_ps(sbIndex, _mm512_castps128_ps512(_mm_setr_ps(halfToFloat(blk[0].d), halfToFloat(blk[1].d), 0.0f, 0.0f)));
        const __m512 scLo = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_permutex2var_epi32(sc0, subLo, sc1)));
        const __m512 scHi = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_permutex2var_epi32(sc0, subHi, sc1)));
        for (int c = 0; c < NC; ++c) {
            const uint8_t* ag = a[c] + g * kK6GroupBytes;
            __m512i sumLo = _mm512_setzero_si512(), sumHi = _mm512_setzero_si512();
            for (int t = 0; t < 4; ++t) {
                sumLo = _mm512_dpbusd_epi32(sumLo, lo[t], _mm512_loadu_si512(ag + 128 * t));
                sumHi = _mm512_dpbusd_epi32(sumHi, hi[t], _mm512_loadu_si512(ag + 128 * t + 64));
            }
            // q is stored biased by 32: subtract 32 * (sum of the sub-block's activations).
            sumLo = _mm512_sub_epi32(sumLo, _mm512_loadu_si512(ag + 576));
            sumHi = _mm512_sub_epi32(sumHi, _mm512_loadu_si512(ag + 640));
            const __m512 da = _mm512_loadu_ps(reinterpret_cast<const float*>(ag + 512));
            const __m512 both = _mm512_fmadd_ps(scLo, _mm512_cvtepi32_ps(sumLo), _mm512_mul_ps(scHi, _mm512_cvtepi32_ps(sumHi)));
            acc[c] = _mm512_fmadd_ps(da, both, acc[c]);
        }
    }
    float tail[NC] = {};
    if (nb > groups * kK6Group)
        dotQ6K<NC>((nb - groups * kK6Group) * kQKK, w + groups * kK6Group,
                   static_cast<const uint8_t*>(act) + groups * kK6GroupBytes, stride, tail);
    for (int c = 0; c < NC; ++c) out[c] = _mm512_reduce_add_ps(acc[c]) + tail[c];
}
// Q8_0 against Q8I: the Q4_0 scheme with 32 signed bytes per block. Two transposes (bytes 0-15
// and 16-31 of each block) give the "low" and "high" dwords of Q8I; the weights are biased by
// 128 to make them unsigned for dpbusd, and the bias comes back out through the block sums.
template <int NC>
void dotQ8_0Interleaved(int64_t k, const void* weight, const void* act, size_t stride, float* out) {
    const auto* w = static_cast<const BlockQ8_0*>(weight);
    const int64_t nb = k / kQK, groups = nb / kInterleaveGroup;
    const uint8_t* a[NC];
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = static_cast<const uint8_t*>(act) + c * stride;
        acc[c] = _mm512_setzero_ps();
    }
    const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
    const __m512 bias128 = _mm512_set1_ps(128.0f);
    const __m512i offsets = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15),
        _mm512_set1_epi32(static_cast<int>(sizeof(BlockQ8_0))));
    for (int64_t g = 0; g < groups; ++g) {
        const BlockQ8_0* blk = w + g * kInterleaveGroup;
        __m512i wv[2][4];
        for (int half = 0; half < 2; ++half) {
            __m512i z[4];
            for (int i = 0; i < 4; ++i) {
                auto q = [&](int j) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[4 * i + j].qs + 16 * half)); };
                __m512i v = _mm512_castsi128_si512(q(0));
                v = _mm512_inserti32x4(v, q(1), 1);
                v = _mm512_inserti32x4(v, q(2), 2);
                z[i] = _mm512_inserti32x4(v, q(3), 3);
            }
            const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
            const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
            wv[half][0] = _mm512_xor_si512(_mm512_unpacklo_epi64(t0, t2), bias);
            wv[half][1] = _mm512_xor_si512(_mm512_unpackhi_epi64(t0, t2), bias);
            wv[half][2] = _mm512_xor_si512(_mm512_unpacklo_epi64(t1, t3), bias);
            wv[half][3] = _mm512_xor_si512(_mm512_unpackhi_epi64(t1, t3), bias);
        }
        const __m512i dBits = _mm512_i32gather_epi32(offsets, static_cast<const void*>(blk), 1);
        const __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dBits));
        for (int c = 0; c < NC; ++c) {
            const uint8_t* ag = a[c] + g * kInterleaveGroupBytes;
            __m512i sum = _mm512_setzero_si512();
            for (int t = 0; t < 4; ++t) {
                sum = _mm512_dpbusd_epi32(sum, wv[0][t], _mm512_loadu_si512(ag + 128 * t));
                sum = _mm512_dpbusd_epi32(sum, wv[1][t], _mm512_loadu_si512(ag + 128 * t + 64));
            }
            const __m512 da = _mm512_loadu_ps(reinterpret_cast<const float*>(ag + 512));
            const __m512 sa = _mm512_loadu_ps(reinterpret_cast<const float*>(ag + 576));
            const __m512 blockDot = _mm512_fnmadd_ps(bias128, sa, _mm512_mul_ps(da, _mm512_cvtepi32_ps(sum)));
            acc[c] = _mm512_fmadd_ps(dw, blockDot, acc[c]);
        }
    }
    float tail[NC] = {};
    if (nb > groups * kInterleaveGroup)
        dot32Cols<BlockQ8_0, NC>((nb - groups * kInterleaveGroup) * kQK, w + groups * kInterleaveGroup,
                                 static_cast<const uint8_t*>(act) + groups * kInterleaveGroupBytes, stride, tail);
    for (int c = 0; c < NC; ++c) out[c] = _mm512_reduce_add_ps(acc[c]) + tail[c];
}
// Q5_0 against Q8I: the Q4_0 scheme plus the fifth bits. A gather brings each block's 32 qh bits
// into its lane; for dword t a byte shuffle and a bit test turn the four bits of those weights
// into 0x10 bytes (mask registers, no multiplies).
template <int NC>
void dotQ5_0Interleaved(int64_t k, const void* weight, const void* act, size_t stride, float* out) {
    const auto* w = static_cast<const BlockQ5_0*>(weight);
    const int64_t nb = k / kQK, groups = nb / kInterleaveGroup;
    const uint8_t* a[NC];
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = static_cast<const uint8_t*>(act) + c * stride;
        acc[c] = _mm512_setzero_ps();
    }
    const __m512i low4 = _mm512_set1_epi8(0x0F), fifth = _mm512_set1_epi8(0x10);
    const __m512 sixteen = _mm512_set1_ps(16.0f);
    const __m512i offsets = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15),
        _mm512_set1_epi32(static_cast<int>(sizeof(BlockQ5_0))));
    // For dword t (and t + 4 for the high nibbles): which qh byte to spread over the dword's four
    // bytes, and which bit of it each byte tests.
    __m512i spread[8], bitOf[8];
    for (int t = 0; t < 8; ++t) {
        const int bit0 = t < 4 ? 4 * t : 16 + 4 * (t - 4);
        const char byte = static_cast<char>(bit0 / 8);
        spread[t] = _mm512_add_epi8(_mm512_set1_epi32(static_cast<int>(0x01010101u * static_cast<unsigned>(byte))),
                                    _mm512_set4_epi32(0x0C0C0C0C, 0x08080808, 0x04040404, 0));
        const int shift = bit0 % 8;
        bitOf[t] = _mm512_set1_epi32(static_cast<int>((1u << shift) | (2u << (shift + 8)) | (4u << (shift + 16)) | (8u << (shift + 24))));
    }
    for (int64_t g = 0; g < groups; ++g) {
        const BlockQ5_0* blk = w + g * kInterleaveGroup;
        __m512i z[4];
        for (int i = 0; i < 4; ++i) {
            auto q = [&](int j) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[4 * i + j].qs)); };
            __m512i v = _mm512_castsi128_si512(q(0));
            v = _mm512_inserti32x4(v, q(1), 1);
            v = _mm512_inserti32x4(v, q(2), 2);
            z[i] = _mm512_inserti32x4(v, q(3), 3);
        }
        const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
        const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
        const __m512i wv[4] = {_mm512_unpacklo_epi64(t0, t2), _mm512_unpackhi_epi64(t0, t2),
                               _mm512_unpacklo_epi64(t1, t3), _mm512_unpackhi_epi64(t1, t3)};
        const __m512i qh = _mm512_i32gather_epi32(offsets, static_cast<const void*>(blk[0].qh), 1);
        __m512i lo[4], hi[4];
        for (int t = 0; t < 4; ++t) {
            const __mmask64 bitsLo = _mm512_test_epi8_mask(_mm512_shuffle_epi8(qh, spread[t]), bitOf[t]);
            const __mmask64 bitsHi = _mm512_test_epi8_mask(_mm512_shuffle_epi8(qh, spread[t + 4]), bitOf[t + 4]);
            lo[t] = _mm512_or_si512(_mm512_and_si512(wv[t], low4), _mm512_maskz_mov_epi8(bitsLo, fifth));
            hi[t] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(wv[t], 4), low4), _mm512_maskz_mov_epi8(bitsHi, fifth));
        }
        const __m512i dBits = _mm512_i32gather_epi32(offsets, static_cast<const void*>(blk), 1);
        const __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dBits));
        for (int c = 0; c < NC; ++c) {
            const uint8_t* ag = a[c] + g * kInterleaveGroupBytes;
            __m512i sum = _mm512_setzero_si512();
            for (int t = 0; t < 4; ++t) {
                sum = _mm512_dpbusd_epi32(sum, lo[t], _mm512_loadu_si512(ag + 128 * t));
                sum = _mm512_dpbusd_epi32(sum, hi[t], _mm512_loadu_si512(ag + 128 * t + 64));
            }
            const __m512 da = _mm512_loadu_ps(reinterpret_cast<const float*>(ag + 512));
            const __m512 sa = _mm512_loadu_ps(reinterpret_cast<const float*>(ag + 576));
            const __m512 blockDot = _mm512_fnmadd_ps(sixteen, sa, _mm512_mul_ps(da, _mm512_cvtepi32_ps(sum)));
            acc[c] = _mm512_fmadd_ps(dw, blockDot, acc[c]);
        }
    }
    float tail[NC] = {};
    if (nb > groups * kInterleaveGroup)
        dot32Cols<BlockQ5_0, NC>((nb - groups * kInterleaveGroup) * kQK, w + groups * kInterleaveGroup,
                                 static_cast<const uint8_t*>(act) + groups * kInterleaveGroupBytes, stride, tail);
    for (int c = 0; c < NC; ++c) out[c] = _mm512_reduce_add_ps(acc[c]) + tail[c];
}
#define HEARTH_HAVE_Q4_0_INTERLEAVED 1
#endif

template <int NC> void q40(int64_t k, const void* w, const void* a, size_t s, float* o) { dot32Cols<BlockQ4_0, NC>(k, w, a, s, o); }
template <int NC> void q41(int64_t k, const void* w, const void* a, size_t s, float* o) { dot32Cols<BlockQ4_1, NC>(k, w, a, s, o); }
template <int NC> void q50(int64_t k, const void* w, const void* a, size_t s, float* o) { dot32Cols<BlockQ5_0, NC>(k, w, a, s, o); }
template <int NC> void q80(int64_t k, const void* w, const void* a, size_t s, float* o) { dot32Cols<BlockQ8_0, NC>(k, w, a, s, o); }
template <int NC> void q4k(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ45K<BlockQ4_K, NC>(k, w, a, s, o); }
template <int NC> void q5k(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ45K<BlockQ5_K, NC>(k, w, a, s, o); }
template <int NC> void q6k(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ6K<NC>(k, w, a, s, o); }
template <int NC> void f32(int64_t k, const void* w, const void* a, size_t s, float* o) { dotFloatCols<float, NC>(k, w, a, s, o); }
template <int NC> void f16(int64_t k, const void* w, const void* a, size_t s, float* o) { dotFloatCols<uint16_t, NC>(k, w, a, s, o); }
template <int NC> void bf16(int64_t k, const void* w, const void* a, size_t s, float* o) { dotFloatCols<Bf16, NC>(k, w, a, s, o); }

HEARTH_COLS_DISPATCH(dotQ4_0, q40)
HEARTH_COLS_DISPATCH(dotQ4_1, q41)
HEARTH_COLS_DISPATCH(dotQ5_0, q50)
HEARTH_COLS_DISPATCH(dotQ8_0, q80)
HEARTH_COLS_DISPATCH(dotQ4_K, q4k)
HEARTH_COLS_DISPATCH(dotQ5_K, q5k)
HEARTH_COLS_DISPATCH(dotQ6_K, q6k)
HEARTH_COLS_DISPATCH(dotF32W, f32)
HEARTH_COLS_DISPATCH(dotF16W, f16)
HEARTH_COLS_DISPATCH(dotBF16W, bf16)
#if defined(HEARTH_HAVE_Q4_0_INTERLEAVED)
template <int NC> void q40i(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ4_0Interleaved<NC>(k, w, a, s, o); }
HEARTH_COLS_DISPATCH(dotQ4_0I, q40i)
template <int NC> void q4ki(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ4_KInterleaved<NC>(k, w, a, s, o); }
HEARTH_COLS_DISPATCH(dotQ4_KI, q4ki)
template <int NC> void q80i(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ8_0Interleaved<NC>(k, w, a, s, o); }
HEARTH_COLS_DISPATCH(dotQ8_0I, q80i)
template <int NC> void q50i(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ5_0Interleaved<NC>(k, w, a, s, o); }
HEARTH_COLS_DISPATCH(dotQ5_0I, q50i)
template <int NC> void q6ki(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ6_KInterleaved<NC>(k, w, a, s, o); }
HEARTH_COLS_DISPATCH(dotQ6_KI, q6ki)
#endif
#undef HEARTH_COLS_DISPATCH

// ---- attention helpers ---------------------------------------------------------------------

template <class T>
float dotRow(const T* a, const float* b, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(load8(a + i), _mm256_loadu_ps(b + i), acc);
    float s = hsum(acc);
    for (; i < n; ++i) s += load1(a + i) * b[i];
    return s;
}

template <class T>
void axpyRow(float alpha, const T* x, float* y, int64_t n) {
    __m256 va = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load8(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += alpha * load1(x + i);
}

float dotF16(const uint16_t* a, const float* b, int64_t n) { return dotRow(a, b, n); }
float dotF32(const float* a, const float* b, int64_t n) { return dotRow(a, b, n); }
void axpyF16(float alpha, const uint16_t* x, float* y, int64_t n) { axpyRow(alpha, x, y, n); }
void axpyF32(float alpha, const float* x, float* y, int64_t n) { axpyRow(alpha, x, y, n); }

}  // namespace

void fill(KernelTable& t, const char* name) {
    t.name = name;
    auto slot = [&](DType type) -> DotFn& { return t.dot[static_cast<uint32_t>(type)]; };
    slot(DType::F32) = dotF32W;
    slot(DType::F16) = dotF16W;
    slot(DType::BF16) = dotBF16W;
    slot(DType::Q4_0) = dotQ4_0;
    slot(DType::Q4_1) = dotQ4_1;
    slot(DType::Q5_0) = dotQ5_0;
    slot(DType::Q8_0) = dotQ8_0;
    slot(DType::Q4_K) = dotQ4_K;
    slot(DType::Q5_K) = dotQ5_K;
    slot(DType::Q6_K) = dotQ6_K;
#if defined(HEARTH_HAVE_Q4_0_INTERLEAVED)
    slot(DType::Q4_0) = dotQ4_0I;
    t.act[static_cast<uint32_t>(DType::Q4_0)] = ActFormat::Q8I;
    slot(DType::Q4_K) = dotQ4_KI;
    t.act[static_cast<uint32_t>(DType::Q4_K)] = ActFormat::Q8KI;
    slot(DType::Q6_K) = dotQ6_KI;
    slot(DType::Q8_0) = dotQ8_0I;
    t.act[static_cast<uint32_t>(DType::Q8_0)] = ActFormat::Q8I;
    slot(DType::Q5_0) = dotQ5_0I;
    t.act[static_cast<uint32_t>(DType::Q5_0)] = ActFormat::Q8I;
    t.act[static_cast<uint32_t>(DType::Q6_K)] = ActFormat::Q8K6I;
#endif
    t.dotF16 = dotF16;
    t.dotF32 = dotF32;
    t.axpyF16 = axpyF16;
    t.axpyF32 = axpyF32;
}

}  // namespace hearth::cpu::HEARTH_KERNEL_NS
