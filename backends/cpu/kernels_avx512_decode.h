// AVX-512 VNNI + VBMI mat-vec kernels for decode (one activation column), on activations laid
// out in the weights' own block order (ActFormat::Q8N4 in kernels.h). The interleaved kernels
// transpose the weights into lanes, which costs more shuffles than the memory stream leaves time
// for at one column; here one byte permute per 4 blocks lines the weights up, dpbusd leaves four
// partial sums per block, and the block scales are applied to those partial sums as floats.
//
// Not a stand-alone header: kernels_x86.h includes it inside its AVX-512 namespace. The functions
// carry a target attribute for VBMI (vpermb / vpermt2b) and GFNI, which the rest of that file
// does not need; fill() installs them only when cpuid reports both.

#define HEARTH_DECODE_TARGET __attribute__((target("avx512vbmi,gfni")))

// The high nibble of every byte in one instruction: an affine map over GF(2) whose matrix moves
// bits 4-7 to 0-3 and clears the rest (a shift and a mask take two, on the busier port).
HEARTH_DECODE_TARGET inline __m512i highNibbles(__m512i x) {
    return _mm512_gf2p8affine_epi64_epi8(x, _mm512_set1_epi64(0x1020408000000000LL), 0);
}

// The kernels ask for their weights kDotPrefetchBytes ahead into L1 (kernels_x86.h), one line
// at a time. Prefetches past the end of the mapping are dropped by the CPU, never fault.
#define HEARTH_DECODE_PREFETCH(p) _mm_prefetch(reinterpret_cast<const char*>(p) + kDotPrefetchBytes, _MM_HINT_T0)

// Byte permute indices over blocks of `blockBytes` bytes, four blocks side by side: quantLanes
// puts bytes first + 4L..first + 4L + 3 of block b in dword lane 4L + b, scaleLanes the two bytes
// of block b's f16 scale (its first two) in every 16-bit lane h with h % 4 == b.
struct DecodeLanes {
    uint8_t index[64];
};
constexpr DecodeLanes quantLanes(int blockBytes, int first) {
    DecodeLanes t{};
    for (int lane = 0; lane < 4; ++lane)
        for (int b = 0; b < 4; ++b)
            for (int i = 0; i < 4; ++i)
                t.index[16 * lane + 4 * b + i] = static_cast<uint8_t>(blockBytes * b + first + 4 * lane + i);
    return t;
}
constexpr DecodeLanes scaleLanes(int blockBytes) {
    DecodeLanes t{};
    for (int h = 0; h < 32; ++h) {
        t.index[2 * h] = static_cast<uint8_t>(blockBytes * (h % 4));
        t.index[2 * h + 1] = static_cast<uint8_t>(blockBytes * (h % 4) + 1);
    }
    return t;
}
// Byte indices into 72 bytes of four Q4_0 blocks (64 in the first register, 8 in the second).
// `qs` puts bytes 4L..4L+3 of block b's quants in dword lane 4L + b, so that every 128-bit lane
// holds one dword of each block and the per-block factors are one 16-byte pattern repeated
// (a broadcast load on the activation side); `d` puts block b's f16 scale in 16-bit lane 4L + b.
struct Q40DecodeTables {
    DecodeLanes qs = quantLanes(18, 2);
    DecodeLanes d = scaleLanes(18);
};
alignas(64) constexpr Q40DecodeTables kQ40Decode{};

// Each decode kernel below is a struct that the drivers at the end of this file run over rows:
//   Sums             the running partial sums of one row
//   units(k)         the row's steps (Q4_0: 4-block groups; K-quants: super-blocks)
//   step(w, a, u, sums)      step u of row w against activation column a (prefetch included)
//   lanes(sums)      a vector whose lane sum is the row's dot over its whole steps
//   tail(k, w, a)    what the steps leave out (Q4_0's blocks after the last whole group), and
//   hasTail(k)       whether there is any

