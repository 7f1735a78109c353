// Prefill matmuls through the vendor BLAS when it is installed: the weight matrix is dequantized
// to half precision into scratch (a memory-bound pass) and multiplied on the tensor cores by
// cublasGemmEx with float accumulation. The library is opened at run time (dlopen), so the module
// still loads and runs without it, falling back to the WMMA kernel of matmul_tiled.cu.
#include "backends/cuda/gemm_library.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include "backends/cuda/prefill_kernels.h"
#include "backends/cuda/quant_blocks.cuh"

namespace hearth::cuda {
namespace {

template <uint32_t kType>  // a DType: see kernelType() in weight_repack.h
__global__ void dequantizeToHalfKernel(const uint8_t* __restrict__ w, size_t rowBytes, int64_t chunksPerRow,
                                       int64_t chunks, __half* __restrict__ out) {
    gpu::dependencyWait();
    constexpr DType T = static_cast<DType>(kType);
    int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= chunks) return;
    int64_t row = c / chunksPerRow, within = c % chunksPerRow;
    float v[32];
    Dequant<T>::run(w + row * rowBytes, static_cast<int>(within), v, 32 * chunksPerRow);
    int4* dst = reinterpret_cast<int4*>(out + c * 32);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        half2 h[4];
#pragma unroll
        for (int j = 0; j < 4; ++j) h[j] = __floats2half2_rn(v[8 * i + 2 * j], v[8 * i + 2 * j + 1]);
        dst[i] = *reinterpret_cast<int4*>(h);
    }
}

// ---- weights to half, 8 a thread ---------------------------------------------------------------
// The per-call dequantization before the BLAS is memory-bound and writes 2 bytes a weight: each
// thread makes 8 consecutive weights and stores them with one 16-byte store, so a warp writes 512
// contiguous bytes, and reads its quants with 8-byte (K-quant) or 2-byte (unaligned blocks) loads.
// Dequant8<T>::run(block, t, v): weights 8t .. 8t + 7 of one block.
__device__ __forceinline__ uint2 load8x2(const uint8_t* p) {  // p 2-aligned
    return make_uint2(load2x16(p), load2x16(p + 4));
}

template <DType T> struct Dequant8;

