// Element types of tensors, with the GGUF/ggml type ids and the byte layout of every quantized
// block. Shared by the file formats (to size tensors), the quantizer (to fill blocks) and the
// backends (to read them). Layouts follow the GGUF specification; a block is `blockSize` weights
// stored in `typeSize` bytes. Header-only, no dependencies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace hearth {

// The numeric values are the ggml_type ids stored in GGUF tensor infos: never renumber.
enum class DType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
    IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

struct DTypeTraits {
    std::string_view name;  // lowercase, as users write it: "q4_k", "f16"
    uint32_t blockSize;     // elements per block (1 for plain types)
    uint32_t typeSize;      // bytes per block
    bool quantized;
};

// Returns nullopt for ids that are not (or no longer) valid ggml types: 4, 5, 31-33, 36-38, >39.
constexpr std::optional<DTypeTraits> dtypeTraits(DType t) {
    switch (t) {
        case DType::F32: return DTypeTraits{"f32", 1, 4, false};
        case DType::F16: return DTypeTraits{"f16", 1, 2, false};
        case DType::BF16: return DTypeTraits{"bf16", 1, 2, false};
        case DType::F64: return DTypeTraits{"f64", 1, 8, false};
        case DType::I8: return DTypeTraits{"i8", 1, 1, false};
        case DType::I16: return DTypeTraits{"i16", 1, 2, false};
        case DType::I32: return DTypeTraits{"i32", 1, 4, false};
        case DType::I64: return DTypeTraits{"i64", 1, 8, false};
        case DType::Q4_0: return DTypeTraits{"q4_0", 32, 18, true};
        case DType::Q4_1: return DTypeTraits{"q4_1", 32, 20, true};
        case DType::Q5_0: return DTypeTraits{"q5_0", 32, 22, true};
        case DType::Q5_1: return DTypeTraits{"q5_1", 32, 24, true};
        case DType::Q8_0: return DTypeTraits{"q8_0", 32, 34, true};
        case DType::Q8_1: return DTypeTraits{"q8_1", 32, 36, true};
        case DType::Q2_K: return DTypeTraits{"q2_k", 256, 84, true};
        case DType::Q3_K: return DTypeTraits{"q3_k", 256, 110, true};
        case DType::Q4_K: return DTypeTraits{"q4_k", 256, 144, true};
        case DType::Q5_K: return DTypeTraits{"q5_k", 256, 176, true};
        case DType::Q6_K: return DTypeTraits{"q6_k", 256, 210, true};
        case DType::Q8_K: return DTypeTraits{"q8_k", 256, 292, true};
        case DType::IQ2_XXS: return DTypeTraits{"iq2_xxs", 256, 66, true};
        case DType::IQ2_XS: return DTypeTraits{"iq2_xs", 256, 74, true};
        case DType::IQ3_XXS: return DTypeTraits{"iq3_xxs", 256, 98, true};
        case DType::IQ1_S: return DTypeTraits{"iq1_s", 256, 50, true};
        case DType::IQ4_NL: return DTypeTraits{"iq4_nl", 32, 18, true};
        case DType::IQ3_S: return DTypeTraits{"iq3_s", 256, 110, true};
        case DType::IQ2_S: return DTypeTraits{"iq2_s", 256, 82, true};
        case DType::IQ4_XS: return DTypeTraits{"iq4_xs", 256, 136, true};
        case DType::IQ1_M: return DTypeTraits{"iq1_m", 256, 56, true};
        case DType::TQ1_0: return DTypeTraits{"tq1_0", 256, 54, true};
        case DType::TQ2_0: return DTypeTraits{"tq2_0", 256, 66, true};
        case DType::MXFP4: return DTypeTraits{"mxfp4", 32, 17, true};
    }
    return std::nullopt;
}

constexpr std::string_view dtypeName(DType t) {
    auto tr = dtypeTraits(t);
    return tr ? tr->name : std::string_view("unknown");
}