// The end of a group of four 32-weight blocks against its Q8N4 bytes, once the weights are
// unsigned bytes in the layout's lanes (lo: weights 4L..4L+3 of block b in dword lane 4L + b, hi:
// 16 + 4L..): the sum starts at the blocks' offsets, (1 << kShift) times Q8N4's -8 * (the block's
// activation sum), kept in lanes 0-3 (the lanes are summed in the end; the 16-byte load leaves
// the others zero), then both halves' dpbusd, then the blocks' f16 scales times the activations'.
// Returns acc + the group's dot, as 16 partial sums (4 per block).
template <int kShift>
HEARTH_DECODE_TARGET inline __m512 finishGroup(__m512i lo, __m512i hi, __m256i scales, const uint8_t* ag,
                                               __m512 acc) {
    __m512i sum = _mm512_zextsi128_si512(
        _mm_slli_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ag + 128)), kShift));
    sum = _mm512_dpbusd_epi32(sum, lo, _mm512_loadu_si512(ag));
    sum = _mm512_dpbusd_epi32(sum, hi, _mm512_loadu_si512(ag + 64));
    const __m512 da = _mm512_broadcast_f32x4(_mm_loadu_ps(reinterpret_cast<const float*>(ag + 144)));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(_mm512_cvtph_ps(scales), da), acc);
}

// The blocks after a row's last whole group (plain Q8A activations there).
template <class Block>
inline float groupTail(int64_t k, const uint8_t* row, const uint8_t* a) {
    const int64_t nb = k / kQK, done = nb / kDecodeGroup * kDecodeGroup;
    float tail = 0.0f;
    if (nb > done)
        dot32Cols<Block, 1>((nb - done) * kQK, reinterpret_cast<const Block*>(row) + done,
                            a + done / kDecodeGroup * kDecodeGroupBytes, 0, &tail);
    return tail;
}

// The kernels on Q8N4 activations (Q4_0, Q5_0, Q8_0): `Kernel::group(weights, activations,
// acc)` does one group of four blocks (Kernel::kGroupBytes of weights); a step is one group.
template <class Kernel, class Block>
struct Q8N4Rows {
    struct Sums {
        __m512 acc = _mm512_setzero_ps();
    };
    static int64_t units(int64_t k) { return k / kQK / kDecodeGroup; }
    HEARTH_DECODE_TARGET void step(const uint8_t* w, const uint8_t* a, int64_t g, Sums& s) const {
        constexpr int64_t bytes = Kernel::kGroupBytes;
        const uint8_t* p = w + bytes * g;
        for (int64_t line = 0; line < bytes; line += 64) HEARTH_DECODE_PREFETCH(p + line);
        s.acc = static_cast<const Kernel&>(*this).group(p, a + kDecodeGroupBytes * g, s.acc);
    }
    HEARTH_DECODE_TARGET static __m512 lanes(const Sums& s) { return s.acc; }
    static float tail(int64_t k, const uint8_t* row, const uint8_t* a) { return groupTail<Block>(k, row, a); }
    static bool hasTail(int64_t k) { return k / kQK % kDecodeGroup != 0; }
};

struct Q40Decode : Q8N4Rows<Q40Decode, BlockQ4_0> {
    static constexpr int64_t kGroupBytes = 4 * 18;
    __m512i qsIdx = _mm512_load_si512(kQ40Decode.qs.index), dIdx = _mm512_load_si512(kQ40Decode.d.index);

    HEARTH_DECODE_TARGET __m512 group(const uint8_t* blk, const uint8_t* ag, __m512 acc) const {
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        const __m512i a = _mm512_loadu_si512(blk);
        // The last 8 bytes by a 64-bit load: a full vector could run past the end of the mapping.
        // Its upper bytes are never selected, so they may stay undefined.
        const __m512i b = _mm512_castsi128_si512(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 64)));
        const __m512i qs = _mm512_permutex2var_epi8(a, qsIdx, b);
        return finishGroup<0>(_mm512_and_si512(qs, low4), highNibbles(qs),
                              _mm512_castsi512_si256(_mm512_permutexvar_epi8(dIdx, a)), ag, acc);
    }
};

// Q8_0 against the same Q8N4 activations. Four blocks are 136 bytes: block b's scale at 34b, its
// 32 quants at 34b + 2. `lo` puts quants 4L..4L+3 of block b in dword lane 4L + b (from the first
// 128 bytes), `hi` quants 16 + 4L.. (from bytes 8..135, which two loads at +8 and +72 hold), `d`
// the scales as in Q4_0. dpbusd multiplies unsigned by signed bytes: the weights go in as q + 128
// (a flipped top bit), and the sum starts at -128 * (the block's activation sum), which is 16
// times the Q4_0 offset that Q8N4 already carries.
struct Q80DecodeTables {
    DecodeLanes lo = quantLanes(34, 2);
    DecodeLanes hi = quantLanes(34, 18 - 8);  // indices into the bytes from +8 on
    DecodeLanes d = scaleLanes(34);
};
alignas(64) constexpr Q80DecodeTables kQ80Decode{};

