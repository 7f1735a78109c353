// Plain C++ kernels: the fallback on any CPU, the activation quantizers and the dequantizers.
// Written for clarity; the SIMD tables replace the hot ones.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__)
#include "backends/cpu/quantize_avx512.h"
#endif

#include "backends/cpu/kernels.h"

namespace hearth::cpu {

namespace {

// ---- unpacking weight blocks into integers -------------------------------------------------
// Every 32-element type is w[i] = d * q[i] + off, so dot(w, x) = d * da * sum(q * qa) + off * s.

// The quants are kept as int8 so that the dot loops below vectorize (NEON on ARM, SSE2 at worst).
struct Unpacked32 {
    int8_t q[kQK];
    float d;
    float off;
};

void unpack(const BlockQ4_0& b, Unpacked32& u) {
    for (int j = 0; j < kQK / 2; ++j) {
        u.q[j] = static_cast<int8_t>(b.qs[j] & 0xF);
        u.q[j + kQK / 2] = static_cast<int8_t>(b.qs[j] >> 4);
    }
    u.d = f16ToF32(b.d);
    u.off = -8.0f * u.d;
}

void unpack(const BlockQ4_1& b, Unpacked32& u) {
    for (int j = 0; j < kQK / 2; ++j) {
        u.q[j] = static_cast<int8_t>(b.qs[j] & 0xF);
        u.q[j + kQK / 2] = static_cast<int8_t>(b.qs[j] >> 4);
    }
    u.d = f16ToF32(b.d);
    u.off = f16ToF32(b.m);
}

void unpack(const BlockQ5_0& b, Unpacked32& u) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    for (int j = 0; j < kQK / 2; ++j) {
        u.q[j] = static_cast<int8_t>((b.qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4));
        u.q[j + kQK / 2] = static_cast<int8_t>((b.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4));
    }
    u.d = f16ToF32(b.d);
    u.off = -16.0f * u.d;
}

void unpack(const BlockQ8_0& b, Unpacked32& u) {
    for (int j = 0; j < kQK; ++j) u.q[j] = b.qs[j];
    u.d = f16ToF32(b.d);
    u.off = 0.0f;
}

template <class Block>
void dot32(int64_t k, const void* weight, const void* act, size_t stride, int cols, float* out) {
    const auto* w = static_cast<const Block*>(weight);
    const int64_t nb = k / kQK;
    for (int c = 0; c < cols; ++c) out[c] = 0.0f;
    Unpacked32 u;
    for (int64_t ib = 0; ib < nb; ++ib) {
        unpack(w[ib], u);
        for (int c = 0; c < cols; ++c) {
            const auto* a = reinterpret_cast<const BlockQ8A*>(static_cast<const char*>(act) + c * stride) + ib;
            int sum = 0;
            for (int j = 0; j < kQK; ++j) sum += u.q[j] * a->qs[j];
            out[c] += u.d * a->d * static_cast<float>(sum) + u.off * a->s;
        }
    }
}

// K-quants: q[256] unsigned, with one scale (and min) per sub-block.
struct UnpackedK {
    int8_t q[kQKK];
    int scale[16];  // per sub-block of `sub` elements
    int min[16];
    int sub;        // 32 for Q4_K/Q5_K, 16 for Q6_K
    float d, dmin;  // w = d*scale*q - dmin*min   (Q6_K: w = d*scale*(q-32), dmin unused)
};

void unpack(const BlockQ4_K& b, UnpackedK& u) {
    for (int p = 0; p < 4; ++p)
        for (int l = 0; l < 32; ++l) {
            u.q[64 * p + l] = static_cast<int8_t>(b.qs[32 * p + l] & 0xF);
            u.q[64 * p + 32 + l] = static_cast<int8_t>(b.qs[32 * p + l] >> 4);
        }
    for (int j = 0; j < 8; ++j) {
        uint8_t s, m;
        kQuantScaleMin(j, b.scales, s, m);
        u.scale[j] = s;
        u.min[j] = m;
    }
    u.sub = 32;
    u.d = f16ToF32(b.d);
    u.dmin = f16ToF32(b.dmin);
}

void unpack(const BlockQ5_K& b, UnpackedK& u) {
    for (int p = 0; p < 4; ++p)
        for (int l = 0; l < 32; ++l) {
            u.q[64 * p + l] = static_cast<int8_t>((b.qs[32 * p + l] & 0xF) | (((b.qh[l] >> (2 * p)) & 1) << 4));
            u.q[64 * p + 32 + l] = static_cast<int8_t>((b.qs[32 * p + l] >> 4) | (((b.qh[l] >> (2 * p + 1)) & 1) << 4));
        }
    for (int j = 0; j < 8; ++j) {
        uint8_t s, m;
        kQuantScaleMin(j, b.scales, s, m);
        u.scale[j] = s;
        u.min[j] = m;
    }
    u.sub = 32;
    u.d = f16ToF32(b.d);
    u.dmin = f16ToF32(b.dmin);
}

void unpack(const BlockQ6_K& b, UnpackedK& u) {
    for (int h = 0; h < 2; ++h) {
        const uint8_t* ql = b.ql + 64 * h;
        const uint8_t* qh = b.qh + 32 * h;
        int8_t* q = u.q + 128 * h;
        for (int l = 0; l < 32; ++l) {
            q[l] = static_cast<int8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4));
            q[l + 32] = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
            q[l + 64] = static_cast<int8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
            q[l + 96] = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
        }
    }
    for (int s = 0; s < 16; ++s) {
        u.scale[s] = b.scales[s];
        u.min[s] = 32 * b.scales[s];  // w = d*scale*q - d*(32*scale)
    }
    u.sub = 16;
    u.d = f16ToF32(b.d);
    u.dmin = u.d;
}

