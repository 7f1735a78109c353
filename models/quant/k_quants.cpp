// K-quants: a super-block of 256 weights split into sub-blocks, each with its own scale (and for
// Q4_K/Q5_K a min), the sub-block scales themselves quantized against one f16 super-scale.
// The searches follow the reference quantizers step for step (same candidate scales, same error
// weights, same float operation order) so results match theirs on the same input.
#include "models/quant/k_quants.h"

#include <algorithm>

namespace hearth::quant {
namespace {

constexpr float kGroupMaxEps = 1e-15f;

// Round-to-nearest-even of a value already clamped to [lo, hi] (integer bounds, |v| < 2^22), kept
// in float so that the loops below vectorise: clamping before or after rounding is the same.
constexpr float kRoundMagic = 12582912.f;  // 1.5 * 2^23
inline float roundClamped(float v, float lo, float hi) {
    v = std::min(std::max(v, lo), hi);
    return (v + kRoundMagic) - kRoundMagic;
}

// Fits x ≈ scale * L + min (L in [0, nmax], min <= 0) minimising the weighted squared error:
// starts from the min/max grid, then tries nstep+1 stretched grids and keeps the least-squares
// (scale, min) of the best one. Returns the scale; *negMin receives -min.
// The sums are vectorised (`omp simd` reductions), so they may differ from a sequential sum in
// the last bits; the candidates and the choice rule are the reference's.
template <int N>
float fitScaleMin(int nmax, const float* x, const float* w, uint8_t* L, float* negMin, float rmin,
                  float rdelta, int nstep) {
    float lo = x[0], hi = x[0];
    float sumW = 0, sumX = 0;
#pragma omp simd reduction(min : lo) reduction(max : hi) reduction(+ : sumW, sumX)
    for (int i = 0; i < N; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
        sumW += w[i];
        sumX += w[i] * x[i];
    }
    if (lo > 0) lo = 0;
    if (hi == lo) {
        std::fill(L, L + N, uint8_t{0});
        *negMin = -lo;
        return 0.f;
    }
    const float fmax = static_cast<float>(nmax);
    float iscale = fmax / (hi - lo);
    float scale = 1 / iscale;
    float best[N], laux[N];
    float bestErr = 0;
#pragma omp simd reduction(+ : bestErr)
    for (int i = 0; i < N; ++i) {
        float l = roundClamped(iscale * (x[i] - lo), 0.f, fmax);
        best[i] = l;
        float diff = scale * l + lo - x[i];
        bestErr += w[i] * (diff * diff);
    }
    float min = lo;
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + fmax) / (hi - lo);
        float sumL = 0, sumL2 = 0, sumXL = 0;
#pragma omp simd reduction(+ : sumL, sumL2, sumXL)
        for (int i = 0; i < N; ++i) {
            float l = roundClamped(iscale * (x[i] - lo), 0.f, fmax);
            laux[i] = l;
            sumL += w[i] * l;
            sumL2 += w[i] * l * l;
            sumXL += w[i] * l * x[i];
        }
        float det = sumW * sumL2 - sumL * sumL;
        if (det <= 0) continue;
        float thisScale = (sumW * sumXL - sumX * sumL) / det;
        float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
        if (thisMin > 0) {
            thisMin = 0;
            thisScale = sumXL / sumL2;
        }
        float err = 0;
#pragma omp simd reduction(+ : err)
        for (int i = 0; i < N; ++i) {
            float diff = thisScale * laux[i] + thisMin - x[i];
            err += w[i] * (diff * diff);
        }
        if (err < bestErr) {
            std::copy(laux, laux + N, best);
            bestErr = err;
            scale = thisScale;
            min = thisMin;
        }
    }
    for (int i = 0; i < N; ++i) L[i] = static_cast<uint8_t>(best[i]);
    *negMin = -min;
    return scale;
}

