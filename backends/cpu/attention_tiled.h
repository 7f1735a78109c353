// Prefill attention on AVX-512, tiled: the queries of up to kAttentionRows (tokens x the query
// heads sharing one kv head) against blocks of kAttentionKeys cache rows, so each cache row is
// converted from f16 once per block of queries instead of once per query, and the scores, the
// online softmax and the weighted sum of values run as small matrix products over registers.
//
//   AttentionTile t{...};                       one kv head, up to 64 query rows
//   attentionTileAvx512(t, scratch);            scratch: attentionScratchFloats(hd) floats
//
// attentionTileAvx512 is compiled with AVX-512 flags: call it only with the avx512 kernel table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth::cpu {

inline constexpr int kAttentionRows = 64;  // query rows per tile
inline constexpr int kAttentionKeys = 64;  // cache rows per block

struct AttentionTile {
    const float* q[kAttentionRows];  // query row r (hd floats)
    float* out[kAttentionRows];      // where its result goes
    int32_t last[kAttentionRows];    // the last cache position row r attends to
    int rows;                        // 1 .. kAttentionRows
    const void* k;                   // cache row t of this kv head at k + t * stride elements
    const void* v;
    int64_t stride;                  // elements between cache rows
    bool f16;                        // cache element type: f16, else f32
    int64_t hd;                      // head dimension, a multiple of 16, at most 256
    float scale;
};

// Whether the tiled kernel handles this head dimension.
constexpr bool tiledAttentionFits(int64_t hd) { return hd > 0 && hd % 16 == 0 && hd <= 256; }
size_t attentionScratchFloats(int64_t hd);
void attentionTileAvx512(const AttentionTile& tile, float* scratch);

}  // namespace hearth::cpu