struct Q80Decode : Q8N4Rows<Q80Decode, BlockQ8_0> {
    static constexpr int64_t kGroupBytes = 4 * 34;
    __m512i loIdx = _mm512_load_si512(kQ80Decode.lo.index), hiIdx = _mm512_load_si512(kQ80Decode.hi.index),
            dIdx = _mm512_load_si512(kQ80Decode.d.index);

    HEARTH_DECODE_TARGET __m512 group(const uint8_t* blk, const uint8_t* ag, __m512 acc) const {
        const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
        const __m512i a = _mm512_loadu_si512(blk), b = _mm512_loadu_si512(blk + 64);
        const __m512i a8 = _mm512_loadu_si512(blk + 8), c = _mm512_loadu_si512(blk + 72);
        const __m512i lo = _mm512_xor_si512(_mm512_permutex2var_epi8(a, loIdx, b), flip);
        const __m512i hi = _mm512_xor_si512(_mm512_permutex2var_epi8(a8, hiIdx, c), flip);
        return finishGroup<4>(lo, hi, _mm512_castsi512_si256(_mm512_permutex2var_epi8(a, dIdx, b)), ag, acc);
    }
};

// Q5_0 against the same Q8N4 activations. Four blocks are 88 bytes: block b's scale at 22b, the
// fifth bits of its 32 weights at 22b + 2 (bit e of those 4 bytes for weight e), its nibbles at
// 22b + 6. `qs` and `d` are the Q4_0 tables for 22-byte blocks; `qhLo` / `qhHi` put in every byte
// of dword lane 4L + b the qh byte that holds its weight's fifth bit (weights 4L + i in the low
// nibbles, 16 + 4L + i in the high ones), and `bit` is that bit's mask, so one byte test picks
// the bytes that get 16. The sum starts at -16 * the block's activation sum: twice the Q4_0 offset.
// The group's last 24 bytes come in a second register loaded from byte 56 (see Q50Decode::group),
// so the tables' indices past 63 move up by 8.
struct Q50DecodeTables {
    DecodeLanes qs = fromSecond(quantLanes(22, 6));
    DecodeLanes d = fromSecond(scaleLanes(22));
    DecodeLanes qhLo = fromSecond(fifthBitBytes(0)), qhHi = fromSecond(fifthBitBytes(2));
    static constexpr DecodeLanes fromSecond(DecodeLanes t) {
        for (auto& x : t.index)
            if (x >= 64) x = static_cast<uint8_t>(x + 8);
        return t;
    }
    DecodeLanes bit = fifthBitMasks();
    // Byte i of dword lane 4L + b: qh byte `first` + L / 2 of block b.
    static constexpr DecodeLanes fifthBitBytes(int first) {
        DecodeLanes t{};
        for (int lane = 0; lane < 4; ++lane)
            for (int b = 0; b < 4; ++b)
                for (int i = 0; i < 4; ++i)
                    t.index[16 * lane + 4 * b + i] = static_cast<uint8_t>(22 * b + 2 + first + lane / 2);
        return t;
    }
    static constexpr DecodeLanes fifthBitMasks() {
        DecodeLanes t{};
        for (int lane = 0; lane < 4; ++lane)
            for (int b = 0; b < 4; ++b)
                for (int i = 0; i < 4; ++i)
                    t.index[16 * lane + 4 * b + i] = static_cast<uint8_t>(1 << (4 * (lane % 2) + i));
        return t;
    }
};
alignas(64) constexpr Q50DecodeTables kQ50Decode{};

struct Q50Decode : Q8N4Rows<Q50Decode, BlockQ5_0> {
    static constexpr int64_t kGroupBytes = 4 * 22;
    __m512i qsIdx = _mm512_load_si512(kQ50Decode.qs.index), dIdx = _mm512_load_si512(kQ50Decode.d.index);
    __m512i qhLoIdx = _mm512_load_si512(kQ50Decode.qhLo.index), qhHiIdx = _mm512_load_si512(kQ50Decode.qhHi.index);
    __m512i bit = _mm512_load_si512(kQ50Decode.bit.index);