template <> struct Dequant8<DType::Q4_K> {
    static constexpr int kBlock = 256, kBytes = 144;
    static __device__ __forceinline__ void run(const uint8_t* b, int t, float* v) {
        int j = 2 * (t / 8) + (t % 8) / 4;  // sub-block: 64 weights share 32 bytes, low nibbles first
        int4 head = *reinterpret_cast<const int4*>(b);
        uint2 q = *reinterpret_cast<const uint2*>(b + 16 + 32 * (t / 8) + 8 * (t % 4));
        float sc, m;
        kScaleMinRegs(head, j, sc, m);
        float2 dm = __half22float2(*reinterpret_cast<const half2*>(&head.x));
        float d = dm.x * sc, off = dm.y * m;
        int shift = 4 * ((t % 8) / 4);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = d * (((i < 4 ? q.x : q.y) >> (8 * (i % 4) + shift)) & 0xF) - off;
    }
};
template <> struct Dequant8<DType::Q5_K> {
    static constexpr int kBlock = 256, kBytes = 176;
    static __device__ __forceinline__ void run(const uint8_t* b, int t, float* v) {
        int j = 2 * (t / 8) + (t % 8) / 4;
        int4 head = *reinterpret_cast<const int4*>(b);
        uint2 q = *reinterpret_cast<const uint2*>(b + 48 + 32 * (t / 8) + 8 * (t % 4));
        uint2 h = *reinterpret_cast<const uint2*>(b + 16 + 8 * (t % 4));
        float sc, m;
        kScaleMinRegs(head, j, sc, m);
        float2 dm = __half22float2(*reinterpret_cast<const half2*>(&head.x));
        float d = dm.x * sc, off = dm.y * m;
        int shift = 4 * ((t % 8) / 4);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            uint32_t qw = i < 4 ? q.x : q.y, hw = i < 4 ? h.x : h.y;
            int lo = (qw >> (8 * (i % 4) + shift)) & 0xF, hi = (hw >> (8 * (i % 4) + j)) & 1;
            v[i] = d * (lo | (hi << 4)) - off;
        }
    }
};
template <> struct Dequant8<DType::Q6_K> {
    static constexpr int kBlock = 256, kBytes = 210;
    static __device__ __forceinline__ void run(const uint8_t* b, int t, float* v) {
        int h = t / 16, quarter = (t % 16) / 4, i0 = 8 * (t % 4);
        uint2 ql = load8x2(b + 64 * h + 32 * (quarter % 2) + i0);
        uint2 qh = load8x2(b + 128 + 32 * h + i0);
        float d = loadHalf(b + 208) * static_cast<float>(reinterpret_cast<const int8_t*>(b + 192)[8 * h + 2 * quarter + (t % 4) / 2]);
        int lowShift = 4 * (quarter / 2), highShift = 2 * quarter;
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            uint32_t lw = i < 4 ? ql.x : ql.y, hw = i < 4 ? qh.x : qh.y;
            int q = ((lw >> (8 * (i % 4) + lowShift)) & 0xF) | (((hw >> (8 * (i % 4) + highShift)) & 3) << 4);
            v[i] = d * (q - 32);
        }
    }
};
template <> struct Dequant8<DType::Q4_0> {
    static constexpr int kBlock = 32, kBytes = 18;
    static __device__ __forceinline__ void run(const uint8_t* b, int t, float* v) {
        float d = loadHalf(b);
        uint2 q = load8x2(b + 2 + 8 * (t % 2));  // weights 0..15: low nibbles, 16..31: high
        int shift = 4 * (t / 2);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = d * (static_cast<int>(((i < 4 ? q.x : q.y) >> (8 * (i % 4) + shift)) & 0xF) - 8);
    }
};
template <> struct Dequant8<DType::Q8_0> {
    static constexpr int kBlock = 32, kBytes = 34;
    static __device__ __forceinline__ void run(const uint8_t* b, int t, float* v) {
        float d = loadHalf(b);
        uint2 q = load8x2(b + 2 + 8 * t);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = d * static_cast<float>(static_cast<int8_t>((i < 4 ? q.x : q.y) >> (8 * (i % 4))));
    }
};

// Planar rows (weight_repack.h): run(row, b, nb, t, v), weights 8t .. 8t + 7 of block b.
template <> struct Dequant8<kQ6_KPlanar> {
    static constexpr int kBlock = 256;
    static __device__ __forceinline__ void run(const uint8_t* row, int64_t b, int64_t nb, int t, float* v) {
        int g = t / 4, part = t % 4;  // 32-weight group g, weights 8 part .. 8 part + 7 of it
        uint2 ql = *reinterpret_cast<const uint2*>(row + repack::q6kQl(b) + 16 * g + 8 * (part % 2));
        uint2 qh = *reinterpret_cast<const uint2*>(row + repack::q6kQh(nb, b) + 8 * g);
        int8_t sc = reinterpret_cast<const int8_t*>(row + repack::q6kScales(nb, b))[2 * g + part / 2];
        float d = loadHalf(row + repack::q6kD(nb, b)) * static_cast<float>(sc);
#pragma unroll
        for (int h = 0; h < 2; ++h) {  // words j = 2 part + h: ql word j % 4 and qh word j % 2 as loaded
            uint32_t quad = repack::q6kQuad(h == 0 ? ql.x : ql.y, h == 0 ? qh.x : qh.y, 2 * part + h);
#pragma unroll
            for (int e = 0; e < 4; ++e) v[4 * h + e] = d * (static_cast<int>((quad >> (8 * e)) & 0xFF) - 32);
        }
    }
};
template <> struct Dequant8<kQ4_0Planar> {
    static constexpr int kBlock = 32;
    static __device__ __forceinline__ void run(const uint8_t* row, int64_t b, int64_t nb, int t, float* v) {
        float d = loadHalf(row + repack::q40D(nb, b));
        uint2 q = *reinterpret_cast<const uint2*>(row + repack::q40Qs(b) + 8 * (t % 2));
        int shift = 4 * (t / 2);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            v[i] = d * (static_cast<int>(((i < 4 ? q.x : q.y) >> (8 * (i % 4) + shift)) & 0xF) - 8);
        }
    }
};

