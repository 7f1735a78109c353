// AVX2 mat-vec kernels for decode (one activation column) of the 32-weight types Q4_0 and Q8_0,
// on plain BlockQ8A activations. dot32Cols serves prefill well, but at one column it keeps one
// accumulator and one running offset, so every block waits on the previous block's FMAs (Q4_0
// at 20-30 % of the measured read bandwidth on the development VM's two cores). Here two blocks
// go to independent sums, two rows stream side by side (as the AVX-512 decode kernels do), and
// the weights are prefetched ahead of the loads (prefetchSpanAhead).
//
// Not a stand-alone header: kernels_x86.h includes it inside its namespace when it is compiled
// without AVX-512 (the AVX-512 table has its own decode kernels).

// One block's integer dot as 8 float lanes (sum them for the block), plus what the block adds
// outside those lanes: Q4_0 stores q = w + 8, so its dot carries -8 * d_w * (d_a * sum a).
struct Q40Avx2 {
    using Block = BlockQ4_0;
    static constexpr float kOffset = -8.0f;
    static __m256i products(const Block& b, __m256i a) {
        return _mm256_madd_epi16(_mm256_maddubs_epi16(nibbles(b.qs), a), _mm256_set1_epi16(1));
    }
};
// Q8_0's quants are signed: their sign moves onto the activations, as in dot32Cols.
struct Q80Avx2 {
    using Block = BlockQ8_0;
    static constexpr float kOffset = 0.0f;
    static __m256i products(const Block& b, __m256i a) {
        const __m256i w = loadBytes(b.qs);
        return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w)),
                                 _mm256_set1_epi16(1));
    }
};

// The running sums of one row: two blocks in flight, each with its own vector and offset sum.
struct Avx2RowSums {
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    float off[2] = {0.0f, 0.0f};
};

template <class K>
inline void addBlock(const typename K::Block& b, const BlockQ8A& a, Avx2RowSums& s, int slot) {
    const float dw = halfToFloat(b.d);
    const __m256 p = _mm256_cvtepi32_ps(K::products(b, loadBytes(a.qs)));
    s.acc[slot] = _mm256_fmadd_ps(_mm256_set1_ps(dw * a.d), p, s.acc[slot]);
    if constexpr (K::kOffset != 0.0f) s.off[slot] += dw * a.s;
}

template <class K>
inline float total(const Avx2RowSums& s) {
    return hsum(_mm256_add_ps(s.acc[0], s.acc[1])) + K::kOffset * (s.off[0] + s.off[1]);
}

// Rows wa and wb (wb may be null) against the activations a, in lockstep.
template <class K>
inline void rowPairAvx2(int64_t nb, const typename K::Block* wa, const typename K::Block* wb, const BlockQ8A* a,
                        float* outA, float* outB) {
    Avx2RowSums sa, sb;
    int64_t ib = 0;
    for (; ib + 2 <= nb; ib += 2) {
        prefetchSpanAhead(wa + ib, 2 * sizeof(typename K::Block));
        addBlock<K>(wa[ib], a[ib], sa, 0);
        addBlock<K>(wa[ib + 1], a[ib + 1], sa, 1);
        if (wb) {
            prefetchSpanAhead(wb + ib, 2 * sizeof(typename K::Block));
            addBlock<K>(wb[ib], a[ib], sb, 0);
            addBlock<K>(wb[ib + 1], a[ib + 1], sb, 1);
        }
    }
    if (ib < nb) {
        addBlock<K>(wa[ib], a[ib], sa, 0);
        if (wb) addBlock<K>(wb[ib], a[ib], sb, 0);
    }
    *outA = total<K>(sa);
    if (wb) *outB = total<K>(sb);
}

// DotFn: one row against `cols` activation columns.
template <class K>
void dotDecodeAvx2(int64_t k, const void* weight, const void* act, size_t stride, int cols, float* out) {
    const auto* w = static_cast<const typename K::Block*>(weight);
    for (int c = 0; c < cols; ++c) {
        const char* column = static_cast<const char*>(act) + static_cast<size_t>(c) * stride;
        const auto* a = reinterpret_cast<const BlockQ8A*>(column);
        rowPairAvx2<K>(k / kQK, w, nullptr, a, out + c, nullptr);
    }
}

// RowsDotFn: row r of each run together, then the longer run's rest.
template <class K>
void rowsDecodeAvx2(int64_t k, size_t rowBytes, RowRun ra, RowRun rb, const void* act) {
    const auto* a = static_cast<const BlockQ8A*>(act);
    auto row = [&](const RowRun& run, int64_t r) {
        return reinterpret_cast<const typename K::Block*>(static_cast<const char*>(run.weight) +
                                                          rowBytes * static_cast<size_t>(r));
    };
    const int64_t nb = k / kQK, both = ra.rows < rb.rows ? ra.rows : rb.rows;
    int64_t r = 0;
    for (; r < both; ++r) rowPairAvx2<K>(nb, row(ra, r), row(rb, r), a, ra.out + r, rb.out + r);
    const RowRun& rest = ra.rows > rb.rows ? ra : rb;
    for (; r < rest.rows; ++r) rowPairAvx2<K>(nb, row(rest, r), nullptr, a, rest.out + r, nullptr);
}