template <class Block>
void dotK(int64_t k, const void* weight, const void* act, size_t stride, int cols, float* out) {
    const auto* w = static_cast<const Block*>(weight);
    const int64_t nb = k / kQKK;
    for (int c = 0; c < cols; ++c) out[c] = 0.0f;
    UnpackedK u;
    for (int64_t ib = 0; ib < nb; ++ib) {
        unpack(w[ib], u);
        constexpr int kSub = std::is_same_v<Block, BlockQ6_K> ? 16 : 32;  // fixed, so loops unroll
        constexpr int subs = kQKK / kSub;
        for (int c = 0; c < cols; ++c) {
            const auto* a = reinterpret_cast<const BlockQ8_K*>(static_cast<const char*>(act) + c * stride) + ib;
            int64_t scaled = 0, mins = 0;
            for (int s = 0; s < subs; ++s) {
                const int8_t* q = u.q + s * kSub;
                const int8_t* x = a->qs + s * kSub;
                int sum = 0;
                for (int j = 0; j < kSub; ++j) sum += q[j] * x[j];
                // The activation sums come with the block, per 16.
                constexpr int per16 = kSub / 16;
                int asum = 0;
                for (int i = 0; i < per16; ++i) asum += a->bsums[s * per16 + i];
                scaled += static_cast<int64_t>(u.scale[s]) * sum;
                mins += static_cast<int64_t>(u.min[s]) * asum;
            }
            out[c] += a->d * (u.d * static_cast<float>(scaled) - u.dmin * static_cast<float>(mins));
        }
    }
}

template <float (*Load)(const void*, int64_t)>
void dotFloat(int64_t k, const void* weight, const void* act, size_t stride, int cols, float* out) {
    for (int c = 0; c < cols; ++c) {
        const auto* x = reinterpret_cast<const float*>(static_cast<const char*>(act) + c * stride);
        float sum = 0.0f;
        for (int64_t i = 0; i < k; ++i) sum += Load(weight, i) * x[i];
        out[c] = sum;
    }
}

float loadF32(const void* p, int64_t i) { return static_cast<const float*>(p)[i]; }
float loadF16(const void* p, int64_t i) { return f16ToF32(static_cast<const f16_t*>(p)[i]); }
float loadBF16(const void* p, int64_t i) { return bf16ToF32(static_cast<const bf16_t*>(p)[i]); }

float dotF16(const uint16_t* a, const float* b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += f16ToF32(a[i]) * b[i];
    return s;
}

