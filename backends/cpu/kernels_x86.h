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

// At one column (decode) the dots stream their weights once: each block asks for the one 2 KiB
// ahead (every line of it), the decode kernels included (kernels_avx512_decode.h). The hardware
// prefetchers alone leave a core streaming ~25 % below what it can read (the AVX2 Q4_K dot at ~40 %
// of the read bandwidth on the development VM, ~60 % with this); half a page ahead also crosses
// the 4 KiB boundaries where those prefetchers stop. With two row streams per core the large
// mat-vecs reach 80-90 % of the measured read bandwidth (docs/performance.md: T0 at 2 KiB beat T1
// at 4 KiB, T0 at 1, 1.5 and 4 KiB, T2 and NTA).
inline constexpr int kDotPrefetchBytes = 2048;
inline void prefetchSpanAhead(const void* span, size_t bytes) {
    const char* p = static_cast<const char*>(span) + kDotPrefetchBytes;
    for (size_t at = 0; at < bytes; at += 64) _mm_prefetch(p + at, _MM_HINT_T0);
    if (bytes % 64 != 0) _mm_prefetch(p + bytes - 1, _MM_HINT_T0);
}
template <class Block>
inline void prefetchAhead(const Block* b) {
    prefetchSpanAhead(b, sizeof(Block));
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
        if constexpr (NC == 1) prefetchAhead(&w[ib]);
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

// The eight 6-bit scales and mins of a Q4_K/Q5_K block as 16 bytes (scales 0-7, then mins 0-7),
// unpacked in registers from the 12 packed bytes: bytes 0-3 hold the low scales (6 bits) and the
// top bits of the high ones, 4-7 the same for the mins, 8-11 the low nibbles of the high scales
// and mins. (Unpacked through memory, the AVX2 Q4_K dot's 8-byte loads of 4-byte stores waited on
// store forwarding.) The 16-byte load also takes the first 4 quant bytes, which no lane uses.
inline __m128i q4kScalesMins(const uint8_t* packed) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed));
    const __m128i low6 = _mm_and_si128(v, _mm_set1_epi32(0x3f3f3f3f));  // scales 0-3, mins 0-3
    const __m128i top2 = _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(v, 6), _mm_set1_epi32(0x03030303)), 4);
    // Bytes 8-11 hold the low nibbles of scales 4-7 (low half) and mins 4-7 (high half).
    const __m128i s2 = _mm_shuffle_epi32(v, 0xAA);
    const __m128i nib =
        _mm_and_si128(_mm_srlv_epi32(s2, _mm_setr_epi32(0, 4, 0, 0)), _mm_set1_epi32(0x0f0f0f0f));
    const __m128i high = _mm_or_si128(nib, top2);  // scales 4-7, mins 4-7
    return _mm_unpacklo_epi32(low6, high);
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
        if constexpr (NC == 1) prefetchAhead(&b);
        const __m128i scalesMins = q4kScalesMins(b.scales);
        // Scale j as 16 x i16, and the mins paired (m0 m0 m1 m1 ...) to meet the 16 bsums.
        __m256i sc[8];
        const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scalesMins));
        for (int j = 0; j < 8; ++j)
            sc[j] = _mm256_shuffle_epi8(scales16, _mm256_set1_epi16(static_cast<short>((2 * j) | ((2 * j + 1) << 8))));
        const __m128i m8 = _mm_unpackhi_epi64(scalesMins, scalesMins);
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
        if constexpr (NC == 1) prefetchAhead(&b);
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
        if constexpr (NC == 1)  // 16 elements: 32 or 64 bytes, one line at most of every 64 ahead
            if (i * static_cast<int64_t>(sizeof(T)) % 64 == 0) prefetchSpanAhead(w + i, 64);
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
#include "backends/cpu/kernels_avx512_interleaved.h"
#include "backends/cpu/kernels_avx512_decode.h"
#define HEARTH_HAVE_INTERLEAVED 1
#else
#include "backends/cpu/kernels_avx2_decode.h"
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
#if defined(HEARTH_HAVE_INTERLEAVED)
template <int NC> void q40i(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ4_0Interleaved<NC>(k, w, a, s, o); }
HEARTH_COLS_DISPATCH(dotQ4_0I, q40i)
template <int NC> void q4ki(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ45KInterleaved<BlockQ4_K, NC>(k, w, a, s, o); }
HEARTH_COLS_DISPATCH(dotQ4_KI, q4ki)
template <int NC> void q5ki(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ45KInterleaved<BlockQ5_K, NC>(k, w, a, s, o); }
HEARTH_COLS_DISPATCH(dotQ5_KI, q5ki)
template <int NC> void q80i(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ8_0Interleaved<NC>(k, w, a, s, o); }
HEARTH_COLS_DISPATCH(dotQ8_0I, q80i)
template <int NC> void q50i(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ5_0Interleaved<NC>(k, w, a, s, o); }
HEARTH_COLS_DISPATCH(dotQ5_0I, q50i)
template <int NC> void q41i(int64_t k, const void* w, const void* a, size_t s, float* o) { dotQ4_1Interleaved<NC>(k, w, a, s, o); }
HEARTH_COLS_DISPATCH(dotQ4_1I, q41i)
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