    HEARTH_DECODE_TARGET __m512 group(const uint8_t* blk, const uint8_t* ag, __m512 acc) const {
        const __m512i low4 = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(0x10);
        const __m512i a = _mm512_loadu_si512(blk);
        // Bytes 56..87 by a 32-byte load that ends where the group does: a full vector from 64 could
        // run past the end of the mapping. (A masked load of bytes 64..87 was ~9 % slower.)
        const __m512i b =
            _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 56)));
        const __m512i qs = _mm512_permutex2var_epi8(a, qsIdx, b);
        const __mmask64 fifthLo = _mm512_test_epi8_mask(_mm512_permutex2var_epi8(a, qhLoIdx, b), bit);
        const __mmask64 fifthHi = _mm512_test_epi8_mask(_mm512_permutex2var_epi8(a, qhHiIdx, b), bit);
        const __m512i lo = _mm512_and_si512(qs, low4), hi = highNibbles(qs);
        return finishGroup<1>(_mm512_mask_add_epi8(lo, fifthLo, lo, sixteen),
                              _mm512_mask_add_epi8(hi, fifthHi, hi, sixteen),
                              _mm512_castsi512_si256(_mm512_permutex2var_epi8(a, dIdx, b)), ag, acc);
    }
};

// [sum of v0's lanes, ..., sum of v3's], sharing the shuffles of four reductions.
HEARTH_DECODE_TARGET inline __m128 sumLanes4(__m512 v0, __m512 v1, __m512 v2, __m512 v3) {
    const __m256 t0 = _mm256_add_ps(_mm512_castps512_ps256(v0), _mm512_extractf32x8_ps(v0, 1));
    const __m256 t1 = _mm256_add_ps(_mm512_castps512_ps256(v1), _mm512_extractf32x8_ps(v1, 1));
    const __m256 t2 = _mm256_add_ps(_mm512_castps512_ps256(v2), _mm512_extractf32x8_ps(v2, 1));
    const __m256 t3 = _mm256_add_ps(_mm512_castps512_ps256(v3), _mm512_extractf32x8_ps(v3, 1));
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(t0, t1), _mm256_hadd_ps(t2, t3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// vpermb indices for Q4_K: after packing the dpbusd sums of quant bytes 64p..64p+63 (low
// nibbles: sub-blocks 4p and 4p+2, 8 dword lanes each; high nibbles: 4p+1 and 4p+3) to 16 bits,
// each 128-bit lane holds 4 low-nibble then 4 high-nibble sums; the index gives every 16-bit word
// its sub-block's scale as its low byte (the odd bytes are masked to zero).
struct Q4KDecodeTables {
    uint8_t scale[2][64];
};
constexpr Q4KDecodeTables makeQ4KDecodeTables() {
    Q4KDecodeTables t{};
    for (int p = 0; p < 2; ++p)
        for (int word = 0; word < 32; ++word) {
            const int lane = word / 8, high = (word % 8) / 4;
            t.scale[p][2 * word] = static_cast<uint8_t>(4 * p + 2 * (lane / 2) + high);
        }
    return t;
}
alignas(64) constexpr Q4KDecodeTables kQ4KDecode = makeQ4KDecodeTables();

// Q4_K against Q8KN (see kernels.h): the 128 quant bytes as two 64-byte vectors whose low and
// high nibbles meet the activations in their own order; dpbusd leaves 8 partial sums per
// sub-block, which are packed to 16 bits and weighted with the 6-bit scales by dpwssd.
// Q5_K is the same with a fifth bit per weight: qh[l] holds it for byte l of each 32-byte run of
// quants, bit 2j for the low nibbles of run j and 2j + 1 for the high ones, so one test of the
// 32 qh bytes (repeated for both runs of a 64-byte vector) against a per-run bit picks the bytes
// that get 16. (Sums stay within 16 bits: 4 products of at most 31 * 127.)
template <class Block>
struct QKDecode {
    static constexpr bool kFifthBit = sizeof(Block) == sizeof(BlockQ5_K);
    struct Sums {
        __m512 acc = _mm512_setzero_ps();
        __m128 accMin = _mm_setzero_ps();
    };
    __m512i scaleIdx[2] = {_mm512_load_si512(kQ4KDecode.scale[0]), _mm512_load_si512(kQ4KDecode.scale[1])};
    // Q5_K: the qh bit of each byte of quants 64p..64p+63 (runs 2p and 2p + 1), low and high nibbles.
    __m512i fifthLo[2] = {runBits(0), runBits(4)}, fifthHi[2] = {runBits(1), runBits(5)};
    // Bytes 0-31 bit `bit`, bytes 32-63 bit `bit + 2`.
    HEARTH_DECODE_TARGET static __m512i runBits(int bit) {
        return _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << bit)),
                                  _mm256_set1_epi8(static_cast<char>(1 << (bit + 2))), 1);
    }

    static int64_t units(int64_t k) { return k / kQKK; }
    HEARTH_DECODE_TARGET void step(const uint8_t* row, const uint8_t* a, int64_t ib, Sums& s) const {
        const __m512i low4 = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(0x10);
        const __mmask64 lowBytes = 0x5555555555555555ull;  // byte 0 of each 16-bit word
        const Block& b = reinterpret_cast<const Block*>(row)[ib];
        const uint8_t* ab = a + ib * kKDecodeBytes;
        for (size_t line = 0; line < sizeof(Block); line += 64)
            HEARTH_DECODE_PREFETCH(reinterpret_cast<const char*>(&b) + line);
        const __m128i sm = q4kScalesMins(b.scales);
        const __m512i sm512 = _mm512_castsi128_si512(sm);
        __m512i qh = _mm512_setzero_si512();
        if constexpr (kFifthBit)
            qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh)));
        __m512i isum = _mm512_setzero_si512();
        for (int p = 0; p < 2; ++p) {
            const __m512i q = _mm512_loadu_si512(b.qs + 64 * p);
            __m512i lo = _mm512_and_si512(q, low4);
            __m512i hi = highNibbles(q);
            if constexpr (kFifthBit) {
                lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh, fifthLo[p]), lo, sixteen);
                hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(qh, fifthHi[p]), hi, sixteen);
            }
            const __m512i sLo =
                _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_loadu_si512(ab + 128 * p));
            const __m512i sHi =
                _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi, _mm512_loadu_si512(ab + 128 * p + 64));
            // Both fit 16 bits (4 products of at most 15 * 127), so one dpwssd scales them.
            const __m512i sums16 = _mm512_packs_epi32(sLo, sHi);
            isum = _mm512_dpwssd_epi32(isum, sums16,
                                       _mm512_maskz_permutexvar_epi8(lowBytes, scaleIdx[p], sm512));
        }
        // min j times the sum of sub-block j's activations, in 16-bit pairs.
        const __m128i mins = _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8));
        const __m128i minSum =
            _mm_madd_epi16(mins, _mm_loadu_si128(reinterpret_cast<const __m128i*>(ab + 256)));
        // [d, dmin] * the activation scale.
        const __m128 dd = _mm_mul_ps(_mm_cvtph_ps(_mm_loadu_si32(&b)),
                                     _mm_broadcast_ss(reinterpret_cast<const float*>(ab + 272)));
        s.acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_broadcastss_ps(dd), s.acc);
        s.accMin = _mm_fmadd_ps(_mm_cvtepi32_ps(minSum), _mm_shuffle_ps(dd, dd, 0x55), s.accMin);
    }
    // The mins' part is subtracted in lanes 0-3.
    HEARTH_DECODE_TARGET static __m512 lanes(const Sums& s) {
        return _mm512_sub_ps(s.acc, _mm512_zextps128_ps512(s.accMin));
    }
    static float tail(int64_t, const uint8_t*, const uint8_t*) { return 0.0f; }
    static bool hasTail(int64_t) { return false; }
};