template <uint32_t kType>
__global__ void dequantize8Kernel(const uint8_t* __restrict__ w, size_t rowBytes, int64_t groupsPerRow,
                                  int64_t groups, __half* __restrict__ out) {
    gpu::dependencyWait();
    constexpr DType T = static_cast<DType>(kType);
    int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= groups) return;
    using D = Dequant8<T>;
    int64_t row = g / groupsPerRow, within = g % groupsPerRow;
    constexpr int kPerBlock = D::kBlock / 8;
    float v[8];
    if constexpr (isPlanar(T)) {
        int64_t nb = groupsPerRow / kPerBlock;
        D::run(w + row * rowBytes, within / kPerBlock, nb, static_cast<int>(within % kPerBlock), v);
    } else {
        D::run(w + row * rowBytes + (within / kPerBlock) * D::kBytes, static_cast<int>(within % kPerBlock), v);
    }
    half2 h[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) h[i] = __floats2half2_rn(v[2 * i], v[2 * i + 1]);
    *reinterpret_cast<int4*>(out + 8 * g) = *reinterpret_cast<const int4*>(h);
}

// x -> hi = half(x), lo = half(x - hi) (lo may be null); four values a thread with 16-byte
// loads where the pointers allow, else one.
__global__ void splitHalfKernel(const float* __restrict__ x, int64_t count, __half* __restrict__ hi,
                                __half* __restrict__ lo, bool vector) {
    gpu::dependencyWait();
    int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    int64_t i = vector ? 4 * t : t, end = vector ? min(i + 4, count) : min(i + 1, count);
    if (vector && end - i == 4) {
        float4 v = *reinterpret_cast<const float4*>(x + i);
        half2 h[2] = {__floats2half2_rn(v.x, v.y), __floats2half2_rn(v.z, v.w)};
        *reinterpret_cast<uint2*>(hi + i) = *reinterpret_cast<const uint2*>(h);
        if (lo) {
            float2 a = __half22float2(h[0]), b = __half22float2(h[1]);
            half2 l[2] = {__floats2half2_rn(v.x - a.x, v.y - a.y), __floats2half2_rn(v.z - b.x, v.w - b.y)};
            *reinterpret_cast<uint2*>(lo + i) = *reinterpret_cast<const uint2*>(l);
        }
        return;
    }
    for (; i < end; ++i) {
        __half h = __float2half_rn(x[i]);
        hi[i] = h;
        if (lo) lo[i] = __float2half_rn(x[i] - __half2float(h));
    }
}

__device__ __forceinline__ void storeHalf4(__half* hi, __half* lo, int64_t i, float4 v) {
    half2 h[2] = {__floats2half2_rn(v.x, v.y), __floats2half2_rn(v.z, v.w)};
    *reinterpret_cast<uint2*>(hi + i) = *reinterpret_cast<const uint2*>(h);
    if (lo) {
        float2 a = __half22float2(h[0]), b = __half22float2(h[1]);
        half2 l[2] = {__floats2half2_rn(v.x - a.x, v.y - a.y), __floats2half2_rn(v.z - b.x, v.w - b.y)};
        *reinterpret_cast<uint2*>(lo + i) = *reinterpret_cast<const uint2*>(l);
    }
}

