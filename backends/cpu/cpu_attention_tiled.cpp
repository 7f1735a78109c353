// The prefill side of CpuBackend::attention: the tokens of a chunk go to the tiled AVX-512
// kernel (attention_avx512.cpp) in tiles of one kv head x as many tokens as fill 64 query rows
// with the query heads that share it (GQA), so each block of cache rows is read once per tile.
#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/attention_tiled.h"
#include "backends/cpu/cpu_backend.h"

namespace hearth::cpu {

bool CpuBackend::tryAttentionTiled(float* out, const float* q, const char* kCache, const char* vCache,
                                   const int32_t* pos, int64_t n, int64_t heads, int64_t kvHeads, int64_t hd,
                                   bool f16, float scale) {
#if defined(HEARTH_CPU_X86)
    const int64_t group = heads / kvHeads;
    if (n < 2 || !tiledAttentionFits(hd) || group > kAttentionRows || std::strcmp(kernels_.name, "avx512") != 0)
        return false;
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
            t.k = kCache + static_cast<size_t>(kvh * hd) * elemBytes;
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
        (void)f16, (void)scale;
    return false;
#endif
}

}  // namespace hearth::cpu