using Q4KDecode = QKDecode<BlockQ4_K>;
using Q5KDecode = QKDecode<BlockQ5_K>;

// vpermw indices for Q6_K: the dpbusd sums of ql bytes 64h..64h+63 have one 16-element
// sub-block per 128-bit lane (8h + L for the low nibbles, 8h + 4 + L for the high ones); packed
// to 16 bits, lane L holds 4 low-nibble then 4 high-nibble sums, and each word gets its
// sub-block's scale.
struct Q6KDecodeTables {
    uint16_t scale[2][32];
    uint16_t shiftLo[32];  // where qh's 2 bits for the low nibbles go: << 4 (bytes 0-31), << 2
    uint16_t shiftHi[32];  // and for the high nibbles: >> 0, >> 2
};
constexpr Q6KDecodeTables makeQ6KDecodeTables() {
    Q6KDecodeTables t{};
    for (int h = 0; h < 2; ++h)
        for (int word = 0; word < 32; ++word)
            t.scale[h][word] = static_cast<uint16_t>(8 * h + 4 * ((word % 8) / 4) + word / 8);
    for (int word = 0; word < 32; ++word) {
        t.shiftLo[word] = word < 16 ? 4 : 2;
        t.shiftHi[word] = word < 16 ? 0 : 2;
    }
    return t;
}
alignas(64) constexpr Q6KDecodeTables kQ6KDecode = makeQ6KDecodeTables();

