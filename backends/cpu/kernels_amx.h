// Prefill matmul on AMX tiles (Intel Sapphire Rapids and later), in bf16 with f32 sums.
//
// The weights of 32 rows are unpacked from their GGUF blocks into bf16 (d * q + offset, one
// rounding), the tokens are converted to bf16 once per call, and each step of 32 elements is
// four tile products (2 row tiles x 2 token tiles of 16) that accumulate in f32 over a whole
// slice of k: no per-block scaling after each product. An int8 version (Q8A tokens, per-block scales
// applied to each 16 x 16 result) was measured first: its scaling took 3 vector operations per
// 16 results per block and held it at ~0.5 TOP/s per core (docs/performance.md).
//
//   amx::packGroup(...)             once per call, every group of 16 tokens (pairs of groups)
//   for each slice of k, block of tokens and 32-row group of a weight:
//       amx::runTask(...)           unpacks the rows' GGUF blocks 512 elements at a time into a
//                                   bf16 panel in scratch (never kept) and multiplies each by
//                                   every token pair of the block
//
// The functions here are compiled with AMX and AVX-512 flags: call them only when
// amx::enabled() said yes, between amx::beginTiles() and amx::endTiles() on the same thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/kernels.h"
#include "backends/dtype.h"

namespace hearth::cpu::amx {

inline constexpr int kTile = 16;       // weight rows and tokens per tile
inline constexpr int kPanelRows = 32;  // weight rows per unpacked panel (two tiles)
// Fewer tokens than this go to the AVX-512 kernels (a tile product pads tokens to 16).
inline constexpr int64_t kMinTokens = 8;

// Weight types with an AMX path (the others keep the AVX-512 kernels).
bool supportsType(DType type);

// Whether matmul may use AMX with this kernel table: the CPU and OS allow tiles, the table is
// the AVX-512 one, and HEARTH_CPU_AMX is not "0" (read when asked, so a backend opened after
// setting it sees it).
bool enabled(const KernelTable& kernels);

// Bytes of one packed group of 16 tokens of k elements: per 32 elements a 16 x 64-byte B tile
// (bf16 pairs: elements 2i, 2i+1 of token t at row i, bytes 4t .. 4t+3).
size_t packedGroupBytes(int64_t k);
// Groups to pack for n tokens: whole groups of 16, rounded up to pairs (the extra are zeros).
int64_t packedGroups(int64_t n);
// Packs tokens [16 g, 16 g + 16) of x (k floats each, n tokens; those past n are zeros).
void packGroup(const float* x, int64_t k, int64_t n, int64_t g, uint8_t* dst);

// Elements of k per slice: a matmul with a longer k runs slice after slice, adding to out, so
// that a block of tokens for one slice fits in L2 (a multiple of 256).
inline constexpr int64_t kSlice = 2048;
// Elements of k per unpacked panel inside a task: 32 rows x 512 bf16 = 32 KiB, which stays in L1
// while every token pair of the task's block passes over it (a multiple of 256).
inline constexpr int64_t kSubSlice = 512;
// Bytes of a panel of 32 unpacked weight rows of k elements.
size_t panelBytes(int64_t k);
// Unpacks elements [k0, k1) (multiples of 32; of 256 for the K-quants) of weight rows [row0,
// row0 + 32) (rows at or past `rows` become zeros) into `panel`.
void unpackRows(DType type, const uint8_t* weight, size_t rowBytes, int64_t rows, int64_t row0, int64_t k0,
                int64_t k1, uint8_t* panel);
// Scratch for runTask with a block of `groups` token groups: one panel and the running sums.
size_t taskScratchBytes(int64_t groups);
// One task: out[t * rows + row0 + r] = (weight row row0 + r) . (token t), over elements [k0, k1),
// plus (accumulate ? out : bias), for every token t of groups [g0, g1) (even) below n and every
// row below `rows`; the tokens were packed with k elements. Unpacks the rows' elements kSubSlice
// at a time from the mapped GGUF blocks into the panel in `scratch` (64-byte aligned).
void runTask(DType type, const uint8_t* weight, size_t rowBytes, int64_t rows, int64_t row0, int64_t k0, int64_t k1,
             const uint8_t* packed, int64_t k, int64_t n, int64_t g0, int64_t g1, const float* bias, bool accumulate,
             float* out, uint8_t* scratch);

// Loads the tile configuration on this thread; endTiles releases the tile state so that a
// context switch need not save it.
void beginTiles();
void endTiles();

}  // namespace hearth::cpu::amx
