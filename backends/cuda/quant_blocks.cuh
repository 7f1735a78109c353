// Device-side readers of the GGUF weight blocks (layouts in backends/dtype.h).
//
// Two readers per type:
//  - Dequant<T>::run(row, c, out, k): the c-th run of 32 consecutive weights of a row of k, as
//    floats. Used by embed() and by the tile loaders of the prefill matmuls.
//  - Dot<T>::partial(): one thread's share of the dot product of a weight block with the q8_1
//    quantized activation, for the mat-vec kernels. kThreads threads share a block; each reads
//    its bytes with the widest load the block's alignment allows (16 bytes for Q4_K/Q5_K, whose
//    144/176-byte blocks keep 16-byte alignment) and dequantizes in registers with dp4a.
//    Terms that need the whole block (offsets, mins) are split evenly between its threads, so
//    the partials only add up to the right value once the warp has summed them.
// The planar types (kQ4_0Planar, kQ6_KPlanar: weight_repack.h) are read through the row, since
// a block's fields lie in different planes of it; Dot<T>::kPlanar tells the mat-vec which.
#pragma once

#include "backends/cuda/gpu_compat.h"
#include "backends/cuda/weight_repack.h"
#include "backends/dtype.h"

namespace hearth::cuda {

// Activations quantized per 32 values, stored as two arrays per matmul input: the int8 values
// (32 bytes a block, so a thread reads 16 of them with one load) and the float (scale, scale *
// sum of q) pairs. Float scales keep large activations (|x| > 65504 / 32 sums) finite.
struct Q8Ref {
    const int* qs;     // 8 ints per block
    const float2* ds;  // one pair per block
};

// Quantizes one 32-value chunk held one value per lane of a full warp into the q8 layout above;
// lane 0 writes the (scale, scale * sum) pair.
__device__ __forceinline__ void quantizeChunk(float v, int8_t* qs, float2* ds, int lane) {
    float amax = gpu::warpMax(fabsf(v));
    float d = amax / 127.0f;
    int qv = d > 0.0f ? max(-127, min(127, __float2int_rn(v / d))) : 0;
    float sum = gpu::warpSum(static_cast<float>(qv));
    qs[lane] = static_cast<int8_t>(qv);
    if (lane == 0) *ds = make_float2(d, d * sum);
}

__device__ __forceinline__ uint32_t load2x16(const uint8_t* p) {  // p is 2-aligned
    const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
    return static_cast<uint32_t>(h[0]) | (static_cast<uint32_t>(h[1]) << 16);
}
__device__ __forceinline__ float loadHalf(const uint8_t* p) {
    return gpu::halfToFloat(*reinterpret_cast<const uint16_t*>(p));
}
__device__ __forceinline__ int loadInt(const uint8_t* p) {  // p is 4-aligned
    return *reinterpret_cast<const int*>(p);
}

// Byte j (0..11) of the three words holding a K-quant's packed scales, without local memory.
__device__ __forceinline__ int scaleByte(uint32_t a, uint32_t b, uint32_t c, int j) {
    uint32_t w = j < 4 ? a : (j < 8 ? b : c);
    return static_cast<int>((w >> (8 * (j & 3))) & 0xFF);
}

// The same from registers: the 16-byte block header (d, dmin, 12 scale bytes) loaded at once.
__device__ __forceinline__ void kScaleMinRegs(int4 h, int j, float& sc, float& m) {
    uint32_t a = static_cast<uint32_t>(h.y), b = static_cast<uint32_t>(h.z), c = static_cast<uint32_t>(h.w);
    if (j < 4) {
        sc = scaleByte(a, b, c, j) & 63;
        m = scaleByte(a, b, c, j + 4) & 63;
    } else {
        sc = (scaleByte(a, b, c, j + 4) & 0xF) | ((scaleByte(a, b, c, j - 4) >> 6) << 4);
        m = (scaleByte(a, b, c, j + 4) >> 4) | ((scaleByte(a, b, c, j) >> 6) << 4);
    }
}

// Scale and min of sub-block j (0..7) of a Q4_K/Q5_K block from its 12 packed bytes.
__device__ __forceinline__ void kScaleMin(const uint8_t* s, int j, float& sc, float& m) {
    if (j < 4) {
        sc = s[j] & 63;
        m = s[j + 4] & 63;
    } else {
        sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// Bit 0 of each nibble of h (4 bits) moved to bit 4 of the matching byte.
__device__ __forceinline__ int spreadBits4(uint32_t h) {
    return static_cast<int>(((h & 1u) << 4) | ((h & 2u) << 11) | ((h & 4u) << 18) | ((h & 8u) << 25));
}

// ---- dequant32 --------------------------------------------------------------------------------

template <DType T> struct Dequant;

template <> struct Dequant<DType::F32> {
    static __device__ void run(const uint8_t* row, int c, float* out, int64_t = 0) {
        const float* p = reinterpret_cast<const float*>(row) + 32 * c;
        for (int i = 0; i < 32; ++i) out[i] = p[i];
    }
};
template <> struct Dequant<DType::F16> {
    static __device__ void run(const uint8_t* row, int c, float* out, int64_t = 0) {
        const uint16_t* p = reinterpret_cast<const uint16_t*>(row) + 32 * c;
        for (int i = 0; i < 32; ++i) out[i] = gpu::halfToFloat(p[i]);
    }
};
template <> struct Dequant<DType::BF16> {
    static __device__ void run(const uint8_t* row, int c, float* out, int64_t = 0) {
        const uint16_t* p = reinterpret_cast<const uint16_t*>(row) + 32 * c;
        for (int i = 0; i < 32; ++i) out[i] = gpu::bf16ToFloat(p[i]);
    }
};
template <> struct Dequant<DType::Q8_0> {
    static __device__ void run(const uint8_t* row, int c, float* out, int64_t = 0) {
        const uint8_t* b = row + 34 * c;
        float d = loadHalf(b);
        const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
        for (int i = 0; i < 32; ++i) out[i] = d * q[i];
    }
};
template <> struct Dequant<DType::Q4_0> {
    static __device__ void run(const uint8_t* row, int c, float* out, int64_t = 0) {
        const uint8_t* b = row + 18 * c;
        float d = loadHalf(b);
        for (int i = 0; i < 16; ++i) {
            out[i] = d * ((b[2 + i] & 0xF) - 8);
            out[i + 16] = d * ((b[2 + i] >> 4) - 8);
        }
    }
};
template <> struct Dequant<DType::Q4_1> {
    static __device__ void run(const uint8_t* row, int c, float* out, int64_t = 0) {
        const uint8_t* b = row + 20 * c;
        float d = loadHalf(b), m = loadHalf(b + 2);
        for (int i = 0; i < 16; ++i) {
            out[i] = d * (b[4 + i] & 0xF) + m;
            out[i + 16] = d * (b[4 + i] >> 4) + m;
        }
    }
};
template <> struct Dequant<DType::Q5_0> {
    static __device__ void run(const uint8_t* row, int c, float* out, int64_t = 0) {
        const uint8_t* b = row + 22 * c;
        float d = loadHalf(b);
        uint32_t qh = load2x16(b + 2);
        for (int i = 0; i < 16; ++i) {
            int lo = (b[6 + i] & 0xF) | (((qh >> i) & 1) << 4);
            int hi = (b[6 + i] >> 4) | (((qh >> (i + 16)) & 1) << 4);
            out[i] = d * (lo - 16);
            out[i + 16] = d * (hi - 16);
        }
    }
};
template <> struct Dequant<DType::Q4_K> {
    static __device__ void run(const uint8_t* row, int c, float* out, int64_t = 0) {
        const uint8_t* b = row + 144 * (c / 8);
        int sub = c % 8;
        float d = loadHalf(b), dmin = loadHalf(b + 2), sc, m;
        kScaleMin(b + 4, sub, sc, m);
        const uint8_t* q = b + 16 + 32 * (sub / 2);
        int shift = 4 * (sub % 2);
        for (int i = 0; i < 32; ++i) out[i] = d * sc * ((q[i] >> shift) & 0xF) - dmin * m;
    }
};
template <> struct Dequant<DType::Q5_K> {
    static __device__ void run(const uint8_t* row, int c, float* out, int64_t = 0) {
        const uint8_t* b = row + 176 * (c / 8);
        int sub = c % 8;
        float d = loadHalf(b), dmin = loadHalf(b + 2), sc, m;
        kScaleMin(b + 4, sub, sc, m);
        const uint8_t* qh = b + 16;
        const uint8_t* q = b + 48 + 32 * (sub / 2);
        int shift = 4 * (sub % 2);
        for (int i = 0; i < 32; ++i) {
            int v = ((q[i] >> shift) & 0xF) | (((qh[i] >> sub) & 1) << 4);
            out[i] = d * sc * v - dmin * m;
        }
    }
};
template <> struct Dequant<DType::Q6_K> {
    static __device__ void run(const uint8_t* row, int c, float* out, int64_t = 0) {
        const uint8_t* b = row + 210 * (c / 8);
        int sub = c % 8, h = sub / 4, quarter = sub % 4;
        const uint8_t* ql = b + 64 * h + 32 * (quarter % 2);
        const uint8_t* qh = b + 128 + 32 * h;
        const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192) + 8 * h + 2 * quarter;
        float d = loadHalf(b + 208);
        int lowShift = 4 * (quarter / 2), highShift = 2 * quarter;
        for (int i = 0; i < 32; ++i) {
            int v = ((ql[i] >> lowShift) & 0xF) | (((qh[i] >> highShift) & 3) << 4);
            out[i] = d * sc[i / 16] * (v - 32);
        }
    }
};

template <> struct Dequant<kQ4_0Planar> {
    static __device__ void run(const uint8_t* row, int c, float* out, int64_t k) {
        int64_t nb = k / kQK;
        float d = loadHalf(row + repack::q40D(nb, c));
        int4 q = *reinterpret_cast<const int4*>(row + repack::q40Qs(c));
        const uint32_t w[4] = {static_cast<uint32_t>(q.x), static_cast<uint32_t>(q.y), static_cast<uint32_t>(q.z),
                               static_cast<uint32_t>(q.w)};
#pragma unroll
        for (int i = 0; i < 16; ++i) {
            uint32_t byte = (w[i / 4] >> (8 * (i % 4))) & 0xFF;
            out[i] = d * (static_cast<int>(byte & 0xF) - 8);
            out[i + 16] = d * (static_cast<int>(byte >> 4) - 8);
        }
    }
};
template <> struct Dequant<kQ6_KPlanar> {
    static __device__ void run(const uint8_t* row, int c, float* out, int64_t k) {
        int64_t nb = k / kQKK, b = c / 8;
        int t = c % 8;
        int4 ql = *reinterpret_cast<const int4*>(row + repack::q6kQl(b) + 16 * t);
        int2 qh = *reinterpret_cast<const int2*>(row + repack::q6kQh(nb, b) + 8 * t);
        const uint32_t lw[4] = {static_cast<uint32_t>(ql.x), static_cast<uint32_t>(ql.y), static_cast<uint32_t>(ql.z),
                                static_cast<uint32_t>(ql.w)};
        const uint32_t hw[2] = {static_cast<uint32_t>(qh.x), static_cast<uint32_t>(qh.y)};
        const int8_t* sc = reinterpret_cast<const int8_t*>(row + repack::q6kScales(nb, b)) + 2 * t;
        float d = loadHalf(row + repack::q6kD(nb, b));
        float d0 = d * sc[0], d1 = d * sc[1];
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            uint32_t quad = repack::q6kQuad(lw[j % 4], hw[j % 2], j);
#pragma unroll
            for (int e = 0; e < 4; ++e) out[4 * j + e] = (j < 4 ? d0 : d1) * (static_cast<int>((quad >> (8 * e)) & 0xFF) - 32);
        }
    }
};

// ---- mat-vec partial dots ---------------------------------------------------------------------
// partial(block, t, x): thread t (0..kThreads-1) of the threads sharing weight block `block`;
// x points at the q8 blocks covering the same k range (kBlockSize / 32 of them).

__device__ __forceinline__ int4 loadQs16(const Q8Ref& x, int block, int quarter) {  // 16 int8 values
    return *reinterpret_cast<const int4*>(x.qs + 8 * block + 4 * quarter);
}

template <DType T> struct Dot;

template <> struct Dot<DType::Q4_0> {
    static constexpr int kBlockSize = 32, kBytes = 18, kThreads = 2;
    static __device__ __forceinline__ float partial(const uint8_t* b, int t, const Q8Ref& x) {
        int v0 = static_cast<int>(load2x16(b + 2 + 8 * t));
        int v1 = static_cast<int>(load2x16(b + 6 + 8 * t));
        int2 lo = *reinterpret_cast<const int2*>(x.qs + 2 * t);
        int2 hi = *reinterpret_cast<const int2*>(x.qs + 4 + 2 * t);
        int s = gpu::dot4(v0 & 0x0F0F0F0F, lo.x, 0);
        s = gpu::dot4(v1 & 0x0F0F0F0F, lo.y, s);
        s = gpu::dot4((v0 >> 4) & 0x0F0F0F0F, hi.x, s);
        s = gpu::dot4((v1 >> 4) & 0x0F0F0F0F, hi.y, s);
        float2 ds = x.ds[0];
        return loadHalf(b) * (ds.x * s - 4.0f * ds.y);  // -8 offset, half of the block per thread
    }
};

template <> struct Dot<DType::Q4_1> {
    static constexpr int kBlockSize = 32, kBytes = 20, kThreads = 2;
    static __device__ __forceinline__ float partial(const uint8_t* b, int t, const Q8Ref& x) {
        int v0 = loadInt(b + 4 + 8 * t);
        int v1 = loadInt(b + 8 + 8 * t);
        int2 lo = *reinterpret_cast<const int2*>(x.qs + 2 * t);
        int2 hi = *reinterpret_cast<const int2*>(x.qs + 4 + 2 * t);
        int s = gpu::dot4(v0 & 0x0F0F0F0F, lo.x, 0);
        s = gpu::dot4(v1 & 0x0F0F0F0F, lo.y, s);
        s = gpu::dot4((v0 >> 4) & 0x0F0F0F0F, hi.x, s);
        s = gpu::dot4((v1 >> 4) & 0x0F0F0F0F, hi.y, s);
        float2 ds = x.ds[0];
        return loadHalf(b) * ds.x * s + 0.5f * loadHalf(b + 2) * ds.y;
    }
};

template <> struct Dot<DType::Q5_0> {
    static constexpr int kBlockSize = 32, kBytes = 22, kThreads = 2;
    static __device__ __forceinline__ float partial(const uint8_t* b, int t, const Q8Ref& x) {
        uint32_t qh = load2x16(b + 2);
        int s = 0;
#pragma unroll
        for (int u = 0; u < 2; ++u) {
            int i = 2 * t + u;  // int index within qs: weights 4i..4i+3 and 16+4i..
            int v = static_cast<int>(load2x16(b + 6 + 4 * i));
            int lo = (v & 0x0F0F0F0F) | spreadBits4(qh >> (4 * i));
            int hi = ((v >> 4) & 0x0F0F0F0F) | spreadBits4(qh >> (4 * i + 16));
            s = gpu::dot4(lo, x.qs[i], s);
            s = gpu::dot4(hi, x.qs[i + 4], s);
        }
        float2 ds = x.ds[0];
        return loadHalf(b) * (ds.x * s - 8.0f * ds.y);  // -16 offset, half per thread
    }
};

template <> struct Dot<DType::Q8_0> {
    static constexpr int kBlockSize = 32, kBytes = 34, kThreads = 4;
    static __device__ __forceinline__ float partial(const uint8_t* b, int t, const Q8Ref& x) {
        int v0 = static_cast<int>(load2x16(b + 2 + 8 * t));
        int v1 = static_cast<int>(load2x16(b + 6 + 8 * t));
        int2 xv = *reinterpret_cast<const int2*>(x.qs + 2 * t);
        int s = gpu::dot4(v0, xv.x, 0);
        s = gpu::dot4(v1, xv.y, s);
        return loadHalf(b) * x.ds[0].x * s;
    }
};

template <> struct Dot<DType::Q4_K> {
    static constexpr int kBlockSize = 256, kBytes = 144, kThreads = 8;
    static __device__ __forceinline__ float partial(const uint8_t* b, int t, const Q8Ref& x) {
        int g = t / 2, c = t % 2;  // 64-weight group g, 16-byte half c of its 32 bytes
        int4 head = *reinterpret_cast<const int4*>(b);  // d, dmin, 12 scale bytes
        int4 q = *reinterpret_cast<const int4*>(b + 16 + 32 * g + 16 * c);
        int4 x0 = loadQs16(x, 2 * g, c), x1 = loadQs16(x, 2 * g + 1, c);
        int qv[4] = {q.x, q.y, q.z, q.w}, a0[4] = {x0.x, x0.y, x0.z, x0.w}, a1[4] = {x1.x, x1.y, x1.z, x1.w};
        int s0 = 0, s1 = 0;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            s0 = gpu::dot4(qv[i] & 0x0F0F0F0F, a0[i], s0);
            s1 = gpu::dot4((qv[i] >> 4) & 0x0F0F0F0F, a1[i], s1);
        }
        float sc0, m0, sc1, m1;
        kScaleMinRegs(head, 2 * g, sc0, m0);
        kScaleMinRegs(head, 2 * g + 1, sc1, m1);
        float2 d0 = x.ds[2 * g], d1 = x.ds[2 * g + 1];
        float2 dm = __half22float2(*reinterpret_cast<const half2*>(&head.x));
        return dm.x * (sc0 * d0.x * s0 + sc1 * d1.x * s1) - 0.5f * dm.y * (m0 * d0.y + m1 * d1.y);
    }
};

