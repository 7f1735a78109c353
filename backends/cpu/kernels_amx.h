// Prefill matmul on AMX tiles (Intel Sapphire Rapids and later), in bf16 with f32 sums.
//
// The weights of 32 rows are unpacked from their GGUF blocks into bf16 (d * q + offset, one
// rounding), the tokens are converted to bf16 once per call, and each step of 32 elements is
// four tile products (2 row tiles x 2 token tiles of 16) that accumulate in the tiles over all
// of k: no per-block scaling after each product. An int8 version (Q8A tokens, per-block scales
// applied to each 16 x 16 result) was measured first: its scaling took 3 vector operations per
// 16 results per block and held it at ~0.5 TOP/s per core (docs/performance.md).
//
//   amx::packGroup(...)                 once per call, every group of 16 tokens (pairs of groups)
//   for each 32-row group of a weight:  amx::unpackRows(...)  the mapped GGUF blocks -> a bf16
//                                       panel in scratch (never kept)
//       amx::multiply(...)              the panel against a block of token groups
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
// the panel and a block of tokens for one slice fit in L2 together (a multiple of 256).
inline constexpr int64_t kSlice = 2048;
// Bytes of the scratch panel that holds 32 unpacked weight rows of k elements.
size_t panelBytes(int64_t k);
// Unpacks elements [k0, k1) (multiples of 32; of 256 for the K-quants) of weight rows [row0,
// row0 + 32) (rows at or past `rows` become zeros) into `panel`.
void unpackRows(DType type, const uint8_t* weight, size_t rowBytes, int64_t rows, int64_t row0, int64_t k0,
                int64_t k1, uint8_t* panel);
// out[t * rows + row0 + r] = (panel row r) . (token t over [k0, k1)) + (accumulate ? out : bias),
// for every token t of groups [g0, g1) (g0 and g1 even) below n and every row below `rows`;
// the tokens were packed with k elements.
void multiply(const uint8_t* panel, int64_t k0, int64_t k1, const uint8_t* packed, int64_t k, int64_t n, int64_t g0,
              int64_t g1, int64_t row0, int64_t rows, const float* bias, bool accumulate, float* out);

// Loads the tile configuration on this thread; endTiles releases the tile state so that a
// context switch need not save it.
void beginTiles();
void endTiles();

}  // namespace hearth::cpu::amx