// Q6_K against plain Q8_K: within each 128-element half, ql's 64 bytes meet activations
// 128h..128h+63 with their low nibbles and the next 64 with their high ones, in order, so the
// activations need no reordering. qh (32 bytes, read twice) supplies bits 4-5 by a per-half shift
// and a masked merge; dpbusd's partial sums (< 2^15 even for 6-bit quants) are packed to 16 bits
// and weighted with the signed 8-bit scales by dpwssd; the stored +32 comes out through the
// 16-element sums.
struct Q6KDecode {
    struct Sums {
        __m512 acc = _mm512_setzero_ps();
    };
    __m512i shiftLo = _mm512_load_si512(kQ6KDecode.shiftLo), shiftHi = _mm512_load_si512(kQ6KDecode.shiftHi);
    __m512i scaleIdx[2] = {_mm512_load_si512(kQ6KDecode.scale[0]), _mm512_load_si512(kQ6KDecode.scale[1])};

    static int64_t units(int64_t k) { return k / kQKK; }
    HEARTH_DECODE_TARGET void step(const uint8_t* row, const uint8_t* act, int64_t ib, Sums& s) const {
        const __m512i low4 = _mm512_set1_epi8(0x0F), top2 = _mm512_set1_epi8(0x30);
        const BlockQ6_K& b = reinterpret_cast<const BlockQ6_K*>(row)[ib];
        const BlockQ8_K& ab = reinterpret_cast<const BlockQ8_K*>(act)[ib];
        for (int line = 0; line < 4; ++line) HEARTH_DECODE_PREFETCH(reinterpret_cast<const char*>(&b) + 64 * line);
        const __m256i sc16 =
            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
        const __m512i sc = _mm512_castsi256_si512(sc16);
        __m512i isum = _mm512_setzero_si512();
        for (int h = 0; h < 2; ++h) {
            const __m512i ql = _mm512_loadu_si512(b.ql + 64 * h);
            const __m512i qh = _mm512_broadcast_i64x4(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h)));
            // a | (b & c): the nibble with the two top bits put in place.
            const __m512i lo = _mm512_ternarylogic_epi32(_mm512_and_si512(ql, low4),
                                                         _mm512_sllv_epi16(qh, shiftLo), top2, 0xF8);
            const __m512i hi =
                _mm512_ternarylogic_epi32(highNibbles(ql), _mm512_srlv_epi16(qh, shiftHi), top2, 0xF8);
            const __m512i sLo =
                _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_loadu_si512(ab.qs + 128 * h));
            const __m512i sHi =
                _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi, _mm512_loadu_si512(ab.qs + 128 * h + 64));
            // At most 4 * 63 * 127 < 2^15: the packed sums are exact.
            isum = _mm512_dpwssd_epi32(isum, _mm512_packs_epi32(sLo, sHi),
                                       _mm512_permutexvar_epi16(scaleIdx[h], sc));
        }
        // The stored quants are q + 32: subtract 32 * scale * (the sub-block's activation sum).
        const __m256i bias =
            _mm256_madd_epi16(sc16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab.bsums)));
        isum = _mm512_sub_epi32(isum, _mm512_zextsi256_si512(_mm256_slli_epi32(bias, 5)));
        s.acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(halfToFloat(b.d) * ab.d), s.acc);
    }
    HEARTH_DECODE_TARGET static __m512 lanes(const Sums& s) { return s.acc; }
    static float tail(int64_t, const uint8_t*, const uint8_t*) { return 0.0f; }
    static bool hasTail(int64_t) { return false; }
};

// The lane sums of one row's `units` steps. The sums are locals, so they stay in registers (the
// weights are bytes, and the compiler must assume that stores through a reference alias them).
template <class Kernel>
HEARTH_DECODE_TARGET __m512 rowLanes(const Kernel& kernel, const uint8_t* w, const uint8_t* a,
                                     int64_t units) {
    typename Kernel::Sums s;
    for (int64_t u = 0; u < units; ++u) kernel.step(w, a, u, s);
    return Kernel::lanes(s);
}