template <> struct Dot<DType::Q5_K> {
    static constexpr int kBlockSize = 256, kBytes = 176, kThreads = 8;
    static __device__ __forceinline__ float partial(const uint8_t* b, int t, const Q8Ref& x) {
        int g = t / 2, c = t % 2;
        int4 head = *reinterpret_cast<const int4*>(b);
        int4 q = *reinterpret_cast<const int4*>(b + 48 + 32 * g + 16 * c);
        int4 h = *reinterpret_cast<const int4*>(b + 16 + 16 * c);
        int4 x0 = loadQs16(x, 2 * g, c), x1 = loadQs16(x, 2 * g + 1, c);
        int qv[4] = {q.x, q.y, q.z, q.w}, hv[4] = {h.x, h.y, h.z, h.w};
        int a0[4] = {x0.x, x0.y, x0.z, x0.w}, a1[4] = {x1.x, x1.y, x1.z, x1.w};
        int s0 = 0, s1 = 0;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            int lo = (qv[i] & 0x0F0F0F0F) | (((hv[i] >> (2 * g)) & 0x01010101) << 4);
            int hi = ((qv[i] >> 4) & 0x0F0F0F0F) | (((hv[i] >> (2 * g + 1)) & 0x01010101) << 4);
            s0 = gpu::dot4(lo, a0[i], s0);
            s1 = gpu::dot4(hi, a1[i], s1);
        }
        float sc0, m0, sc1, m1;
        kScaleMinRegs(head, 2 * g, sc0, m0);
        kScaleMinRegs(head, 2 * g + 1, sc1, m1);
        float2 d0 = x.ds[2 * g], d1 = x.ds[2 * g + 1];
        float2 dm = __half22float2(*reinterpret_cast<const half2*>(&head.x));
        return dm.x * (sc0 * d0.x * s0 + sc1 * d1.x * s1) - 0.5f * dm.y * (m0 * d0.y + m1 * d1.y);
    }
};

