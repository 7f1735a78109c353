// Prefill matmul on AMX int8 tiles (Intel Sapphire Rapids and later).
//
// One tile product multiplies 16 weight rows by 16 tokens over one 32-element block (16 for
// Q6_K's half blocks): the weights are signed bytes, the activations the Q8A bytes of each
// token, so the product is exact in int32 and the float scales (weight block scale and min,
// token block scale and sum) are applied per block afterwards, on 16 x 16 results at a time.
//
//   packed = amx::packActivations(...)      once per call: tokens in groups of 16
//   for each 16-row group of a weight:      amx::unpackRows(...)  the mapped GGUF blocks -> a
//                                           16-row int8 panel in scratch (never kept)
//       for each group of 16 tokens:        amx::multiply(...)    tiles, then scales
//
// The functions here are compiled with AMX and AVX-512 flags: call them only when
// amx::enabled() said yes, between amx::beginTiles() and amx::endTiles() on the same thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/kernels.h"
#include "backends/dtype.h"

namespace hearth::cpu::amx {

inline constexpr int kTile = 16;  // weight rows and tokens per tile product
// Fewer tokens than this go to the AVX-512 kernels (a tile product pads tokens to 16).
inline constexpr int64_t kMinTokens = 8;

// Weight types with an AMX path (the others keep the AVX-512 kernels).
bool supportsType(DType type);

// Whether matmul may use AMX with this kernel table: the CPU and OS allow tiles, the table is
// the AVX-512 one, and HEARTH_CPU_AMX is not "0" (read when asked, so a backend opened after
// setting it sees it).
bool enabled(const KernelTable& kernels);

// Bytes of one packed group of 16 tokens of k elements: per 32-element block an 8 x 64-byte
// B tile (dword r of token t at r * 64 + 4 t), then 16 scales d, then 16 sums s (BlockQ8A's).
size_t packedGroupBytes(int64_t k);
// Packs tokens [16 g, 16 g + 16) of x (k floats each, n tokens; the ones past n are zeros) into
// `dst`; `tmp` holds k / 32 BlockQ8A.
void packGroup(const float* x, int64_t k, int64_t n, int64_t g, uint8_t* dst, BlockQ8A* tmp);

// Bytes of the scratch panel that holds 16 unpacked weight rows of k elements.
size_t panelBytes(int64_t k);
// Unpacks weight rows [row0, row0 + 16) (rows at or past `rows` become zeros) into `panel`.
void unpackRows(DType type, const uint8_t* weight, size_t rowBytes, int64_t rows, int64_t row0, int64_t k,
                uint8_t* panel);
// out[t * outRows + row0 + r] = (panel row r) . (token t) + bias[row0 + r], for every token t of
// groups [g0, g1) below n and every row below `rows`.
void multiply(DType type, const uint8_t* panel, int64_t k, const uint8_t* packed, int64_t n, int64_t g0, int64_t g1,
              int64_t row0, int64_t rows, const float* bias, float* out);

// Loads the tile configuration for `type` on this thread; endTiles releases the tile state so
// that a context switch need not save it.
void beginTiles(DType type);
void endTiles();

}  // namespace hearth::cpu::amx