float dotF32(const float* a, const float* b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

void axpyF16(float a, const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * f16ToF32(x[i]);
}

void axpyF32(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void toF16(const float* x, uint16_t* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = f32ToF16(x[i]);
}

template <class Block>
void dequantize32(const void* src, float* dst, int64_t k) {
    const auto* b = static_cast<const Block*>(src);
    Unpacked32 u;
    for (int64_t ib = 0; ib < k / kQK; ++ib) {
        unpack(b[ib], u);
        for (int j = 0; j < kQK; ++j) dst[ib * kQK + j] = u.d * static_cast<float>(u.q[j]) + u.off;
    }
}

template <class Block>
void dequantizeK(const void* src, float* dst, int64_t k) {
    const auto* b = static_cast<const Block*>(src);
    UnpackedK u;
    for (int64_t ib = 0; ib < k / kQKK; ++ib) {
        unpack(b[ib], u);
        for (int j = 0; j < kQKK; ++j) {
            int s = j / u.sub;
            dst[ib * kQKK + j] = u.d * static_cast<float>(u.scale[s] * u.q[j]) - u.dmin * static_cast<float>(u.min[s]);
        }
    }
}

// Round to nearest, ties to even, for |v| <= 2^22: what std::nearbyint gives in the default
// rounding mode, but inline. nearbyint is a libm call here (this file is built for any x86-64),
// and quantizing the input of every decode mat-vec through it took longer than the mat-vec of a
// 512-row k/v projection.
inline int roundToInt(float v) {
    constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: adding it leaves the rounded value in the low mantissa bits
    return static_cast<int>((v + kMagic) - kMagic);
}

#if defined(__x86_64__)
// The AVX-512 quantizers (quantize_avx512.cpp) where the CPU has them: bit for bit the same.
bool hasQ8Avx512() {
    static const bool has = (__builtin_cpu_init(), __builtin_cpu_supports("avx512f") &&
                                                       __builtin_cpu_supports("avx512bw") &&
                                                       __builtin_cpu_supports("avx512dq"));
    return has;
}
#endif

void quantizeQ8A(const float* x, BlockQ8A* out, int64_t k) {
#if defined(__x86_64__)
    if (hasQ8Avx512()) return quantizeQ8AAvx512(x, out, k);
#endif
    for (int64_t ib = 0; ib < k / kQK; ++ib) {
        const float* v = x + ib * kQK;
        float amax = 0.0f;
        for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(v[j]));
        float d = amax / 127.0f;
        float id = d > 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < kQK; ++j) {
            int q = roundToInt(v[j] * id);
            out[ib].qs[j] = static_cast<int8_t>(std::clamp(q, -127, 127));
            sum += out[ib].qs[j];
        }
        out[ib].d = d;
        out[ib].s = d * static_cast<float>(sum);
    }
}

void quantizeQ8K(const float* x, BlockQ8_K* out, int64_t k) {
#if defined(__x86_64__)
    if (hasQ8Avx512()) return quantizeQ8KAvx512(x, out, k);
#endif
    for (int64_t ib = 0; ib < k / kQKK; ++ib) {
        const float* v = x + ib * kQKK;
        float amax = 0.0f;
        for (int j = 0; j < kQKK; ++j) amax = std::max(amax, std::fabs(v[j]));
        float d = amax / 127.0f;
        float id = d > 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < kQKK; ++j)
            out[ib].qs[j] = static_cast<int8_t>(std::clamp(roundToInt(v[j] * id), -127, 127));
        for (int s = 0; s < kQKK / 16; ++s) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += out[ib].qs[16 * s + j];
            out[ib].bsums[s] = static_cast<int16_t>(sum);
        }
        out[ib].d = d;
    }
}

