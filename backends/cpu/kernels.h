// The CPU backend's inner loops, one table per instruction set, chosen once at run time.
//
// matmul quantizes its input once per call into activation blocks (BlockQ8A for the 32-element
// weight types, BlockQ8_K for the K-quants, plain F32 for F32/F16/BF16 weights); a DotFn then
// computes one weight row against up to kMaxCols activation columns, so that in prefill each
// weight block is unpacked once and used for several tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "backends/dtype.h"

namespace hearth::cpu {

// x[i] ≈ d * qs[i] for 32 activations; s = d * sum(qs), which the weight types with an offset
// (Q4_0's -8, Q4_1's min, Q5_0's -16) need once per block instead of once per element.
struct BlockQ8A {
    float d;
    float s;
    int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8A) == 40);

// Q8I is Q8A regrouped for the AVX-512 Q4_0 kernel: in each group of 16 blocks, one 64-byte
// vector holds the same 4 activations of all 16 blocks, so a dpbusd sums 16 blocks at once
// (see kInterleaveGroup below); the blocks after the last full group stay plain BlockQ8A.
// Q8KI and Q8K6I are the same idea for Q4_K and Q6_K (see kKGroup and kK6Group below).
// Q8N4 is Q8A in the weights' own block order, for the AVX-512 Q4_0 decode kernel (see
// kDecodeGroup below), and Q8KN is Q8_K in the order of Q4_K's quant bytes (kKDecodeBytes).
enum class ActFormat { F32, Q8A, Q8K, Q8I, Q8KI, Q8K6I, Q8N4, Q8KN };
inline constexpr int kActFormats = 8;

// Q8I layout of one group of 16 blocks: for t = 0..3, 64 bytes of "low" activations (bytes
// 4t..4t+3 of each block) then 64 bytes of "high" ones (bytes 16+4t..16+4t+3), then the 16 block
// scales d, then the 16 sums s. Block b sits in dword lane (b % 4) * 4 + b / 4, the order a 4x4
// dword transpose of four 128-bit lanes produces.
inline constexpr int kInterleaveGroup = 16;
inline constexpr int kInterleaveGroupBytes = kInterleaveGroup * static_cast<int>(sizeof(BlockQ8A));
constexpr int interleavedLane(int block) { return (block % 4) * 4 + block / 4; }

// Q8KI layout of one group of kKGroup = 2 super-blocks (512 activations), for Q4_K. Lane L
// stands for one 16-byte chunk of a super-block's qs (what a 4x4 dword transpose of four 64-byte
// loads yields): chunk c of pair p = c / 2 holds 16 weights of sub-block 2p in its low nibbles
// and 16 of sub-block 2p+1 in its high ones. For t = 0..3: 64 bytes of activations meeting dword
// t of the low nibbles, 64 meeting the high ones; then 16 floats d, 16 floats d * (sum of the
// lane's 16 low activations), 16 for the high ones. Super-blocks after the last full group stay
// plain BlockQ8_K.
inline constexpr int kKGroup = 2;
inline constexpr int kKGroupBytes = 512 + 3 * 64;
struct KLane {
    int sb;     // super-block within the group
    int pair;   // p: sub-blocks 2p (low nibbles) and 2p+1 (high)
    int half;   // which 16 of the sub-blocks' 32 weights
    int chunk;  // the 16-byte chunk of qs (4-quant) or ql (Q6_K)
};
constexpr KLane kLane(int lane) {
    const int i = lane / 4, gi = lane % 4, chunk = 4 * (gi % 2) + i;
    return {gi / 2, chunk / 2, chunk % 2, chunk};
}

// Q8K6I layout of one group of kK6Group = 2 super-blocks (512 activations), for Q6_K. Lane L
// stands for one 16-byte chunk of a super-block's ql (what a 4x4 dword transpose of four 64-byte
// loads yields): its low nibbles are 16 weights of sub-block `subLo`, its high nibbles 16 of
// `subHi`. For t = 0..3: 64 bytes of activations meeting dword t of the low nibbles, 64 meeting
// the high ones; then 16 floats d, 16 int32 32 * (sum of sub-block subLo), 16 for subHi.
inline constexpr int kK6Group = 2;
inline constexpr int kK6GroupBytes = 512 + 3 * 64;
struct K6Lane {
    int sb;         // super-block within the group
    int subLo;      // sub-block (of 16) of the low nibbles; the high ones are subLo + 4
    int firstLo;    // index of the first low-nibble weight in the super-block; high: + 64
    int qhChunk;    // 16-byte chunk of qh holding the top bits
    int shiftLo;    // where in those qh bytes the low nibbles' 2 bits are; high: + 4
};
constexpr K6Lane k6Lane(int lane) {
    const KLane l = kLane(lane);
    const int h = l.chunk / 4, j = (l.chunk / 2) % 2, lh = l.chunk % 2;
    return {l.sb, 8 * h + 2 * j + lh, 128 * h + 32 * j + 16 * lh, 2 * h + lh, 2 * j};
}