template <> struct Dot<DType::Q6_K> {
    static constexpr int kBlockSize = 256, kBytes = 210, kThreads = 16;
    static __device__ __forceinline__ float partial(const uint8_t* b, int t, const Q8Ref& x) {
        int h = t / 8, c = t % 8;  // 128-weight half h, 4 consecutive weights 4c.. of each quarter
        int ql0 = static_cast<int>(load2x16(b + 64 * h + 4 * c));
        int ql1 = static_cast<int>(load2x16(b + 64 * h + 32 + 4 * c));
        int qh = static_cast<int>(load2x16(b + 128 + 32 * h + 4 * c));
        const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192) + 8 * h + c / 4;
        int v[4];
        v[0] = (ql0 & 0x0F0F0F0F) | ((qh & 0x03030303) << 4);
        v[1] = (ql1 & 0x0F0F0F0F) | (((qh >> 2) & 0x03030303) << 4);
        v[2] = ((ql0 >> 4) & 0x0F0F0F0F) | (((qh >> 4) & 0x03030303) << 4);
        v[3] = ((ql1 >> 4) & 0x0F0F0F0F) | (((qh >> 6) & 0x03030303) << 4);
        // The four q8 scales of this half in two 16-byte loads (x.ds is 64-byte aligned here).
        const float4* ds4 = reinterpret_cast<const float4*>(x.ds);
        float4 dLo = ds4[2 * h], dHi = ds4[2 * h + 1];
        const float xd[4] = {dLo.x, dLo.z, dHi.x, dHi.z};
        float acc = 0.0f;
#pragma unroll
        for (int quarter = 0; quarter < 4; ++quarter) {
            int blk = 4 * h + quarter;
            int s = gpu::dot4(gpu::sub4(v[quarter], 0x20202020), x.qs[8 * blk + c], 0);
            acc += sc[2 * quarter] * xd[quarter] * s;
        }
        return loadHalf(b + 208) * acc;
    }
};