// Q8A blocks regrouped (see ActFormat::Q8I in kernels.h).
void quantizeQ8I(const float* x, uint8_t* out, int64_t k) {
    const int64_t nb = k / kQK, groups = nb / kInterleaveGroup;
    BlockQ8A blocks[kInterleaveGroup];
    for (int64_t g = 0; g < groups; ++g) {
        quantizeQ8A(x + g * kInterleaveGroup * kQK, blocks, kInterleaveGroup * kQK);
        uint8_t* o = out + g * kInterleaveGroupBytes;
        auto* d = reinterpret_cast<float*>(o + 512);
        auto* s = reinterpret_cast<float*>(o + 576);
        for (int b = 0; b < kInterleaveGroup; ++b) {
            const int lane = interleavedLane(b);
            for (int t = 0; t < 4; ++t) {
                std::memcpy(o + 128 * t + 4 * lane, blocks[b].qs + 4 * t, 4);
                std::memcpy(o + 128 * t + 64 + 4 * lane, blocks[b].qs + 16 + 4 * t, 4);
            }
            d[lane] = blocks[b].d;
            s[lane] = blocks[b].s;
        }
    }
    quantizeQ8A(x + groups * kInterleaveGroup * kQK, reinterpret_cast<BlockQ8A*>(out + groups * kInterleaveGroupBytes),
                k - groups * kInterleaveGroup * kQK);
}

// Q8_K blocks regrouped for Q4_K (see ActFormat::Q8KI in kernels.h).
void quantizeQ8KI(const float* x, uint8_t* out, int64_t k) {
    const int64_t nb = k / kQKK, groups = nb / kKGroup;
    BlockQ8_K blocks[kKGroup];
    for (int64_t g = 0; g < groups; ++g) {
        quantizeQ8K(x + g * kKGroup * kQKK, blocks, kKGroup * kQKK);
        uint8_t* o = out + g * kKGroupBytes;
        float* d = reinterpret_cast<float*>(o + 512);
        float* sumLo = d + 16;
        float* sumHi = d + 32;
        for (int lane = 0; lane < 16; ++lane) {
            const KLane l = kLane(lane);
            const BlockQ8_K& b = blocks[l.sb];
            const int first = 64 * l.pair + 16 * l.half;
            for (int t = 0; t < 4; ++t) {
                std::memcpy(o + 128 * t + 4 * lane, b.qs + first + 4 * t, 4);
                std::memcpy(o + 128 * t + 64 + 4 * lane, b.qs + first + 32 + 4 * t, 4);
            }
            d[lane] = b.d;
            sumLo[lane] = b.d * static_cast<float>(b.bsums[first / 16]);
            sumHi[lane] = b.d * static_cast<float>(b.bsums[first / 16 + 2]);
        }
    }
    quantizeQ8K(x + groups * kKGroup * kQKK, reinterpret_cast<BlockQ8_K*>(out + groups * kKGroupBytes),
                k - groups * kKGroup * kQKK);
}

// Q8_K blocks regrouped for Q6_K (see ActFormat::Q8K6I in kernels.h).
void quantizeQ8K6I(const float* x, uint8_t* out, int64_t k) {
    const int64_t nb = k / kQKK, groups = nb / kK6Group;
    BlockQ8_K blocks[kK6Group];
    for (int64_t g = 0; g < groups; ++g) {
        quantizeQ8K(x + g * kK6Group * kQKK, blocks, kK6Group * kQKK);
        uint8_t* o = out + g * kK6GroupBytes;
        float* d = reinterpret_cast<float*>(o + 512);
        int32_t* corrLo = reinterpret_cast<int32_t*>(o + 576);
        int32_t* corrHi = reinterpret_cast<int32_t*>(o + 640);
        for (int lane = 0; lane < 16; ++lane) {
            const K6Lane l = k6Lane(lane);
            const BlockQ8_K& b = blocks[l.sb];
            for (int t = 0; t < 4; ++t) {
                std::memcpy(o + 128 * t + 4 * lane, b.qs + l.firstLo + 4 * t, 4);
                std::memcpy(o + 128 * t + 64 + 4 * lane, b.qs + l.firstLo + 64 + 4 * t, 4);
            }
            d[lane] = b.d;
            corrLo[lane] = 32 * b.bsums[l.subLo];
            corrHi[lane] = 32 * b.bsums[l.subLo + 4];
        }
    }
    quantizeQ8K(x + groups * kK6Group * kQKK, reinterpret_cast<BlockQ8_K*>(out + groups * kK6GroupBytes),
                k - groups * kK6Group * kQKK);
}

