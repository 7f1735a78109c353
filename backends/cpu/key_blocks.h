// How the CPU backend lays out a key cache when its AVX-512 attention kernels read it.
//
// The rows of a key cache (one per position, kvHeads x headDim elements) are kept in blocks of
// 16 positions, element-major inside a block: element e of position t lies at
//     blockStart(t / 16) + e * width(t / 16) + t % 16,
// width being 16 except in a last, partial block (positions % 16 wide). The decode kernel then
// loads one element of 16 positions as one vector and gets 16 scores from plain multiply-adds,
// where rows of whole positions needed a transposed sum across lanes per query head (45 shuffles
// and adds) on top of the multiply-adds. The cache takes the same bytes as the row layout.
//
// Only the key cache, and only with the AVX-512 kernel table (CpuBackend::blockedKeys): value
// caches and the other kernel tables keep one row per position. Backend::readKv gives the rows
// back in the interface's layout.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth::cpu {

struct KeyBlocks {
    static constexpr int64_t kPositions = 16;
    int64_t rowElems = 0;   // kvHeads x headDim
    int64_t positions = 0;  // rows the cache holds

    int64_t width(int64_t block) const {
        const int64_t rest = positions - block * kPositions;
        return rest < kPositions ? rest : kPositions;
    }
    size_t blockStart(int64_t block) const { return static_cast<size_t>(block * kPositions * rowElems); }
    size_t at(int64_t t, int64_t e) const {
        const int64_t block = t / kPositions;
        return blockStart(block) + static_cast<size_t>(e * width(block) + t % kPositions);
    }
};

}  // namespace hearth::cpu