// Parses a lowercase or uppercase type name ("Q4_K", "f16").
inline std::optional<DType> dtypeFromName(std::string_view name) {
    for (uint32_t id = 0; id < 64; ++id) {
        auto tr = dtypeTraits(static_cast<DType>(id));
        if (!tr || tr->name.size() != name.size()) continue;
        bool same = true;
        for (size_t i = 0; i < name.size() && same; ++i) {
            char c = name[i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            same = c == tr->name[i];
        }
        if (same) return static_cast<DType>(id);
    }
    return std::nullopt;
}

// Bytes needed for one row of `n` elements; nullopt if `n` is not a whole number of blocks.
constexpr std::optional<uint64_t> dtypeRowBytes(DType t, uint64_t n) {
    auto tr = dtypeTraits(t);
    if (!tr || n % tr->blockSize != 0) return std::nullopt;
    return n / tr->blockSize * tr->typeSize;
}

// ---- IEEE half and bfloat16 ------------------------------------------------------------------

using f16_t = uint16_t;   // IEEE 754 binary16 bits
using bf16_t = uint16_t;  // bfloat16 bits

inline float f16ToF32(f16_t h) {
    uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400u) == 0) { mant <<= 1; --exp; }
            mant &= 0x3ffu;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// Round to nearest even, as the hardware conversions do.
inline f16_t f32ToF16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u) return static_cast<f16_t>(sign | 0x7e00u);  // NaN
    if (absx >= 0x477ff000u) return static_cast<f16_t>(sign | 0x7c00u);  // overflow -> inf
    if (absx < 0x38800000u) {  // subnormal or zero in half
        if (absx < 0x33000000u) return static_cast<f16_t>(sign);
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e;  // value / 2^-24 == m >> shift, with m holding the implicit bit
        uint32_t half = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u))) ++half;
        return static_cast<f16_t>(sign | half);
    }
    uint32_t h = ((absx - 0x38000000u) >> 13);
    uint32_t rem = absx & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
    return static_cast<f16_t>(sign | h);
}

inline float bf16ToF32(bf16_t b) {
    uint32_t bits = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline bf16_t f32ToBf16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<bf16_t>((x >> 16) | 0x40u);  // quiet NaN
    x += 0x7fffu + ((x >> 16) & 1u);
    return static_cast<bf16_t>(x >> 16);
}

// ---- Quantized blocks (GGUF layouts) ---------------------------------------------------------
// Each weight is d * q (and + m for the "_1" and K types with mins).

inline constexpr int kQK = 32;    // block size of the legacy quants
inline constexpr int kQKK = 256;  // super-block size of the K-quants
inline constexpr int kKScaleBytes = 12;

#pragma pack(push, 1)
struct BlockQ4_0 { f16_t d; uint8_t qs[kQK / 2]; };                      // q in [0,15], w = d*(q-8)
struct BlockQ4_1 { f16_t d; f16_t m; uint8_t qs[kQK / 2]; };             // w = d*q + m
struct BlockQ5_0 { f16_t d; uint8_t qh[4]; uint8_t qs[kQK / 2]; };       // 5th bits in qh, w = d*(q-16)
struct BlockQ5_1 { f16_t d; f16_t m; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
struct BlockQ8_0 { f16_t d; int8_t qs[kQK]; };                           // w = d*q
struct BlockQ8_1 { f16_t d; f16_t s; int8_t qs[kQK]; };                  // s = d * sum(qs)
struct BlockQ2_K { uint8_t scales[kQKK / 16]; uint8_t qs[kQKK / 4]; f16_t d; f16_t dmin; };
struct BlockQ3_K { uint8_t hmask[kQKK / 8]; uint8_t qs[kQKK / 4]; uint8_t scales[12]; f16_t d; };
// 8 sub-blocks of 32; 6-bit scales and mins packed in `scales`.
struct BlockQ4_K { f16_t d; f16_t dmin; uint8_t scales[kKScaleBytes]; uint8_t qs[kQKK / 2]; };
struct BlockQ5_K { f16_t d; f16_t dmin; uint8_t scales[kKScaleBytes]; uint8_t qh[kQKK / 8]; uint8_t qs[kQKK / 2]; };
// 16 sub-blocks of 16; 8-bit signed scales; w = d * scale * (q - 32).
struct BlockQ6_K { uint8_t ql[kQKK / 2]; uint8_t qh[kQKK / 4]; int8_t scales[kQKK / 16]; f16_t d; };
struct BlockQ8_K { float d; int8_t qs[kQKK]; int16_t bsums[kQKK / 16]; };  // activations for K dots
#pragma pack(pop)

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);

// Unpacks the j-th (0..7) 6-bit scale and min of a Q4_K/Q5_K block.
inline void kQuantScaleMin(int j, const uint8_t* q, uint8_t& scale, uint8_t& min) {
    if (j < 4) {
        scale = q[j] & 63;
        min = q[j + 4] & 63;
    } else {
        scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

}  // namespace hearth