// The matmul input of a prefill, prepared in one pass per column: the norm / residual add /
// SiLU that produced it (written to p.out and p.sum as the ops ask) and its half form for the
// BLAS. One block per column: every element is read and written by one thread in both passes,
// so out and sum may alias a. 16-byte aligned columns only (the launcher checks).
constexpr int kPrepThreads = 256;
__global__ void __launch_bounds__(kPrepThreads)
prepareHalfKernel(PrepArgs p, __half* __restrict__ hi, __half* __restrict__ lo) {
    gpu::dependencyWait();
    int64_t col = blockIdx.x, base = col * p.k;
    const float4* a = reinterpret_cast<const float4*>(p.a + base);
    const float4* b = p.b ? reinterpret_cast<const float4*>(p.b + base) : nullptr;
    float4* out = reinterpret_cast<float4*>(p.out + base);
    int64_t quads = p.k / 4;
    if (p.mode == Prep::Silu) {
        for (int64_t i = threadIdx.x; i < quads; i += kPrepThreads) {
            float4 g = a[i], u = b[i];
            float4 v = make_float4(g.x / (1.0f + expf(-g.x)) * u.x, g.y / (1.0f + expf(-g.y)) * u.y,
                                   g.z / (1.0f + expf(-g.z)) * u.z, g.w / (1.0f + expf(-g.w)) * u.w);
            out[i] = v;
            storeHalf4(hi, lo, base + 4 * i, v);
        }
        return;
    }
    // Norm / AddNorm: the sum of squares first (AddNorm writes the residual sum on the way).
    float4* sum = p.mode == Prep::AddNorm ? reinterpret_cast<float4*>(p.sum + base) : nullptr;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < quads; i += kPrepThreads) {
        float4 v = a[i];
        if (sum) {
            float4 w = b[i];
            v = make_float4(v.x + w.x, v.y + w.y, v.z + w.z, v.w + w.w);
            sum[i] = v;
        }
        ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
    }
    float scale = rsqrtf(gpu::blockSum(ss) / static_cast<float>(p.k) + p.eps);
    const float4* src = sum ? sum : a;
    const float4* weight = reinterpret_cast<const float4*>(p.weight);
    for (int64_t i = threadIdx.x; i < quads; i += kPrepThreads) {
        float4 v = src[i], w = weight[i];
        v = make_float4(v.x * scale * w.x, v.y * scale * w.y, v.z * scale * w.z, v.w * scale * w.w);
        out[i] = v;
        storeHalf4(hi, lo, base + 4 * i, v);
    }
}

__global__ void addBiasKernel(float* out, const float* __restrict__ bias, int64_t rows, int64_t count) {
    gpu::dependencyWait();
    int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) out[i] += bias[i % rows];
}

// 8 weights a thread where Dequant8 has the type and the rows keep its loads aligned (K-quant
// blocks 16 bytes, the others 2), else 32 a thread through the shared dequant32 readers.
template <DType T>
void launchDequant(const uint8_t* w, int64_t k, int64_t rows, __half* out, gpuStream_t stream) {
    size_t rowBytes = weightRowBytes(T, k);
    constexpr bool kHas8 = T == DType::Q4_K || T == DType::Q5_K || T == DType::Q6_K || T == DType::Q4_0 ||
                           T == DType::Q8_0 || isPlanar(T);
    if constexpr (kHas8) {
        size_t align = T == DType::Q4_K || T == DType::Q5_K || isPlanar(T) ? 16 : 2;
        if ((reinterpret_cast<uintptr_t>(w) | rowBytes) % align == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0) {
            int64_t groups = rows * (k / 8);
            gpu::launch(dequantize8Kernel<kernelType(T)>, dim3(static_cast<unsigned>((groups + 255) / 256)),
                        dim3(256), 0, stream, w, rowBytes, k / 8, groups, out);
            return;
        }
    }
    int64_t chunks = rows * (k / 32);
    gpu::launch(dequantizeToHalfKernel<kernelType(T)>, dim3(static_cast<unsigned>((chunks + 255) / 256)), dim3(256),
                0, stream, w, rowBytes, k / 32, chunks, out);
}

}  // namespace