// Planar rows (weight_repack.h): partial(row, b, nb, t, x) for block b of a row of nb blocks.
// Q4_0: one thread a block, its 16 quant bytes in one 16-byte load.
template <> struct Dot<kQ4_0Planar> {
    static constexpr int kBlockSize = 32, kBytes = 18, kThreads = 1;
    static __device__ __forceinline__ float partial(const uint8_t* row, int64_t b, int64_t nb, int, const Q8Ref& x) {
        int4 q = *reinterpret_cast<const int4*>(row + repack::q40Qs(b));
        int4 lo = loadQs16(x, 0, 0), hi = loadQs16(x, 0, 1);
        int s = gpu::dot4(q.x & 0x0F0F0F0F, lo.x, 0);
        s = gpu::dot4(q.y & 0x0F0F0F0F, lo.y, s);
        s = gpu::dot4(q.z & 0x0F0F0F0F, lo.z, s);
        s = gpu::dot4(q.w & 0x0F0F0F0F, lo.w, s);
        s = gpu::dot4((q.x >> 4) & 0x0F0F0F0F, hi.x, s);
        s = gpu::dot4((q.y >> 4) & 0x0F0F0F0F, hi.y, s);
        s = gpu::dot4((q.z >> 4) & 0x0F0F0F0F, hi.z, s);
        s = gpu::dot4((q.w >> 4) & 0x0F0F0F0F, hi.w, s);
        float2 ds = x.ds[0];
        return loadHalf(row + repack::q40D(nb, b)) * (ds.x * s - 8.0f * ds.y);
    }
};

