// The layouts the CUDA backend rewrites Q6_K and Q4_0 weights into once they are on the device
// (Backend::prepareWeights), and the index arithmetic between them and the GGUF blocks. Shared by
// the repack kernel (repack.cu), the device readers (quant_blocks.cuh, gemm_library.cu) and a
// host unit test (tests/gpu/weight_repack_test.cpp), so it is plain C++ that nvcc and hipcc also
// compile for the device.
//
// Why: a Q6_K block is 210 bytes and a Q4_0 block 18, so inside a row blocks are only 2-byte
// aligned and the mat-vec assembles its quants from 16-bit loads (19 loads per 12 bytes of Q6_K,
// 1.5 TB/s on the H100 against 2.4 for the 16-byte aligned Q4_K). The repacked rows are split
// into planes instead, each holding one field of every block of the row:
//
//   Q6_K row of nb blocks:  [ql 128 nb][qh 64 nb][scales 16 nb][d 2 nb]    (210 nb bytes)
//   Q4_0 row of nb blocks:  [qs 16 nb][d 2 nb]                             (18 nb bytes)
//
// A row keeps its own bytes (same size, same place), so tensor offsets, row views and embed's
// row addressing are unchanged; only what lies inside a row moves. Rows are repacked only when
// their size is a multiple of 16 (and the tensor starts 16-byte aligned), so every plane of every
// row starts 16-byte aligned.
//
// Inside a planar Q6_K block, weight i = 32 t + j (t: the 32-weight group a mat-vec thread owns,
// one q8 block of the activation) keeps its low 4 bits in ql byte 16 t + j % 16 (low nibble for
// j < 16, high nibble after) and its high 2 bits in qh byte 8 t + j % 8 at bit 2 (j / 8): a
// thread reads its 32 weights with one 16-byte and one 8-byte load, and the int32 words it
// loads line up with the q8 words of the activation. Scales (16 signed bytes, weight i uses
// i / 16) and d keep their GGUF order. Q4_0 blocks keep their GGUF quant bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/dtype.h"

#if defined(__CUDACC__) || defined(__HIPCC__)
#define HEARTH_HD __host__ __device__
#else
#define HEARTH_HD
#endif