// The whole groups of Q8N4: Q8A blocks in the weights' block order, with the Q4_0 offset per lane.
void quantizeQ8N4Groups(const float* x, uint8_t* out, int64_t k) {
    BlockQ8A blocks[kDecodeGroup];
    for (int64_t g = 0; g < k / (kQK * kDecodeGroup); ++g) {
        quantizeQ8A(x + g * kDecodeGroup * kQK, blocks, kDecodeGroup * kQK);
        uint8_t* o = out + g * kDecodeGroupBytes;
        auto* offset = reinterpret_cast<int32_t*>(o + 128);
        auto* d = reinterpret_cast<float*>(o + 144);
        for (int b = 0; b < kDecodeGroup; ++b) {
            int sum = 0;
            for (int lane = 0; lane < 4; ++lane) {
                std::memcpy(o + 16 * lane + 4 * b, blocks[b].qs + 4 * lane, 4);
                std::memcpy(o + 64 + 16 * lane + 4 * b, blocks[b].qs + 16 + 4 * lane, 4);
            }
            for (int j = 0; j < kQK; ++j) sum += blocks[b].qs[j];
            offset[b] = -8 * sum;
            d[b] = blocks[b].d;
        }
        std::memset(o + 160, 0, kDecodeGroupBytes - 160);
    }
}

// See ActFormat::Q8N4.
void quantizeQ8N4(const float* x, uint8_t* out, int64_t k) {
    auto groups = quantizeQ8N4Groups;
#if defined(__x86_64__)
    // The rearranging was ~60 % of the plain version's time (2,048 elements: ~2,400 cycles).
    if (hasQ8Avx512()) groups = quantizeQ8N4GroupsAvx512;
#endif
    groups(x, out, k);
    const int64_t whole = k / kQK / kDecodeGroup;
    quantizeQ8A(x + whole * kDecodeGroup * kQK, reinterpret_cast<BlockQ8A*>(out + whole * kDecodeGroupBytes),
                k - whole * kDecodeGroup * kQK);
}

// Q8_K blocks in the order of Q4_K's quant bytes (see ActFormat::Q8KN).
void quantizeQ8KN(const float* x, uint8_t* out, int64_t k) {
    for (int64_t ib = 0; ib < k / kQKK; ++ib) {
        BlockQ8_K b;
        quantizeQ8K(x + ib * kQKK, &b, kQKK);
        uint8_t* o = out + ib * kKDecodeBytes;
        for (int p = 0; p < 2; ++p)
            for (int h = 0; h < 2; ++h) {
                std::memcpy(o + 128 * p + 64 * h, b.qs + 128 * p + 32 * h, 32);
                std::memcpy(o + 128 * p + 64 * h + 32, b.qs + 128 * p + 64 + 32 * h, 32);
            }
        int16_t sums[8];
        for (int j = 0; j < 8; ++j) sums[j] = static_cast<int16_t>(b.bsums[2 * j] + b.bsums[2 * j + 1]);
        std::memcpy(o + 256, sums, sizeof(sums));
        std::memcpy(o + 272, &b.d, sizeof(float));
        std::memset(o + 276, 0, kKDecodeBytes - 276);
    }
}

}  // namespace

bool isSupportedWeightType(DType type) {
    switch (type) {
        case DType::F32: case DType::F16: case DType::BF16: case DType::Q8_0: case DType::Q4_0:
        case DType::Q4_1: case DType::Q5_0: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
            return true;
        default:
            return false;
    }
}

ActFormat activationFormat(DType weightType) {
    switch (weightType) {
        case DType::Q8_0: case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: return ActFormat::Q8A;
        case DType::Q4_K: case DType::Q5_K: case DType::Q6_K: return ActFormat::Q8K;
        default: return ActFormat::F32;
    }
}