// Symmetric fit x ≈ scale * (L - nmax), L in [0, 2*nmax), weighting each error by x² and trying
// 18 scales around the one that maps the largest magnitude to -nmax.
template <int N>
float fitScaleSymmetric(int nmax, const float* x, uint8_t* L) {
    float max = 0, amax = 0;
    for (int i = 0; i < N; ++i) {
        float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) {
        std::fill(L, L + N, uint8_t{0});
        return 0.f;
    }
    const float lo = static_cast<float>(-nmax), hi = static_cast<float>(nmax - 1);
    auto sums = [&](float iscale, float& sumLX, float& sumL2) {
        float a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
        for (int i = 0; i < N; ++i) {
            float l = roundClamped(iscale * x[i], lo, hi);
            float w = x[i] * x[i];
            a += w * x[i] * l;
            b += w * l * l;
        }
        sumLX = a;
        sumL2 = b;
    };
    auto assign = [&](float iscale) {
        for (int i = 0; i < N; ++i) L[i] = static_cast<uint8_t>(nmax + static_cast<int>(roundClamped(iscale * x[i], lo, hi)));
    };
    float iscale = -nmax / max;
    float sumLX, sumL2;
    sums(iscale, sumLX, sumL2);
    float bestIscale = iscale;
    float scale = sumL2 > 0 ? sumLX / sumL2 : 0.f;
    float best = scale * sumLX;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sums(iscale, sumLX, sumL2);
        if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
            bestIscale = iscale;
            scale = sumLX / sumL2;
            best = scale * sumLX;
        }
    }
    assign(bestIscale);
    return scale;
}

// Packs the eight 6-bit scales and mins of a Q4_K/Q5_K block (inverse of kQuantScaleMin).
void packScalesMins(const int* ls, const int* lm, uint8_t* q) {
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            q[j] = static_cast<uint8_t>(ls[j]);
            q[j + 4] = static_cast<uint8_t>(lm[j]);
        } else {
            q[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            q[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
            q[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
        }
    }
}

// The shared part of Q4_K and Q5_K: per-sub-block (scale, min) fits, their 6-bit quantization,
// and the final levels L[256] against the quantized scales.
void quantizeScaleMinBlock(const float* x, int nmax, float rmin, int nstep, uint8_t* scalesOut, f16_t& dOut,
                           f16_t& dminOut, uint8_t* L) {
    float scales[8], mins[8], weights[32];
    float maxScale = 0, maxMin = 0;
    for (int j = 0; j < 8; ++j) {
        const float* xs = x + 32 * j;
        float sumX2 = 0;
#pragma omp simd reduction(+ : sumX2)
        for (int l = 0; l < 32; ++l) sumX2 += xs[l] * xs[l];
        float avX = std::sqrt(sumX2 / 32);
        for (int l = 0; l < 32; ++l) weights[l] = avX + std::fabs(xs[l]);
        scales[j] = fitScaleMin<32>(nmax, xs, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep);
        maxScale = std::max(maxScale, scales[j]);
        maxMin = std::max(maxMin, mins[j]);
    }
    float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
    float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
    int ls[8], lm[8];
    for (int j = 0; j < 8; ++j) {
        ls[j] = std::min(63, nearestInt(invScale * scales[j]));
        lm[j] = std::min(63, nearestInt(invMin * mins[j]));
    }
    std::memset(scalesOut, 0, kKScaleBytes);
    packScalesMins(ls, lm, scalesOut);
    dOut = f32ToF16(maxScale / 63.f);
    dminOut = f32ToF16(maxMin / 63.f);
    float d = f16ToF32(dOut), dmin = f16ToF32(dminOut);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        kQuantScaleMin(j, scalesOut, sc, m);
        float ds = d * sc;
        if (ds == 0.f) continue;
        float dm = dmin * m;
        for (int i = 0; i < 32; ++i)
            L[32 * j + i] = static_cast<uint8_t>(roundClamped((x[32 * j + i] + dm) / ds, 0.f, static_cast<float>(nmax)));
    }
}

}  // namespace

void quantizeBlocksQ4K(const float* x, BlockQ4_K* y, int64_t blocks) {
    uint8_t L[kQKK];
    for (int64_t b = 0; b < blocks; ++b, x += kQKK) {
        quantizeScaleMinBlock(x, 15, -1.f, 20, y[b].scales, y[b].d, y[b].dmin, L);
        uint8_t* q = y[b].qs;
        for (int j = 0; j < kQKK; j += 64, q += 32)
            for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
    }
}