namespace hearth::cuda {

// Weights that prepareWeights rewrote into the planar layouts travel through the launchers of
// kernels.h as types of their own: tags outside the GGUF ids, never stored in a file nor seen
// outside this backend. fileType() gives the GGUF type (same block and row sizes).
inline constexpr DType kQ4_0Planar = static_cast<DType>(0x100u | static_cast<uint32_t>(DType::Q4_0));
inline constexpr DType kQ6_KPlanar = static_cast<DType>(0x100u | static_cast<uint32_t>(DType::Q6_K));
constexpr bool isPlanar(DType t) { return t == kQ4_0Planar || t == kQ6_KPlanar; }
constexpr DType fileType(DType t) {
    return isPlanar(t) ? static_cast<DType>(static_cast<uint32_t>(t) & 0xFFu) : t;
}
constexpr DType planarType(DType t) {
    return t == DType::Q4_0 ? kQ4_0Planar : t == DType::Q6_K ? kQ6_KPlanar : t;
}
// Kernel templates take their type as this integer: nvcc's host stubs cannot spell a DType
// template argument that is not one of its enumerators (the planar tags).
constexpr uint32_t kernelType(DType t) { return static_cast<uint32_t>(t); }
// Bytes of a row of k weights of a (possibly planar) type; k is a whole number of blocks.
inline size_t weightRowBytes(DType t, int64_t k) {
    return static_cast<size_t>(dtypeRowBytes(fileType(t), static_cast<uint64_t>(k)).value_or(0));
}

namespace repack {

inline constexpr int64_t kAlign = 16;

// Whether rows of k weights of this type are rewritten (given a 16-byte aligned tensor start).
constexpr bool repackable(DType type, int64_t k) {
    if (type != DType::Q6_K && type != DType::Q4_0) return false;
    auto bytes = dtypeRowBytes(type, static_cast<uint64_t>(k < 0 ? 0 : k));
    return bytes && *bytes > 0 && *bytes % kAlign == 0;
}

// ---- plane offsets inside one row of nb blocks ----
HEARTH_HD constexpr int64_t q6kQl(int64_t b) { return 128 * b; }
HEARTH_HD constexpr int64_t q6kQh(int64_t nb, int64_t b) { return 128 * nb + 64 * b; }
HEARTH_HD constexpr int64_t q6kScales(int64_t nb, int64_t b) { return 192 * nb + 16 * b; }
HEARTH_HD constexpr int64_t q6kD(int64_t nb, int64_t b) { return 208 * nb + 2 * b; }
HEARTH_HD constexpr int64_t q40Qs(int64_t b) { return 16 * b; }
HEARTH_HD constexpr int64_t q40D(int64_t nb, int64_t b) { return 16 * nb + 2 * b; }

// Where the 6-bit quant of weight i (0..255) of a Q6_K block lives: its low 4 bits at
// (lowByte, lowShift), its high 2 bits at (highByte, highShift).
struct QuantBits {
    int lowByte, lowShift, highByte, highShift;
};
// In the GGUF block (ql at byte 0, qh at byte 128): halves of 128, each 4 quarters of 32.
HEARTH_HD constexpr QuantBits q6kGgufBits(int i) {
    int h = i / 128, quarter = (i % 128) / 32, l = i % 32;
    return {64 * h + 32 * (quarter % 2) + l, 4 * (quarter / 2), 128 + 32 * h + l, 2 * quarter};
}
// In the planar block: lowByte counts from the block's ql (128 bytes), highByte from its qh (64).
HEARTH_HD constexpr QuantBits q6kPlanarBits(int i) {
    int t = i / 32, j = i % 32;
    return {16 * t + j % 16, 4 * (j / 16), 8 * t + j % 8, 2 * (j / 8)};
}

// What the device readers compute from their loads (and the unit test checks): the four 6-bit
// quants, one a byte, of weights 4j .. 4j + 3 (j = 0..7) of a planar Q6_K 32-weight group, from
// word j % 4 of its 16 ql bytes and word j % 2 of its 8 qh bytes.
HEARTH_HD constexpr uint32_t q6kQuad(uint32_t qlWord, uint32_t qhWord, int j) {
    return ((qlWord >> (4 * (j / 4))) & 0x0F0F0F0Fu) | (((qhWord >> (2 * (j / 2))) & 0x03030303u) << 4);
}

// The 6-bit quant (0..63) of weight i of a GGUF Q6_K block.
HEARTH_HD inline int q6kGgufQuant(const uint8_t* src, int i) {
    QuantBits g = q6kGgufBits(i);
    return ((src[g.lowByte] >> g.lowShift) & 0xF) | (((src[g.highByte] >> g.highShift) & 3) << 4);
}

// Block b of a row: GGUF block `src` (210 bytes) -> its planes in `row` (a planar row of nb
// blocks). Every destination byte is written once, whole, so blocks can be repacked by
// independent threads.
HEARTH_HD inline void packQ6K(const uint8_t* src, uint8_t* row, int64_t nb, int64_t b) {
    uint8_t* ql = row + q6kQl(b);
    for (int byte = 0; byte < 128; ++byte) {
        int i = 32 * (byte / 16) + byte % 16;  // the low nibble's weight; the high nibble's is i + 16
        ql[byte] = static_cast<uint8_t>((q6kGgufQuant(src, i) & 0xF) | ((q6kGgufQuant(src, i + 16) & 0xF) << 4));
    }
    uint8_t* qh = row + q6kQh(nb, b);
    for (int byte = 0; byte < 64; ++byte) {
        int v = 0;
        for (int s = 0; s < 4; ++s) v |= (q6kGgufQuant(src, 32 * (byte / 8) + byte % 8 + 8 * s) >> 4) << (2 * s);
        qh[byte] = static_cast<uint8_t>(v);
    }
    for (int s = 0; s < 16; ++s) row[q6kScales(nb, b) + s] = src[192 + s];
    for (int s = 0; s < 2; ++s) row[q6kD(nb, b) + s] = src[208 + s];
}

// The 6-bit quant (0..63) of weight i of block b in a planar Q6_K row.
HEARTH_HD inline int q6kPlanarQuant(const uint8_t* row, int64_t nb, int64_t b, int i) {
    QuantBits p = q6kPlanarBits(i);
    return ((row[q6kQl(b) + p.lowByte] >> p.lowShift) & 0xF) |
           (((row[q6kQh(nb, b) + p.highByte] >> p.highShift) & 3) << 4);
}

// The inverse of packQ6K: block b of a planar row back to its 210 GGUF bytes.
HEARTH_HD inline void unpackQ6K(const uint8_t* row, int64_t nb, int64_t b, uint8_t* dst) {
    for (int byte = 0; byte < 192; ++byte) dst[byte] = 0;
    for (int i = 0; i < 256; ++i) {
        int q = q6kPlanarQuant(row, nb, b, i);
        QuantBits g = q6kGgufBits(i);
        dst[g.lowByte] = static_cast<uint8_t>(dst[g.lowByte] | ((q & 0xF) << g.lowShift));
        dst[g.highByte] = static_cast<uint8_t>(dst[g.highByte] | ((q >> 4) << g.highShift));
    }
    for (int s = 0; s < 16; ++s) dst[192 + s] = row[q6kScales(nb, b) + s];
    for (int s = 0; s < 2; ++s) dst[208 + s] = row[q6kD(nb, b) + s];
}

HEARTH_HD inline void packQ40(const uint8_t* src, uint8_t* row, int64_t nb, int64_t b) {
    for (int s = 0; s < 16; ++s) row[q40Qs(b) + s] = src[2 + s];
    for (int s = 0; s < 2; ++s) row[q40D(nb, b) + s] = src[s];
}

HEARTH_HD inline void unpackQ40(const uint8_t* row, int64_t nb, int64_t b, uint8_t* dst) {
    for (int s = 0; s < 16; ++s) dst[2 + s] = row[q40Qs(b) + s];
    for (int s = 0; s < 2; ++s) dst[s] = row[q40D(nb, b) + s];
}

}  // namespace repack
}  // namespace hearth::cuda
