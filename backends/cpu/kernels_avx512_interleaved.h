// The AVX-512 VNNI kernels on interleaved activations (ActFormat::Q8I, Q8KI, Q8K6I in
// kernels.h): the weights of 16 blocks (or 16 chunks of two super-blocks) are transposed into
// the 16 dword lanes of a vector, so that dpbusd leaves one block's (sub-block's) sum per lane
// and the scales are applied once per group, as vectors.
//
// Not a stand-alone header: kernels_x86.h includes it inside its per-instruction-set namespace,
// after its 256-bit kernels (used here for the blocks after the last whole group).

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

// Q4_1: the Q4_0 kernel with a per-block minimum m (gathered with d) instead of the -8.
template <int NC>
void dotQ4_1Interleaved(int64_t k, const void* weight, const void* act, size_t stride, float* out) {
    const auto* w = static_cast<const BlockQ4_1*>(weight);
    const int64_t nb = k / kQK, groups = nb / kInterleaveGroup;
    const uint8_t* a[NC];
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = static_cast<const uint8_t*>(act) + c * stride;
        acc[c] = _mm512_setzero_ps();
    }
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    // Byte offset of the block in each lane (lane L holds block 4 * (L % 4) + L / 4).
    const __m512i offsets = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15),
        _mm512_set1_epi32(static_cast<int>(sizeof(BlockQ4_1))));
    for (int64_t g = 0; g < groups; ++g) {
        // At decode the group 2 KiB ahead is asked for (see prefetchAhead in kernels_x86.h).
        if constexpr (NC == 1) prefetchSpanAhead(w + g * kInterleaveGroup, sizeof(*w) * kInterleaveGroup);
        const BlockQ4_1* blk = w + g * kInterleaveGroup;
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
        const __m512 mw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dBits, 16)));
        for (int c = 0; c < NC; ++c) {
            const uint8_t* ag = a[c] + g * kInterleaveGroupBytes;
            __m512i sum = _mm512_setzero_si512();
            for (int t = 0; t < 4; ++t) {
                sum = _mm512_dpbusd_epi32(sum, lo[t], _mm512_loadu_si512(ag + 128 * t));
                sum = _mm512_dpbusd_epi32(sum, hi[t], _mm512_loadu_si512(ag + 128 * t + 64));
            }
            const __m512 da = _mm512_loadu_ps(reinterpret_cast<const float*>(ag + 512));
            const __m512 sa = _mm512_loadu_ps(reinterpret_cast<const float*>(ag + 576));
            // w = d q + m: dw * da * sum(q a) + m * sa.
            acc[c] = _mm512_fmadd_ps(mw, sa, acc[c]);
            acc[c] = _mm512_fmadd_ps(dw, _mm512_mul_ps(da, _mm512_cvtepi32_ps(sum)), acc[c]);
        }
    }
    float tail[NC] = {};
    if (nb > groups * kInterleaveGroup)
        dot32Cols<BlockQ4_1, NC>((nb - groups * kInterleaveGroup) * kQK, w + groups * kInterleaveGroup,
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

template <class Block>
inline __m128i load32x2(const Block* blk, size_t offset) {
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
template <class Block>  // BlockQ4_K or BlockQ5_K: d, dmin and scales at the same offsets
inline void scalesMinsInLanes(const Block* blk, __m512& scLo, __m512& scHi, __m512& mnLo, __m512& mnHi) {
    static_assert(offsetof(BlockQ4_K, scales) == offsetof(BlockQ5_K, scales));
    const size_t at = offsetof(Block, scales);
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
struct Q5KLaneTables {
    int32_t qhIndex[4][16];  // dword of [qh of sb0 | qh of sb1] for dword t of each lane
    int32_t shift[16];       // 2p: the bit of the lane's low sub-block
};
constexpr Q5KLaneTables makeQ5KLaneTables() {
    Q5KLaneTables t{};
    for (int lane = 0; lane < 16; ++lane) {
        const KLane l = kLane(lane);
        for (int d = 0; d < 4; ++d) t.qhIndex[d][lane] = 8 * l.sb + 4 * l.half + d;
        t.shift[lane] = 2 * l.pair;
    }
    return t;
}
alignas(64) constexpr Q5KLaneTables kQ5KLanes = makeQ5KLaneTables();

// Q5_K adds the fifth bits: lane (pair p, half) takes qh dword 4 * half + t of its super-block,
// bit 2p for the low nibbles and 2p + 1 for the high ones.
template <class Block, int NC>
void dotQ45KInterleaved(int64_t k, const void* weight, const void* act, size_t stride, float* out) {
    constexpr bool kHigh = sizeof(Block) == sizeof(BlockQ5_K);
    const auto* w = static_cast<const Block*>(weight);
    const int64_t nb = k / kQKK, groups = nb / kKGroup;
    const uint8_t* a[NC];
    __m512 acc[NC], accMin[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = static_cast<const uint8_t*>(act) + c * stride;
        acc[c] = accMin[c] = _mm512_setzero_ps();
    }
    const __m512i low4 = _mm512_set1_epi8(0x0F), one = _mm512_set1_epi8(1);
    __m512i qhIndex[4], shiftLo, shiftHi;
    if constexpr (kHigh) {
        for (int t = 0; t < 4; ++t) qhIndex[t] = _mm512_load_si512(kQ5KLanes.qhIndex[t]);
        shiftLo = _mm512_load_si512(kQ5KLanes.shift);
        shiftHi = _mm512_add_epi32(shiftLo, _mm512_set1_epi32(1));
    }
    for (int64_t g = 0; g < groups; ++g) {
        // At decode the group 2 KiB ahead is asked for (see prefetchAhead in kernels_x86.h).
        if constexpr (NC == 1) prefetchSpanAhead(w + g * kKGroup, sizeof(*w) * kKGroup);
        const Block* blk = w + g * kKGroup;
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
        if constexpr (kHigh) {
            const __m512i qh = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[0].qh))),
                                                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[1].qh)), 1);
            for (int t = 0; t < 4; ++t) {
                const __m512i q = _mm512_permutexvar_epi32(qhIndex[t], qh);
                lo[t] = _mm512_or_si512(lo[t], _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi32(q, shiftLo), one), 4));
                hi[t] = _mm512_or_si512(hi[t], _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi32(q, shiftHi), one), 4));
            }
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
        dotQ45K<Block, NC>((nb - groups * kKGroup) * kQKK, w + groups * kKGroup,
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
        // At decode the group 2 KiB ahead is asked for (see prefetchAhead in kernels_x86.h).
        if constexpr (NC == 1) prefetchSpanAhead(w + g * kInterleaveGroup, sizeof(*w) * kInterleaveGroup);
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