void quantizeBlocksQ5K(const float* x, BlockQ5_K* y, int64_t blocks) {
    uint8_t L[kQKK];
    for (int64_t b = 0; b < blocks; ++b, x += kQKK) {
        quantizeScaleMinBlock(x, 31, -0.5f, 15, y[b].scales, y[b].d, y[b].dmin, L);
        uint8_t* qh = y[b].qh;
        uint8_t* ql = y[b].qs;
        std::memset(qh, 0, sizeof y[b].qh);
        uint8_t m1 = 1, m2 = 2;
        for (int n = 0; n < kQKK; n += 64, ql += 32) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[n + j], l2 = L[n + j + 32];
                if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
            }
            m1 = static_cast<uint8_t>(m1 << 2);
            m2 = static_cast<uint8_t>(m2 << 2);
        }
    }
}

void quantizeBlocksQ6K(const float* x, BlockQ6_K* y, int64_t blocks) {
    uint8_t L[kQKK];
    float scales[kQKK / 16];
    for (int64_t b = 0; b < blocks; ++b, x += kQKK) {
        float maxScale = 0, maxAbsScale = 0;
        for (int ib = 0; ib < kQKK / 16; ++ib) {
            scales[ib] = fitScaleSymmetric<16>(32, x + 16 * ib, L + 16 * ib);
            if (std::fabs(scales[ib]) > maxAbsScale) {
                maxAbsScale = std::fabs(scales[ib]);
                maxScale = scales[ib];
            }
        }
        BlockQ6_K& out = y[b];
        if (maxAbsScale < kGroupMaxEps) {
            std::memset(&out, 0, sizeof out);
            continue;
        }
        float iscale = -128.f / maxScale;
        out.d = f32ToF16(1 / iscale);
        for (int ib = 0; ib < kQKK / 16; ++ib)
            out.scales[ib] = static_cast<int8_t>(std::min(127, nearestInt(iscale * scales[ib])));
        float d = f16ToF32(out.d);
        for (int j = 0; j < kQKK / 16; ++j) {
            float ds = d * out.scales[j];
            if (ds == 0.f) continue;
            for (int i = 0; i < 16; ++i)
                L[16 * j + i] = static_cast<uint8_t>(static_cast<int>(roundClamped(x[16 * j + i] / ds, -32.f, 31.f)) + 32);
        }
        uint8_t* ql = out.ql;
        uint8_t* qh = out.qh;
        for (int j = 0; j < kQKK; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t* q = L + j + l;
                ql[l] = static_cast<uint8_t>((q[0] & 0xF) | ((q[64] & 0xF) << 4));
                ql[l + 32] = static_cast<uint8_t>((q[32] & 0xF) | ((q[96] & 0xF) << 4));
                qh[l] = static_cast<uint8_t>((q[0] >> 4) | ((q[32] >> 4) << 2) | ((q[64] >> 4) << 4) |
                                             ((q[96] >> 4) << 6));
            }
        }
    }
}

void dequantizeBlocksQ4K(const BlockQ4_K* x, float* y, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b) {
        float d = f16ToF32(x[b].d), dmin = f16ToF32(x[b].dmin);
        const uint8_t* q = x[b].qs;
        for (int j = 0, is = 0; j < kQKK; j += 64, q += 32, is += 2) {
            uint8_t sc, m;
            kQuantScaleMin(is, x[b].scales, sc, m);
            float d1 = d * sc, m1 = dmin * m;
            kQuantScaleMin(is + 1, x[b].scales, sc, m);
            float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

void dequantizeBlocksQ5K(const BlockQ5_K* x, float* y, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b) {
        float d = f16ToF32(x[b].d), dmin = f16ToF32(x[b].dmin);
        const uint8_t* ql = x[b].qs;
        const uint8_t* qh = x[b].qh;
        unsigned u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < kQKK; j += 64, ql += 32, is += 2, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            kQuantScaleMin(is, x[b].scales, sc, m);
            float d1 = d * sc, m1 = dmin * m;
            kQuantScaleMin(is + 1, x[b].scales, sc, m);
            float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
        }
    }
}

void dequantizeBlocksQ6K(const BlockQ6_K* x, float* y, int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b) {
        float d = f16ToF32(x[b].d);
        const uint8_t* ql = x[b].ql;
        const uint8_t* qh = x[b].qh;
        const int8_t* sc = x[b].scales;
        for (int n = 0; n < kQKK; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

}  // namespace hearth::quant
