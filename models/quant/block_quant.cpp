// The legacy 32-weight block formats with the specification's reference rounding, plus the plain
// float conversions; the K-quants live in k_quants.cpp.
#include "models/quant/block_quant.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "models/quant/k_quants.h"

namespace hearth::quant {
namespace {

// f16 -> f32 through a 64 Ki-entry table: converting F16 checkpoints is a large part of the work.
const float* f16Table() {
    static const std::vector<float> table = [] {
        std::vector<float> t(65536);
        for (uint32_t i = 0; i < 65536; ++i) t[i] = f16ToF32(static_cast<f16_t>(i));
        return t;
    }();
    return table.data();
}

// Largest-magnitude value, keeping its sign (the first one on ties).
float signedAbsMax(const float* x, int n) {
    float amax = 0, max = 0;
    for (int j = 0; j < n; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

void quantizeQ8_0(const float* x, BlockQ8_0* y, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQK) {
        float amax = 0;
        for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
        float d = amax / 127;
        float id = d != 0.f ? 1.0f / d : 0.0f;
        y[b].d = f32ToF16(d);
        for (int j = 0; j < kQK; ++j) y[b].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
    }
}

void quantizeQ4_0(const float* x, BlockQ4_0* y, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQK) {
        float d = signedAbsMax(x, kQK) / -8;
        float id = d != 0.f ? 1.0f / d : 0.0f;
        y[b].d = f32ToF16(d);
        for (int j = 0; j < kQK / 2; ++j) {
            float x0 = x[j] * id, x1 = x[kQK / 2 + j] * id;
            int q0 = std::min(15, static_cast<int>(x0 + 8.5f));
            int q1 = std::min(15, static_cast<int>(x1 + 8.5f));
            y[b].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
    }
}

void quantizeQ4_1(const float* x, BlockQ4_1* y, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b, x += kQK) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < kQK; ++j) {
            min = std::min(min, x[j]);
            max = std::max(max, x[j]);
        }
        float d = (max - min) / 15;
        float id = d != 0.f ? 1.0f / d : 0.0f;
        y[b].d = f32ToF16(d);
        y[b].m = f32ToF16(min);
        for (int j = 0; j < kQK / 2; ++j) {
            float x0 = (x[j] - min) * id, x1 = (x[kQK / 2 + j] - min) * id;
            int q0 = std::min(15, static_cast<int>(x0 + 0.5f));
            int q1 = std::min(15, static_cast<int>(x1 + 0.5f));
            y[b].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
    }
}

// Low nibbles of the 5-bit values go to qs, the fifth bits to the 32-bit mask qh.
void packQ5(const int* q, uint8_t* qs, uint8_t* qhOut) {
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
        int q0 = q[j], q1 = q[kQK / 2 + j];
        qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
        qh |= static_cast<uint32_t>((q0 & 0x10) >> 4) << j;
        qh |= static_cast<uint32_t>((q1 & 0x10) >> 4) << (j + kQK / 2);
    }
    std::memcpy(qhOut, &qh, 4);
}

void quantizeQ5_0(const float* x, BlockQ5_0* y, int64_t blocks) {
    int q[kQK];
    for (int64_t b = 0; b < blocks; ++b, x += kQK) {
        float d = signedAbsMax(x, kQK) / -16;
        float id = d != 0.f ? 1.0f / d : 0.0f;
        y[b].d = f32ToF16(d);
        for (int j = 0; j < kQK; ++j) q[j] = std::min(31, static_cast<int>(x[j] * id + 16.5f));
        packQ5(q, y[b].qs, y[b].qh);
    }
}

void quantizeQ5_1(const float* x, BlockQ5_1* y, int64_t blocks) {
    int q[kQK];
    for (int64_t b = 0; b < blocks; ++b, x += kQK) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < kQK; ++j) {
            min = std::min(min, x[j]);
            max = std::max(max, x[j]);
        }
        float d = (max - min) / 31;
        float id = d != 0.f ? 1.0f / d : 0.0f;
        y[b].d = f32ToF16(d);
        y[b].m = f32ToF16(min);
        for (int j = 0; j < kQK; ++j) q[j] = static_cast<int>((x[j] - min) * id + 0.5f);
        packQ5(q, y[b].qs, y[b].qh);
    }
}

template <typename Block, typename Fn>
void dequantLegacy(const void* src, float* y, int64_t blocks, Fn value) {
    const auto* x = static_cast<const Block*>(src);
    for (int64_t b = 0; b < blocks; ++b, y += kQK)
        for (int j = 0; j < kQK; ++j) y[j] = value(x[b], j);
}

int nibble(const uint8_t* qs, int j) {
    return j < kQK / 2 ? (qs[j] & 0x0F) : (qs[j - kQK / 2] >> 4);
}

int fifthBit(const uint8_t* qh, int j) {
    uint32_t bits;
    std::memcpy(&bits, qh, 4);
    return static_cast<int>((bits >> j) & 1u) << 4;
}

}  // namespace

