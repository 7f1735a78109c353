// Test-side reference for the weight formats: a minimal round-to-nearest quantizer and a float64
// dequantizer for every type the backends accept, written from the GGUF block layouts alone so
// that the op tests never trust the code under test (neither the backend's dequantizers nor
// models/quant). Header-only; used by backend_ops_test.cpp and bench/backends.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "backends/dtype.h"

namespace hearth::testref {

inline uint16_t half(float f) { return f32ToF16(f); }
inline double unhalf(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return f16ToF32(h);
}
inline void putHalf(uint8_t* p, float f) {
    uint16_t h = half(f);
    std::memcpy(p, &h, 2);
}
inline int nearest(double v) { return static_cast<int>(std::lround(v)); }

// ---- quantizers: rows of k floats -> GGUF bytes ----------------------------------------------

inline void quantizeQ8_0(const float* x, uint8_t* b) {  // 34 bytes: d, 32 x int8
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
    float d = amax / 127.0f;
    putHalf(b, d);
    for (int i = 0; i < 32; ++i) b[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(d > 0 ? std::clamp(nearest(x[i] / d), -127, 127) : 0));
}

// Q4_0 / Q5_0: d = signed value of largest magnitude / -2^(bits-1), q = round(x/d) + 2^(bits-1).
inline void quantizeQ4_0(const float* x, uint8_t* b, int bits) {
    float mx = 0;
    for (int i = 0; i < 32; ++i) if (std::fabs(x[i]) > std::fabs(mx)) mx = x[i];
    const int half = 1 << (bits - 1);
    float d = mx / static_cast<float>(-half);
    putHalf(b, d);
    const int qmax = (1 << bits) - 1;
    int q[32];
    for (int i = 0; i < 32; ++i) q[i] = d != 0 ? std::clamp(nearest(x[i] / d) + half, 0, qmax) : half;
    uint8_t* qs = b + 2 + (bits == 5 ? 4 : 0);
    uint32_t qh = 0;
    for (int i = 0; i < 16; ++i) {
        qs[i] = static_cast<uint8_t>((q[i] & 0xF) | ((q[i + 16] & 0xF) << 4));
        qh |= static_cast<uint32_t>((q[i] >> 4) & 1) << i;
        qh |= static_cast<uint32_t>((q[i + 16] >> 4) & 1) << (i + 16);
    }
    if (bits == 5) std::memcpy(b + 2, &qh, 4);
}

inline void quantizeQ4_1(const float* x, uint8_t* b) {  // d, m, 16 bytes of nibbles
    float mn = x[0], mx = x[0];
    for (int i = 0; i < 32; ++i) { mn = std::min(mn, x[i]); mx = std::max(mx, x[i]); }
    float d = (mx - mn) / 15.0f;
    putHalf(b, d);
    putHalf(b + 2, mn);
    for (int i = 0; i < 16; ++i) {
        int lo = d > 0 ? std::clamp(nearest((x[i] - mn) / d), 0, 15) : 0;
        int hi = d > 0 ? std::clamp(nearest((x[i + 16] - mn) / d), 0, 15) : 0;
        b[4 + i] = static_cast<uint8_t>(lo | (hi << 4));
    }
}

// 6-bit scale/min j of the 12-byte K-quant scale array.
inline void putScaleMin(uint8_t* s, int j, int sc, int m) {
    if (j < 4) {
        s[j] = static_cast<uint8_t>((s[j] & 0xC0) | sc);
        s[j + 4] = static_cast<uint8_t>((s[j + 4] & 0xC0) | m);
    } else {
        s[j + 4] = static_cast<uint8_t>((sc & 0xF) | ((m & 0xF) << 4));
        s[j - 4] = static_cast<uint8_t>(s[j - 4] | ((sc >> 4) << 6));
        s[j] = static_cast<uint8_t>(s[j] | ((m >> 4) << 6));
    }
}
inline void getScaleMin(const uint8_t* s, int j, int& sc, int& m) {
    if (j < 4) {
        sc = s[j] & 63;
        m = s[j + 4] & 63;
    } else {
        sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// Q4_K (bits 4, 144 bytes: d, dmin, scales[12], qs[128]) and Q5_K (bits 5, 176 bytes: ..., qh[32], qs[128]).
inline void quantizeQ45K(const float* x, uint8_t* b, int bits) {
    const int qmax = (1 << bits) - 1;
    float scale[8], minv[8];
    for (int j = 0; j < 8; ++j) {
        float mn = 0, mx = 0;
        for (int i = 0; i < 32; ++i) { mn = std::min(mn, x[32 * j + i]); mx = std::max(mx, x[32 * j + i]); }
        scale[j] = (mx - mn) / static_cast<float>(qmax);
        minv[j] = -mn;
    }
    float smax = *std::max_element(scale, scale + 8), mmax = *std::max_element(minv, minv + 8);
    float d = smax / 63.0f, dmin = mmax / 63.0f;
    std::memset(b, 0, bits == 4 ? 144 : 176);
    putHalf(b, d);
    putHalf(b + 2, dmin);
    uint8_t* scales = b + 4;
    uint8_t* qh = b + 16;
    uint8_t* qs = b + (bits == 4 ? 16 : 48);
    double dq = unhalf(b), dmq = unhalf(b + 2);
    int q[256];
    for (int j = 0; j < 8; ++j) {
        int ls = dq > 0 ? std::clamp(nearest(scale[j] / dq), 0, 63) : 0;
        int lm = dmq > 0 ? std::clamp(nearest(minv[j] / dmq), 0, 63) : 0;
        putScaleMin(scales, j, ls, lm);
        for (int i = 0; i < 32; ++i) {
            double step = dq * ls;
            q[32 * j + i] = step > 0 ? std::clamp(nearest((x[32 * j + i] + dmq * lm) / step), 0, qmax) : 0;
        }
    }
    for (int p = 0; p < 4; ++p)
        for (int l = 0; l < 32; ++l) {
            int lo = q[64 * p + l], hi = q[64 * p + 32 + l];
            qs[32 * p + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
            if (bits == 5) qh[l] = static_cast<uint8_t>(qh[l] | (((lo >> 4) & 1) << (2 * p)) | (((hi >> 4) & 1) << (2 * p + 1)));
        }
}

// Q6_K (210 bytes: ql[128], qh[64], scales[16] int8, d).
inline void quantizeQ6K(const float* x, uint8_t* b) {
    float scale[16];
    for (int s = 0; s < 16; ++s) {
        float amax = 0;
        for (int i = 0; i < 16; ++i) amax = std::max(amax, std::fabs(x[16 * s + i]));
        scale[s] = amax / 31.0f;
    }
    float smax = *std::max_element(scale, scale + 16);
    std::memset(b, 0, 210);
    putHalf(b + 208, smax / 127.0f);
    double d = unhalf(b + 208);
    uint8_t *ql = b, *qh = b + 128;
    auto* sc = reinterpret_cast<int8_t*>(b + 192);
    int q[256];
    for (int s = 0; s < 16; ++s) {
        int ls = d > 0 ? std::clamp(nearest(scale[s] / d), -128, 127) : 0;
        sc[s] = static_cast<int8_t>(ls);
        for (int i = 0; i < 16; ++i) {
            double step = d * ls;
            q[16 * s + i] = (step != 0 ? std::clamp(nearest(x[16 * s + i] / step), -32, 31) : 0) + 32;
        }
    }
    for (int h = 0; h < 2; ++h)
        for (int l = 0; l < 32; ++l) {
            const int* g = q + 128 * h;
            ql[64 * h + l] = static_cast<uint8_t>((g[l] & 0xF) | ((g[l + 64] & 0xF) << 4));
            ql[64 * h + l + 32] = static_cast<uint8_t>((g[l + 32] & 0xF) | ((g[l + 96] & 0xF) << 4));
            qh[32 * h + l] = static_cast<uint8_t>((g[l] >> 4) | ((g[l + 32] >> 4) << 2) | ((g[l + 64] >> 4) << 4) |
                                                  ((g[l + 96] >> 4) << 6));
        }
}

inline std::vector<uint8_t> quantize(DType type, const std::vector<float>& w, int64_t rows, int64_t k) {
    auto tr = dtypeTraits(type);
    if (!tr || k % tr->blockSize) throw std::invalid_argument("bad type or row size");
    const int64_t blocks = k / tr->blockSize;
    std::vector<uint8_t> out(static_cast<size_t>(rows * blocks * tr->typeSize));
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t ib = 0; ib < blocks; ++ib) {
            const float* x = w.data() + r * k + ib * tr->blockSize;
            uint8_t* b = out.data() + (r * blocks + ib) * tr->typeSize;
            switch (type) {
                case DType::F32: std::memcpy(b, x, 4); break;
                case DType::F16: putHalf(b, *x); break;
                case DType::BF16: { uint16_t v = f32ToBf16(*x); std::memcpy(b, &v, 2); break; }
                case DType::Q8_0: quantizeQ8_0(x, b); break;
                case DType::Q4_0: quantizeQ4_0(x, b, 4); break;
                case DType::Q5_0: quantizeQ4_0(x, b, 5); break;
                case DType::Q4_1: quantizeQ4_1(x, b); break;
                case DType::Q4_K: quantizeQ45K(x, b, 4); break;
                case DType::Q5_K: quantizeQ45K(x, b, 5); break;
                case DType::Q6_K: quantizeQ6K(x, b); break;
                default: throw std::invalid_argument("no reference quantizer for this type");
            }
        }
    return out;
}

// ---- float64 dequantizers, straight from the byte layouts ------------------------------------

inline void dequantizeBlock(DType type, const uint8_t* b, double* y) {
    switch (type) {
        case DType::F32: { float f; std::memcpy(&f, b, 4); y[0] = f; return; }
        case DType::F16: y[0] = unhalf(b); return;
        case DType::BF16: { uint16_t v; std::memcpy(&v, b, 2); y[0] = bf16ToF32(v); return; }
        case DType::Q8_0: {
            double d = unhalf(b);
            for (int i = 0; i < 32; ++i) y[i] = d * static_cast<int8_t>(b[2 + i]);
            return;
        }
        case DType::Q4_0: case DType::Q4_1: {
            const bool hasMin = type == DType::Q4_1;
            double d = unhalf(b), m = hasMin ? unhalf(b + 2) : 0;
            const uint8_t* qs = b + (hasMin ? 4 : 2);
            for (int i = 0; i < 16; ++i) {
                int lo = qs[i] & 0xF, hi = qs[i] >> 4;
                y[i] = hasMin ? d * lo + m : d * (lo - 8);
                y[i + 16] = hasMin ? d * hi + m : d * (hi - 8);
            }
            return;
        }
        case DType::Q5_0: {
            double d = unhalf(b);
            uint32_t qh;
            std::memcpy(&qh, b + 2, 4);
            for (int i = 0; i < 16; ++i) {
                int lo = (b[6 + i] & 0xF) | static_cast<int>(((qh >> i) & 1) << 4);
                int hi = (b[6 + i] >> 4) | static_cast<int>(((qh >> (i + 16)) & 1) << 4);
                y[i] = d * (lo - 16);
                y[i + 16] = d * (hi - 16);
            }
            return;
        }
        case DType::Q4_K: case DType::Q5_K: {
            const bool five = type == DType::Q5_K;
            double d = unhalf(b), dmin = unhalf(b + 2);
            const uint8_t* scales = b + 4;
            const uint8_t* qh = b + 16;
            const uint8_t* qs = b + (five ? 48 : 16);
            for (int p = 0; p < 4; ++p) {
                int sc0, m0, sc1, m1;
                getScaleMin(scales, 2 * p, sc0, m0);
                getScaleMin(scales, 2 * p + 1, sc1, m1);
                for (int l = 0; l < 32; ++l) {
                    int lo = qs[32 * p + l] & 0xF, hi = qs[32 * p + l] >> 4;
                    if (five) {
                        lo |= ((qh[l] >> (2 * p)) & 1) << 4;
                        hi |= ((qh[l] >> (2 * p + 1)) & 1) << 4;
                    }
                    y[64 * p + l] = d * sc0 * lo - dmin * m0;
                    y[64 * p + 32 + l] = d * sc1 * hi - dmin * m1;
                }
            }
            return;
        }
        case DType::Q6_K: {
            const uint8_t *ql = b, *qh = b + 128;
            const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
            double d = unhalf(b + 208);
            for (int h = 0; h < 2; ++h)
                for (int l = 0; l < 32; ++l) {
                    const uint8_t* L = ql + 64 * h;
                    uint8_t H = qh[32 * h + l];
                    int q0 = ((L[l] & 0xF) | ((H & 3) << 4)) - 32;
                    int q1 = ((L[l + 32] & 0xF) | (((H >> 2) & 3) << 4)) - 32;
                    int q2 = ((L[l] >> 4) | (((H >> 4) & 3) << 4)) - 32;
                    int q3 = ((L[l + 32] >> 4) | (((H >> 6) & 3) << 4)) - 32;
                    const int8_t* s = sc + 8 * h + l / 16;
                    double* o = y + 128 * h + l;
                    o[0] = d * s[0] * q0;
                    o[32] = d * s[2] * q1;
                    o[64] = d * s[4] * q2;
                    o[96] = d * s[6] * q3;
                }
            return;
        }
        default: throw std::invalid_argument("no reference dequantizer for this type");
    }
}

inline std::vector<double> dequantize(DType type, const uint8_t* data, int64_t rows, int64_t k) {
    auto tr = dtypeTraits(type);
    std::vector<double> out(static_cast<size_t>(rows * k));
    for (int64_t i = 0; i < rows * k / tr->blockSize; ++i)
        dequantizeBlock(type, data + i * tr->typeSize, out.data() + i * tr->blockSize);
    return out;
}

}  // namespace hearth::testref