// F16C rounds to nearest even, as f32ToF16 does; NaNs stay NaNs (their payload may differ).
void toF16(const float* x, uint16_t* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; ++i) dst[i] = f32ToF16(x[i]);
}

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
    // A decode (one-column) kernel for a type, and the activation format it reads.
    auto decode = [&](DType type, DotFn dot, RowsDotFn rows, ActFormat act) {
        t.dot1[static_cast<uint32_t>(type)] = dot;
        t.rows1[static_cast<uint32_t>(type)] = rows;
        t.act1[static_cast<uint32_t>(type)] = act;
    };
#if defined(HEARTH_HAVE_INTERLEAVED)
    slot(DType::Q4_0) = dotQ4_0I;
    t.act[static_cast<uint32_t>(DType::Q4_0)] = ActFormat::Q8I;
    slot(DType::Q4_K) = dotQ4_KI;
    t.act[static_cast<uint32_t>(DType::Q4_K)] = ActFormat::Q8KI;
    slot(DType::Q5_K) = dotQ5_KI;
    t.act[static_cast<uint32_t>(DType::Q5_K)] = ActFormat::Q8KI;
    slot(DType::Q6_K) = dotQ6_KI;
    slot(DType::Q8_0) = dotQ8_0I;
    t.act[static_cast<uint32_t>(DType::Q8_0)] = ActFormat::Q8I;
    slot(DType::Q5_0) = dotQ5_0I;
    t.act[static_cast<uint32_t>(DType::Q5_0)] = ActFormat::Q8I;
    slot(DType::Q4_1) = dotQ4_1I;
    t.act[static_cast<uint32_t>(DType::Q4_1)] = ActFormat::Q8I;
    t.act[static_cast<uint32_t>(DType::Q6_K)] = ActFormat::Q8K6I;
    if (__builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("gfni")) {
        decode(DType::Q4_0, dotDecode<Q40Decode>, rowsDecode<Q40Decode>, ActFormat::Q8N4);
        decode(DType::Q8_0, dotDecode<Q80Decode>, rowsDecode<Q80Decode>, ActFormat::Q8N4);
        decode(DType::Q5_0, dotDecode<Q50Decode>, rowsDecode<Q50Decode>, ActFormat::Q8N4);
        decode(DType::Q4_K, dotDecode<Q4KDecode>, rowsDecode<Q4KDecode>, ActFormat::Q8KN);
        decode(DType::Q5_K, dotDecode<Q5KDecode>, rowsDecode<Q5KDecode>, ActFormat::Q8KN);
        decode(DType::Q6_K, dotDecode<Q6KDecode>, rowsDecode<Q6KDecode>, ActFormat::Q8K);
    }
#else
    decode(DType::Q4_0, dotDecodeAvx2<Q40Avx2>, rowsDecodeAvx2<Q40Avx2>, ActFormat::Q8A);
    decode(DType::Q8_0, dotDecodeAvx2<Q80Avx2>, rowsDecodeAvx2<Q80Avx2>, ActFormat::Q8A);
#endif
    t.dotF16 = dotF16;
    t.dotF32 = dotF32;
    t.axpyF16 = axpyF16;
    t.axpyF32 = axpyF32;
    t.toF16 = toF16;
}

}  // namespace hearth::cpu::HEARTH_KERNEL_NS