void dequantizeToHalf(DType type, const uint8_t* w, int64_t k, int64_t rows, void* out, gpuStream_t stream) {
    auto* o = static_cast<__half*>(out);
    switch (type) {
        case DType::BF16: launchDequant<DType::BF16>(w, k, rows, o, stream); break;
        case DType::Q4_0: launchDequant<DType::Q4_0>(w, k, rows, o, stream); break;
        case DType::Q4_1: launchDequant<DType::Q4_1>(w, k, rows, o, stream); break;
        case DType::Q5_0: launchDequant<DType::Q5_0>(w, k, rows, o, stream); break;
        case DType::Q8_0: launchDequant<DType::Q8_0>(w, k, rows, o, stream); break;
        case DType::Q4_K: launchDequant<DType::Q4_K>(w, k, rows, o, stream); break;
        case DType::Q5_K: launchDequant<DType::Q5_K>(w, k, rows, o, stream); break;
        case DType::Q6_K: launchDequant<DType::Q6_K>(w, k, rows, o, stream); break;
        default:
            if (type == kQ4_0Planar) launchDequant<kQ4_0Planar>(w, k, rows, o, stream);
            if (type == kQ6_KPlanar) launchDequant<kQ6_KPlanar>(w, k, rows, o, stream);
            break;
    }
}

void splitToHalf(const float* x, int64_t count, void* hi, void* lo, gpuStream_t stream) {
    bool vector = (reinterpret_cast<uintptr_t>(x) % 16 | reinterpret_cast<uintptr_t>(hi) % 8 |
                   reinterpret_cast<uintptr_t>(lo) % 8) == 0;
    int64_t threads = vector ? (count + 3) / 4 : count;
    gpu::launch(splitHalfKernel, dim3(static_cast<unsigned>((threads + 255) / 256)), dim3(256), 0, stream, x, count,
                static_cast<__half*>(hi), static_cast<__half*>(lo), vector);
}

bool prepareHalf(const PrepArgs& p, void* hi, void* lo, gpuStream_t stream) {
    auto misaligned = [](const void* q) { return reinterpret_cast<uintptr_t>(q) % 16 != 0; };
    bool norm = p.mode == Prep::Norm || p.mode == Prep::AddNorm;
    if (p.mode == Prep::Quantize || !p.out || p.k % 4 != 0 || misaligned(p.a) || misaligned(p.out) ||
        misaligned(hi) || misaligned(lo) || (p.mode != Prep::Norm && (!p.b || misaligned(p.b))) ||
        (norm && (!p.weight || misaligned(p.weight))) || (p.mode == Prep::AddNorm && (!p.sum || misaligned(p.sum)))) {
        return false;
    }
    gpu::launch(prepareHalfKernel, dim3(static_cast<unsigned>(p.n)), dim3(kPrepThreads), 0, stream, p,
                static_cast<__half*>(hi), static_cast<__half*>(lo));
    return true;
}

void addBias(float* out, const float* bias, int64_t rows, int64_t n, gpuStream_t stream) {
    int64_t count = rows * n;
    gpu::launch(addBiasKernel, dim3(static_cast<unsigned>((count + 255) / 256)), dim3(256), 0, stream, out, bias, rows,
                count);
}

const void* GemmLibrary::halfWeights(DType type, const uint8_t* w, int64_t k, int64_t rows, gpuStream_t stream) {
    if (halfWeightsMode_ < 0) {
        const char* on = std::getenv("HEARTH_CUDA_F16_WEIGHTS");
        halfWeightsMode_ = on && std::string(on) == "1" ? 1 : 0;
    }
    if (halfWeightsMode_ != 1 || type == DType::F16) return nullptr;
    auto it = halfCopies_.find(w);
    if (it != halfCopies_.end() && it->second.type == type && it->second.k == k && it->second.rows == rows) {
        return it->second.half;
    }
    if (it != halfCopies_.end()) {  // the same address seen with another shape: not a weight we know
        return nullptr;
    }
    void* half = nullptr;
    if (gpuMalloc(&half, static_cast<size_t>(k * rows) * 2) != gpuSuccess) {
        (void)gpuGetLastError();
        halfWeightsMode_ = 2;  // out of memory: dequantize per call from now on
        return nullptr;
    }
    dequantizeToHalf(type, w, k, rows, half, stream);
    halfCopies_.emplace(w, HalfCopy{type, k, rows, half});
    return half;
}