size_t activationRowBytes(ActFormat format, int64_t k) {
    switch (format) {
        case ActFormat::Q8A: case ActFormat::Q8I: return static_cast<size_t>(k / kQK) * sizeof(BlockQ8A);
        case ActFormat::Q8K: return static_cast<size_t>(k / kQKK) * sizeof(BlockQ8_K);
        case ActFormat::Q8KI: {
            const int64_t nb = k / kQKK, groups = nb / kKGroup;
            return static_cast<size_t>(groups) * kKGroupBytes + static_cast<size_t>(nb - groups * kKGroup) * sizeof(BlockQ8_K);
        }
        case ActFormat::Q8K6I: {
            const int64_t nb = k / kQKK, groups = nb / kK6Group;
            return static_cast<size_t>(groups) * kK6GroupBytes + static_cast<size_t>(nb - groups * kK6Group) * sizeof(BlockQ8_K);
        }
        case ActFormat::Q8N4: {
            const int64_t nb = k / kQK, groups = nb / kDecodeGroup;
            return static_cast<size_t>(groups) * kDecodeGroupBytes + static_cast<size_t>(nb - groups * kDecodeGroup) * sizeof(BlockQ8A);
        }
        case ActFormat::Q8KN: return static_cast<size_t>(k / kQKK) * kKDecodeBytes;
        case ActFormat::F32: break;
    }
    return static_cast<size_t>(k) * sizeof(float);
}

void quantizeActivation(ActFormat format, const float* x, void* out, int64_t k) {
    switch (format) {
        case ActFormat::Q8A: quantizeQ8A(x, static_cast<BlockQ8A*>(out), k); break;
        case ActFormat::Q8K: quantizeQ8K(x, static_cast<BlockQ8_K*>(out), k); break;
        case ActFormat::Q8I: quantizeQ8I(x, static_cast<uint8_t*>(out), k); break;
        case ActFormat::Q8KI: quantizeQ8KI(x, static_cast<uint8_t*>(out), k); break;
        case ActFormat::Q8K6I: quantizeQ8K6I(x, static_cast<uint8_t*>(out), k); break;
        case ActFormat::Q8N4: quantizeQ8N4(x, static_cast<uint8_t*>(out), k); break;
        case ActFormat::Q8KN: quantizeQ8KN(x, static_cast<uint8_t*>(out), k); break;
        case ActFormat::F32: std::memcpy(out, x, static_cast<size_t>(k) * sizeof(float)); break;
    }
}

void dequantizeRow(DType type, const void* src, float* dst, int64_t k) {
    switch (type) {
        case DType::F32: std::memcpy(dst, src, static_cast<size_t>(k) * 4); break;
        case DType::F16: for (int64_t i = 0; i < k; ++i) dst[i] = loadF16(src, i); break;
        case DType::BF16: for (int64_t i = 0; i < k; ++i) dst[i] = loadBF16(src, i); break;
        case DType::Q4_0: dequantize32<BlockQ4_0>(src, dst, k); break;
        case DType::Q4_1: dequantize32<BlockQ4_1>(src, dst, k); break;
        case DType::Q5_0: dequantize32<BlockQ5_0>(src, dst, k); break;
        case DType::Q8_0: dequantize32<BlockQ8_0>(src, dst, k); break;
        case DType::Q4_K: dequantizeK<BlockQ4_K>(src, dst, k); break;
        case DType::Q5_K: dequantizeK<BlockQ5_K>(src, dst, k); break;
        case DType::Q6_K: dequantizeK<BlockQ6_K>(src, dst, k); break;
        default: break;  // callers check isSupportedWeightType first
    }
}

void fillScalarKernels(KernelTable& t) {
    t.name = "scalar";
    auto slot = [&](DType type) -> DotFn& { return t.dot[static_cast<uint32_t>(type)]; };
    slot(DType::F32) = dotFloat<loadF32>;
    slot(DType::F16) = dotFloat<loadF16>;
    slot(DType::BF16) = dotFloat<loadBF16>;
    slot(DType::Q4_0) = dot32<BlockQ4_0>;
    slot(DType::Q4_1) = dot32<BlockQ4_1>;
    slot(DType::Q5_0) = dot32<BlockQ5_0>;
    slot(DType::Q8_0) = dot32<BlockQ8_0>;
    slot(DType::Q4_K) = dotK<BlockQ4_K>;
    slot(DType::Q5_K) = dotK<BlockQ5_K>;
    slot(DType::Q6_K) = dotK<BlockQ6_K>;
    for (uint32_t id = 0; id < kTypeSlots; ++id) t.act[id] = activationFormat(static_cast<DType>(id));
    t.dotF16 = dotF16;
    t.dotF32 = dotF32;
    t.axpyF16 = axpyF16;
    t.toF16 = toF16;
    t.axpyF32 = axpyF32;
}

}  // namespace hearth::cpu
