// Prefill attention on AVX-512, tiled: the queries of up to kAttentionRows (tokens x the query
// heads sharing one kv head) against blocks of kAttentionKeys cache rows, so each cache row is
// converted from f16 once per block of queries instead of once per query, and the scores, the
// online softmax and the weighted sum of values run as small matrix products over registers.
//
//   AttentionTile t{...};                       one kv head, up to 64 query rows
//   attentionTileAvx512(t, scratch);            scratch: attentionScratchFloats(hd) floats
//
// Decode (one token) has its own kernel below, attentionDecodePartAvx512, over a range of cache
// positions. Both are compiled with AVX-512 flags: call them only with the avx512 kernel table.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/key_blocks.h"

namespace hearth::cpu {

inline constexpr int kAttentionRows = 64;  // query rows per tile
inline constexpr int kAttentionKeys = 64;  // cache rows per block

struct AttentionTile {
    const float* q[kAttentionRows];  // query row r (hd floats)
    float* out[kAttentionRows];      // where its result goes
    int32_t last[kAttentionRows];    // the last cache position row r attends to
    int rows;                        // 1 .. kAttentionRows
    const void* k;                   // the key cache, laid out as `keys` says
    KeyBlocks keys;
    int64_t keyFirst;                // this kv head's first element of a key row (kvh * hd)
    const void* v;                   // value row t of this kv head at v + t * stride elements
    int64_t stride;                  // elements between value rows
    bool f16;                        // cache element type: f16, else f32
    int64_t hd;                      // head dimension, a multiple of 16, at most 256
    float scale;
};

// Whether the tiled kernel handles this head dimension.
constexpr bool tiledAttentionFits(int64_t hd) { return hd > 0 && hd % 16 == 0 && hd <= 256; }
size_t attentionScratchFloats(int64_t hd);
void attentionTileAvx512(const AttentionTile& tile, float* scratch);

// Decode: the one token of a step against cache positions [from, to) for kv heads [kvFrom, kvTo)
// and their query heads, so that threads can split the positions or the heads. Leaves per query
// head h the unnormalised weighted values acc[h * hd ..], the running maximum m[h] of the scaled
// scores and the sum l[h] of exp(score - m[h]); parts of the positions are merged by rescaling to
// a common maximum. scratch: attentionDecodeScratchFloats(hd, heads).
struct AttentionStep {
    const float* q;      // heads x hd
    const void* k;       // the key cache, laid out as `keys` says
    KeyBlocks keys;
    const void* v;       // the value cache: position t, kv head g at (t * kvHeads + g) * hd elements
    int64_t heads, kvHeads, hd;  // hd a multiple of 16
    bool f16;            // cache element type: f16, else f32
    float scale;
};
size_t attentionDecodeScratchFloats(int64_t hd, int64_t heads);
void attentionDecodePartAvx512(const AttentionStep& step, int64_t from, int64_t to, int64_t kvFrom, int64_t kvTo,
                               float* acc, float* m, float* l, float* scratch);

}  // namespace hearth::cpu