bool canQuantizeTo(DType type) {
    switch (type) {
        case DType::F32: case DType::F16: case DType::BF16: case DType::Q8_0: case DType::Q4_0:
        case DType::Q4_1: case DType::Q5_0: case DType::Q5_1: case DType::Q4_K: case DType::Q5_K:
        case DType::Q6_K:
            return true;
        default:
            return false;
    }
}

bool canDequantize(DType type) { return canQuantizeTo(type); }

bool rowIsFinite(const float* x, int64_t n) {
    // Summing x*0 is NaN exactly when some x is NaN or infinite, and vectorises well.
    float acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += x[i] * 0.0f;
    return acc == 0.0f;
}

void widenRow(DType type, const void* src, float* y, int64_t n) {
    switch (type) {
        case DType::F32:
            std::memcpy(y, src, static_cast<size_t>(n) * 4);
            return;
        // Safetensors data need not be 2-byte aligned (the header length is free): load bytewise.
        case DType::F16: {
            const float* table = f16Table();
            const auto* b = static_cast<const uint8_t*>(src);
            for (int64_t i = 0; i < n; ++i) {
                f16_t h;
                std::memcpy(&h, b + 2 * i, 2);
                y[i] = table[h];
            }
            return;
        }
        case DType::BF16: {
            const auto* b = static_cast<const uint8_t*>(src);
            for (int64_t i = 0; i < n; ++i) {
                bf16_t h;
                std::memcpy(&h, b + 2 * i, 2);
                y[i] = bf16ToF32(h);
            }
            return;
        }
        default:
            dequantizeRow(type, src, y, n);
    }
}

void quantizeRow(DType type, const float* x, void* dst, int64_t n) {
    const int64_t legacy = n / kQK, kblocks = n / kQKK;
    switch (type) {
        case DType::F32:
            std::memcpy(dst, x, static_cast<size_t>(n) * 4);
            return;
        case DType::F16: {
            auto* h = static_cast<f16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = f32ToF16(x[i]);
            return;
        }
        case DType::BF16: {
            auto* h = static_cast<bf16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = f32ToBf16(x[i]);
            return;
        }
        case DType::Q8_0: return quantizeQ8_0(x, static_cast<BlockQ8_0*>(dst), legacy);
        case DType::Q4_0: return quantizeQ4_0(x, static_cast<BlockQ4_0*>(dst), legacy);
        case DType::Q4_1: return quantizeQ4_1(x, static_cast<BlockQ4_1*>(dst), legacy);
        case DType::Q5_0: return quantizeQ5_0(x, static_cast<BlockQ5_0*>(dst), legacy);
        case DType::Q5_1: return quantizeQ5_1(x, static_cast<BlockQ5_1*>(dst), legacy);
        case DType::Q4_K: return quantizeBlocksQ4K(x, static_cast<BlockQ4_K*>(dst), kblocks);
        case DType::Q5_K: return quantizeBlocksQ5K(x, static_cast<BlockQ5_K*>(dst), kblocks);
        case DType::Q6_K: return quantizeBlocksQ6K(x, static_cast<BlockQ6_K*>(dst), kblocks);
        default:
            break;
    }
}

void dequantizeRow(DType type, const void* src, float* y, int64_t n) {
    const int64_t legacy = n / kQK, kblocks = n / kQKK;
    switch (type) {
        case DType::F32: case DType::F16: case DType::BF16:
            return widenRow(type, src, y, n);
        case DType::Q8_0:
            return dequantLegacy<BlockQ8_0>(src, y, legacy, [](const BlockQ8_0& b, int j) {
                return f16ToF32(b.d) * b.qs[j];
            });
        case DType::Q4_0:
            return dequantLegacy<BlockQ4_0>(src, y, legacy, [](const BlockQ4_0& b, int j) {
                return f16ToF32(b.d) * (nibble(b.qs, j) - 8);
            });
        case DType::Q4_1:
            return dequantLegacy<BlockQ4_1>(src, y, legacy, [](const BlockQ4_1& b, int j) {
                return f16ToF32(b.d) * nibble(b.qs, j) + f16ToF32(b.m);
            });
        case DType::Q5_0:
            return dequantLegacy<BlockQ5_0>(src, y, legacy, [](const BlockQ5_0& b, int j) {
                return f16ToF32(b.d) * ((nibble(b.qs, j) | fifthBit(b.qh, j)) - 16);
            });
        case DType::Q5_1:
            return dequantLegacy<BlockQ5_1>(src, y, legacy, [](const BlockQ5_1& b, int j) {
                return f16ToF32(b.d) * (nibble(b.qs, j) | fifthBit(b.qh, j)) + f16ToF32(b.m);
            });
        case DType::Q4_K: return dequantizeBlocksQ4K(static_cast<const BlockQ4_K*>(src), y, kblocks);
        case DType::Q5_K: return dequantizeBlocksQ5K(static_cast<const BlockQ5_K*>(src), y, kblocks);
        case DType::Q6_K: return dequantizeBlocksQ6K(static_cast<const BlockQ6_K*>(src), y, kblocks);
        default:
            break;
    }
}

}  // namespace hearth::quant