// Q8N4 layout of one group of kDecodeGroup = 4 blocks (b = 0..3): 64 bytes where dword lane
// 4L + b holds activations 4L..4L+3 of block b, 64 bytes the same for activations 16+4L..
// 16+4L+3, then 4 int32 -8 * (sum of block b's activations) (the Q4_0 offset), then 4 floats d
// of block b, then 32 bytes of padding, so that on a 64-byte aligned buffer (CacheLineBytes in
// cpu_backend.h) no 64-byte load of a group straddles two cache lines. Blocks after the last
// whole group stay plain BlockQ8A.
inline constexpr int kDecodeGroup = 4;
inline constexpr int kDecodeGroupBytes = 192;

// Q8KN layout of one super-block: 256 int8 activations in the order Q4_K's quant bytes meet them
// (for p = 0, 1: 64 bytes meeting the low nibbles of qs[64p..64p+63], i.e. activations
// 128p..128p+31 and 128p+64..128p+95, then 64 meeting the high nibbles, i.e. 128p+32..128p+63
// and 128p+96..128p+127), 8 int16 sums of the 32-element sub-blocks, the float d, padding to
// whole cache lines (as Q8N4).
inline constexpr int kKDecodeBytes = 320;

inline constexpr int kMaxCols = 4;
inline constexpr int kTypeSlots = 32;  // DType ids below this index the dot table

// out[c] = dot(weight row of k elements, activation column c), c < cols <= kMaxCols; columns
// lie `actStride` bytes apart in the activation format of the weight type.
using DotFn = void (*)(int64_t k, const void* weight, const void* act, size_t actStride, int cols, float* out);
// A run of consecutive weight rows, `rowBytes` apart, and where their dots go.
struct RowRun {
    const void* weight;
    int64_t rows;
    float* out;
};
// out[r] = dot(row r, the activation column) for the rows of two runs, row r of `a` and row r of
// `b` together (the longer run's rest at the end). Two memory streams per core keep more reads in
// flight than one: see CpuBackend::matmul and rowsDecode() in kernels_avx512_decode.h.
using RowsDotFn = void (*)(int64_t k, size_t rowBytes, RowRun a, RowRun b, const void* act);

struct KernelTable {
    const char* name = "scalar";
    DotFn dot[kTypeSlots] = {};
    ActFormat act[kTypeSlots] = {};  // the activation format each dot expects
    // Kernels for a single column (decode), where they beat dot[] there; nullptr: dot[] serves.
    DotFn dot1[kTypeSlots] = {};
    ActFormat act1[kTypeSlots] = {};
    // Decode over two runs of rows at once (same activations as dot1), where sharing the per-row
    // setup pays; nullptr: dot1 row by row, the runs in turn.
    RowsDotFn rows1[kTypeSlots] = {};
    // Attention: a query against a cache row, and out += a * cache row, for F16 and F32 caches.
    float (*dotF16)(const uint16_t* a, const float* b, int64_t n) = nullptr;
    float (*dotF32)(const float* a, const float* b, int64_t n) = nullptr;
    void (*axpyF16)(float a, const uint16_t* x, float* y, int64_t n) = nullptr;
    void (*axpyF32)(float a, const float* x, float* y, int64_t n) = nullptr;
    // The KV cache's f16 rows: dst[i] = x[i] rounded to nearest even (f32ToF16 in dtype.h).
    void (*toF16)(const float* x, uint16_t* dst, int64_t n) = nullptr;
};

// The kernel and activation format for a matmul of n columns.
struct DotChoice {
    DotFn dot;
    ActFormat act;
};
inline DotChoice dotFor(const KernelTable& t, DType type, int64_t n) {
    const auto id = static_cast<uint32_t>(type);
    if (n == 1 && t.dot1[id]) return {t.dot1[id], t.act1[id]};
    return {t.dot[id], t.act[id]};
}

// Weight types matmul and embed accept.
bool isSupportedWeightType(DType type);
// The plain C++ table's activation format for a weight type (a SIMD table may differ: see act[]).
ActFormat activationFormat(DType weightType);
// Bytes of one activation column of k elements in `format`.
size_t activationRowBytes(ActFormat format, int64_t k);
// Converts one column of k floats (k a multiple of the block size for the quantized formats).
void quantizeActivation(ActFormat format, const float* x, void* out, int64_t k);
// Any supported weight type -> F32, for embed and norms.
void dequantizeRow(DType type, const void* src, float* dst, int64_t k);

// The best table this CPU can run; HEARTH_CPU_KERNELS=scalar|avx2|avx512 picks a lower one.
const KernelTable& bestKernels();
// Every table this CPU can run, the plain C++ one first (for tests and benchmarks).
std::vector<const KernelTable*> availableKernels();
const KernelTable* kernelsByName(std::string_view name);  // nullptr if unknown or not runnable

// Filled by each kernel translation unit.
void fillScalarKernels(KernelTable& table);
#if defined(HEARTH_CPU_X86)
void fillAvx2Kernels(KernelTable& table);
void fillAvx512Kernels(KernelTable& table);
#endif

}  // namespace hearth::cpu