// The same for two rows against the same activations, a step of each in turn: two independent
// chains of work, and the second row finds the activations in L1.
template <class Kernel>
HEARTH_DECODE_TARGET void pairLanes(const Kernel& kernel, const uint8_t* wa, const uint8_t* wb,
                                    const uint8_t* a, int64_t units, __m512& va, __m512& vb) {
    typename Kernel::Sums sa, sb;
    for (int64_t u = 0; u < units; ++u) {
        kernel.step(wa, a, u, sa);
        kernel.step(wb, a, u, sb);
    }
    va = Kernel::lanes(sa);
    vb = Kernel::lanes(sb);
}

// DotFn over a decode kernel: one row against `cols` activation columns.
template <class Kernel>
HEARTH_DECODE_TARGET void dotDecode(int64_t k, const void* weight, const void* act, size_t stride, int cols,
                                    float* out) {
    const Kernel kernel;
    const auto* w = static_cast<const uint8_t*>(weight);
    for (int c = 0; c < cols; ++c) {
        const auto* a = static_cast<const uint8_t*>(act) + static_cast<size_t>(c) * stride;
        out[c] = _mm512_reduce_add_ps(rowLanes(kernel, w, a, Kernel::units(k))) + Kernel::tail(k, w, a);
    }
}

// RowsDotFn over a decode kernel. A row of each run goes in lockstep, so that each core keeps two
// memory streams going (at k = 8192 ~10 % faster than taking whole rows in turn). The two rows
// take steps in turn (pairLanes): one core's rate from L2 was 7-14 % higher for every type than
// with ~1 KiB of one row, then ~1 KiB of the other (docs/performance.md, "Decode, tenth pass").
// Two such pairs at a time share the lane sums.
template <class Kernel>
HEARTH_DECODE_TARGET void rowsDecode(int64_t k, size_t rowBytes, RowRun ra, RowRun rb, const void* act) {
    const Kernel kernel;
    const int64_t units = Kernel::units(k);
    const auto* a = static_cast<const uint8_t*>(act);
    auto row = [&](const RowRun& run, int64_t r) {
        return static_cast<const uint8_t*>(run.weight) + rowBytes * static_cast<size_t>(r);
    };
    // The dots of rows r of ra and rb, as two lane vectors.
    auto pair = [&](int64_t r, __m512& va, __m512& vb) {
        pairLanes(kernel, row(ra, r), row(rb, r), a, units, va, vb);
    };
    auto single = [&](const RowRun& run, int64_t r) { return rowLanes(kernel, row(run, r), a, units); };
    const int64_t both = ra.rows < rb.rows ? ra.rows : rb.rows;
    int64_t r = 0;
    for (; r + 2 <= both; r += 2) {
        __m512 a0, b0, a1, b1;
        pair(r, a0, b0);
        pair(r + 1, a1, b1);
        alignas(16) float four[4];
        _mm_store_ps(four, sumLanes4(a0, b0, a1, b1));
        ra.out[r] = four[0];
        rb.out[r] = four[1];
        ra.out[r + 1] = four[2];
        rb.out[r + 1] = four[3];
    }
    if (r < both) {
        __m512 a0, b0;
        pair(r, a0, b0);
        ra.out[r] = _mm512_reduce_add_ps(a0);
        rb.out[r] = _mm512_reduce_add_ps(b0);
        ++r;
    }
    // The longer run's rest, four rows at a time.
    const RowRun& rest = ra.rows > rb.rows ? ra : rb;
    for (; r + 4 <= rest.rows; r += 4)
        _mm_storeu_ps(rest.out + r, sumLanes4(single(rest, r), single(rest, r + 1), single(rest, r + 2),
                                              single(rest, r + 3)));
    for (; r < rest.rows; ++r) rest.out[r] = _mm512_reduce_add_ps(single(rest, r));
    if (Kernel::hasTail(k))
        for (const RowRun* run = &ra; run; run = run == &ra ? &rb : nullptr)
            for (int64_t i = 0; i < run->rows; ++i) run->out[i] += Kernel::tail(k, row(*run, i), a);
}

#undef HEARTH_DECODE_PREFETCH
#undef HEARTH_DECODE_TARGET