// Q6_K: thread t owns weights 32t .. 32t + 31 (one q8 block): 16 bytes of low nibbles and 8 of
// high bits in two loads, whose words line up with the q8 words (weight_repack.h).
template <> struct Dot<kQ6_KPlanar> {
    static constexpr int kBlockSize = 256, kBytes = 210, kThreads = 8;
    static __device__ __forceinline__ float partial(const uint8_t* row, int64_t b, int64_t nb, int t, const Q8Ref& x) {
        int4 ql = *reinterpret_cast<const int4*>(row + repack::q6kQl(b) + 16 * t);
        int2 qh = *reinterpret_cast<const int2*>(row + repack::q6kQh(nb, b) + 8 * t);
        uint32_t sc = *reinterpret_cast<const uint16_t*>(row + repack::q6kScales(nb, b) + 2 * t);
        float d = loadHalf(row + repack::q6kD(nb, b));
        int4 x0 = loadQs16(x, t, 0), x1 = loadQs16(x, t, 1);
        const uint32_t lw[4] = {static_cast<uint32_t>(ql.x), static_cast<uint32_t>(ql.y), static_cast<uint32_t>(ql.z),
                                static_cast<uint32_t>(ql.w)};
        const uint32_t hw[2] = {static_cast<uint32_t>(qh.x), static_cast<uint32_t>(qh.y)};
        const int a0[4] = {x0.x, x0.y, x0.z, x0.w}, a1[4] = {x1.x, x1.y, x1.z, x1.w};
        int s0 = 0, s1 = 0;
#pragma unroll
        for (int w = 0; w < 4; ++w) {  // weights 4w.. (scale 2t) and 16 + 4w.. (scale 2t + 1)
            int lo = static_cast<int>(repack::q6kQuad(lw[w], hw[w % 2], w));
            int hi = static_cast<int>(repack::q6kQuad(lw[w], hw[w % 2], w + 4));
            s0 = gpu::dot4(gpu::sub4(lo, 0x20202020), a0[w], s0);
            s1 = gpu::dot4(gpu::sub4(hi, 0x20202020), a1[w], s1);
        }
        float sc0 = static_cast<int8_t>(sc & 0xFF), sc1 = static_cast<int8_t>(sc >> 8);
        return d * x.ds[t].x * (sc0 * s0 + sc1 * s1);
    }
};

}  // namespace hearth::cuda