void GemmLibrary::releaseHalfCopies() {
    for (auto& [w, copy] : halfCopies_) (void)gpuFree(copy.half);
    halfCopies_.clear();
}

void GemmLibrary::forget(const void* begin, size_t bytes) {
    auto at = static_cast<const uint8_t*>(begin);
    for (auto it = halfCopies_.lower_bound(begin); it != halfCopies_.end() &&
                                                   static_cast<const uint8_t*>(it->first) < at + bytes;) {
        (void)gpuFree(it->second.half);
        it = halfCopies_.erase(it);
    }
}

#if defined(HEARTH_GPU_HIP)

// hipBLAS is not part of Debian's ROCm: the WMMA-style kernel serves every prefill there.
GemmLibrary::GemmLibrary() = default;
GemmLibrary::~GemmLibrary() { releaseHalfCopies(); }
bool GemmLibrary::available(gpuStream_t) { return false; }
bool GemmLibrary::gemm(int64_t, int64_t, int64_t, const void*, const void*, float*, bool) { return false; }

#else

namespace {
// The subset of cuBLAS used here, declared by hand so nothing links against it at build time.
using Handle = void*;
constexpr int kOpN = 0, kOpT = 1, kR16F = 2, kR32F = 0, kCompute32F = 68, kGemmDefault = -1;
using CreateFn = int (*)(Handle*);
using DestroyFn = int (*)(Handle);
using SetStreamFn = int (*)(Handle, cudaStream_t);
using GemmExFn = int (*)(Handle, int, int, int, int, int, const void*, const void*, int, int, const void*, int, int,
                         const void*, void*, int, int, int, int);
}  // namespace

struct GemmLibrary::Impl {
    void* lib = nullptr;
    Handle handle = nullptr;
    DestroyFn destroy = nullptr;
    GemmExFn gemmEx = nullptr;
    bool tried = false;
};

GemmLibrary::GemmLibrary() : impl_(new Impl) {}

GemmLibrary::~GemmLibrary() {
    releaseHalfCopies();
    if (impl_->handle && impl_->destroy) impl_->destroy(impl_->handle);
    if (impl_->lib) dlclose(impl_->lib);
    delete impl_;
}

bool GemmLibrary::available(gpuStream_t stream) {
    if (!impl_->tried) {
        impl_->tried = true;
        if (const char* off = std::getenv("HEARTH_CUDA_BLAS"); off && std::string(off) == "0") return false;
        for (const char* name : {"libcublas.so.13", "libcublas.so"}) {
            if ((impl_->lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
        }
        if (!impl_->lib) return false;
        auto create = reinterpret_cast<CreateFn>(dlsym(impl_->lib, "cublasCreate_v2"));
        auto setStream = reinterpret_cast<SetStreamFn>(dlsym(impl_->lib, "cublasSetStream_v2"));
        impl_->destroy = reinterpret_cast<DestroyFn>(dlsym(impl_->lib, "cublasDestroy_v2"));
        impl_->gemmEx = reinterpret_cast<GemmExFn>(dlsym(impl_->lib, "cublasGemmEx"));
        if (!create || !setStream || !impl_->destroy || !impl_->gemmEx || create(&impl_->handle) != 0 ||
            setStream(impl_->handle, stream) != 0) {
            impl_->handle = nullptr;
            return false;
        }
    }
    return impl_->handle != nullptr;
}

bool GemmLibrary::gemm(int64_t k, int64_t rows, int64_t n, const void* wHalf, const void* xHalf, float* out,
                       bool accumulate) {
    // Column-major view: W is k x rows (lda = k), x is k x n, out is rows x n: out = W^T x.
    const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    int status = impl_->gemmEx(impl_->handle, kOpT, kOpN, static_cast<int>(rows), static_cast<int>(n),
                               static_cast<int>(k), &alpha, wHalf, kR16F, static_cast<int>(k), xHalf, kR16F,
                               static_cast<int>(k), &beta, out, kR32F, static_cast<int>(rows), kCompute32F,
                               kGemmDefault);
    return status == 0;
}

#endif

}  // namespace hearth::cuda
