// CpuBackend::attention on AVX-512: the tokens of a prefill chunk go to the tiled kernel
// (attention_avx512.cpp) in tiles of one kv head x as many tokens as fill 64 query rows with the
// query heads that share it (GQA), so each block of cache rows is read once per tile; a decode
// step's token goes to the few-row kernel, one tile per kv head.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backends/cpu/attention_tiled.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/flush_denormals.h"

namespace hearth::cpu {

bool CpuBackend::blockedKeys(int64_t hd) const {
#if defined(HEARTH_CPU_X86)
    return tiledAttentionFits(hd) && avx512_;
#else
    (void)hd;
    return false;
#endif
}

bool CpuBackend::tryAttentionTiled(float* out, const float* q, const char* kCache, const char* vCache,
                                   const int32_t* pos, int64_t n, int64_t heads, int64_t kvHeads, int64_t hd,
                                   int64_t ctx, bool f16, float scale) {
#if defined(HEARTH_CPU_X86)
    if (!blockedKeys(hd)) return false;
    if (n == 1) {
        attentionDecode(out, q, kCache, vCache, pos[0], heads, kvHeads, hd, ctx, f16, scale);
        return true;
    }
    const int64_t group = heads / kvHeads;
    if (group > kAttentionRows) return false;
    const int64_t tokensPerTile = kAttentionRows / group;
    const int64_t tiles = (n + tokensPerTile - 1) / tokensPerTile;
    const size_t elemBytes = f16 ? 2 : 4;
    pool_.parallelFor(kvHeads * tiles, 1, [&](int64_t b, int64_t e, int) {
        thread_local std::vector<float> scratch;
        if (scratch.size() < attentionScratchFloats(hd)) scratch.resize(attentionScratchFloats(hd));
        for (int64_t item = b; item < e; ++item) {
            // Later tokens see more of the cache: hand those out first for a better balance.
            const int64_t tile = tiles - 1 - item / kvHeads, kvh = item % kvHeads;
            const int64_t i0 = tile * tokensPerTile, tokens = std::min(tokensPerTile, n - i0);
            AttentionTile t{};
            t.rows = static_cast<int>(tokens * group);
            for (int64_t ti = 0; ti < tokens; ++ti)
                for (int64_t gh = 0; gh < group; ++gh) {
                    const int64_t r = ti * group + gh, at = ((i0 + ti) * heads + kvh * group + gh) * hd;
                    t.q[r] = q + at;
                    t.out[r] = out + at;
                    t.last[r] = pos[i0 + ti];
                }
            t.k = kCache;
            t.keys = KeyBlocks{kvHeads * hd, ctx};
            t.keyFirst = kvh * hd;
            t.v = vCache + static_cast<size_t>(kvh * hd) * elemBytes;
            t.stride = kvHeads * hd;
            t.f16 = f16;
            t.hd = hd;
            t.scale = scale;
            attentionTileAvx512(t, scratch.data());
        }
    });
    return true;
#else
    (void)out, (void)q, (void)kCache, (void)vCache, (void)pos, (void)n, (void)heads, (void)kvHeads, (void)hd,
        (void)ctx, (void)f16, (void)scale;
    return false;
#endif
}

#if defined(HEARTH_CPU_X86)
// One part per thread, each a contiguous range of positions (whole 16-key blocks, at least 64
// each) of every kv head, read front to back; the parts' unnormalised values are then merged on
// the calling thread: a second parallel region for the merge cost more than it shared out (24
// layers of qwen2.5-0.5b shapes at 576 positions, cold: 0.57-0.58 against 0.54-0.56 ms at the
// best; bench/backends/attention_bench.cpp). (Splitting the kv heads between the threads instead
// needs no merge, but ran ~10 % slower from DRAM and from the caches:
// bench/backends/attention_bench.cpp.) From 32 to 127 positions, where one part would leave the
// other threads idle (and asleep by the next op: a sleeping worker made the o projection after it
// ~40 % slower), the threads split the kv heads.
void CpuBackend::attentionDecode(float* out, const float* q, const char* kCache, const char* vCache,
                                 int32_t last, int64_t heads, int64_t kvHeads, int64_t hd, int64_t ctx,
                                 bool f16, float scale) {
    const int64_t keys = int64_t{last} + 1;
    const int parts = static_cast<int>(std::clamp<int64_t>(keys / 64, 1, std::min(pool_.threads(), kMaxParts)));
    const AttentionStep step{q, kCache, KeyBlocks{kvHeads * hd, ctx}, vCache, heads, kvHeads, hd, f16, scale};
    // Each part on lines of its own: part 1's values had shared a line with part 0's running sums,
    // and two threads took 3.1 ms where they now take 2.2-2.4 (24 layers of qwen2.5-0.5b shapes at
    // 2,048 positions, warm: bench/backends/attention_bench.cpp).
    const size_t perPart = wholeCacheLines(static_cast<size_t>(heads * hd + 2 * heads));
    attnScratch_.resize(perPart * static_cast<size_t>(parts));
    auto accOf = [&](int part) { return attnScratch_.data() + perPart * static_cast<size_t>(part); };
    auto maxOf = [&](int part) { return accOf(part) + heads * hd; };
    auto sumOf = [&](int part) { return accOf(part) + heads * hd + heads; };
    auto scratchFloats = [&] {
        thread_local CacheLineFloats scratch;
        const size_t floats = attentionDecodeScratchFloats(hd, heads);
        if (scratch.size() < floats) scratch.resize(floats);
        return scratch.data();
    };
    auto run = [&](int part, int) {
        if (part >= parts) return;
        const int64_t from = keys * part / parts / 16 * 16;
        const int64_t to = part + 1 == parts ? keys : keys * (part + 1) / parts / 16 * 16;
        attentionDecodePartAvx512(step, from, to, 0, kvHeads, accOf(part), maxOf(part), sumOf(part), scratchFloats());
    };
    auto merge = [&](int64_t begin, int64_t end) {
        // A part is weighed by exp(m - top), subnormal for a part whose scores lie 87-103 below
        // the best part's: the merge of llama-3.2-1b's 32 heads took 33 us instead of 4 without
        // the flags (random-weight model, 512-640 positions).
        const FlushDenormals flush;
        for (int64_t h = begin; h < end; ++h) {
            float top = -std::numeric_limits<float>::infinity();
            for (int part = 0; part < parts; ++part) top = std::max(top, maxOf(part)[h]);
            float weight[kMaxParts], sum = 0.0f;
            for (int part = 0; part < parts; ++part) {
                const float m = maxOf(part)[h];
                weight[part] = m == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(m - top);
                sum += weight[part] * sumOf(part)[h];
            }
            for (int part = 0; part < parts; ++part) weight[part] /= sum;
            float* o = out + h * hd;
            for (int64_t d = 0; d < hd; ++d) {
                float v = 0.0f;
                for (int part = 0; part < parts; ++part) v += weight[part] * accOf(part)[h * hd + d];
                o[d] = v;
            }
        }
    };
    if (parts == 1) {
        // Each share keeps its running maxima and sums in its own part of the scratch: the heads'
        // values side by side in one cache line, written by two threads, made this ~2x slower.
        // Below 32 positions one thread is quicker than waking another (qwen2.5-0.5b shapes: 2.9
        // against 4.2 us a layer at 16 positions; even at 32).
        const int64_t shares = keys < 32 ? 1 : std::min<int64_t>(pool_.threads(), kvHeads);
        attnScratch_.resize(perPart * static_cast<size_t>(shares));
        auto runHeads = [&](int share, int) {
            if (share >= shares) return;
            const int64_t kvFrom = kvHeads * share / shares, kvTo = kvHeads * (share + 1) / shares;
            const int part = static_cast<int>(share);
            attentionDecodePartAvx512(step, 0, keys, kvFrom, kvTo, accOf(part), maxOf(part), sumOf(part), scratchFloats());
            const int64_t group = heads / kvHeads;
            for (int64_t h = kvFrom * group; h < kvTo * group; ++h) {
                const float inv = 1.0f / sumOf(part)[h];
                for (int64_t d = 0; d < hd; ++d) out[h * hd + d] = accOf(part)[h * hd + d] * inv;
            }
        };
        if (shares > 1) pool_.run(runHeads);
        else runHeads(0, 1);
        return;
    }
    pool_.run(run);
    merge(0, heads);
}
#endif

}  // namespace hearth::cpu
