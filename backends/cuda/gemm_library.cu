// Prefill matmuls through the vendor BLAS when it is installed: the weight matrix is dequantized
// to half precision into scratch (a memory-bound pass) and multiplied on the tensor cores by
// cublasGemmEx with float accumulation. The library is opened at run time (dlopen), so the module
// still loads and runs without it, falling back to the WMMA kernel of matmul_tiled.cu.
#include "backends/cuda/gemm_library.h"

#include <dlfcn.h>

#include "backends/cuda/quant_blocks.cuh"

namespace hearth::cuda {
namespace {

template <DType T>
__global__ void dequantizeToHalfKernel(const uint8_t* __restrict__ w, size_t rowBytes, int64_t chunksPerRow,
                                       int64_t chunks, __half* __restrict__ out) {
    gpu::dependencyWait();
    int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= chunks) return;
    int64_t row = c / chunksPerRow, within = c % chunksPerRow;
    float v[32];
    Dequant<T>::run(w + row * rowBytes, static_cast<int>(within), v);
    int4* dst = reinterpret_cast<int4*>(out + c * 32);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        half2 h[4];
#pragma unroll
        for (int j = 0; j < 4; ++j) h[j] = __floats2half2_rn(v[8 * i + 2 * j], v[8 * i + 2 * j + 1]);
        dst[i] = *reinterpret_cast<int4*>(h);
    }
}

// x -> hi = half(x), lo = half(x - hi) (lo may be null).
__global__ void splitHalfKernel(const float* __restrict__ x, int64_t count, __half* __restrict__ hi,
                                __half* __restrict__ lo) {
    gpu::dependencyWait();
    int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    __half h = __float2half_rn(x[i]);
    hi[i] = h;
    if (lo) lo[i] = __float2half_rn(x[i] - __half2float(h));
}

__global__ void addBiasKernel(float* out, const float* __restrict__ bias, int64_t rows, int64_t count) {
    gpu::dependencyWait();
    int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) out[i] += bias[i % rows];
}

template <DType T>
void launchDequant(const uint8_t* w, int64_t k, int64_t rows, __half* out, gpuStream_t stream) {
    int64_t chunks = rows * (k / 32);
    gpu::launch(dequantizeToHalfKernel<T>, dim3(static_cast<unsigned>((chunks + 255) / 256)), dim3(256), 0, stream, w,
                static_cast<size_t>(*dtypeRowBytes(T, static_cast<uint64_t>(k))), k / 32, chunks, out);
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
        default: break;
    }
}

void splitToHalf(const float* x, int64_t count, void* hi, void* lo, gpuStream_t stream) {
    gpu::launch(splitHalfKernel, dim3(static_cast<unsigned>((count + 255) / 256)), dim3(256), 0, stream, x, count,
                static_cast<__half*>(hi), static_cast<__half*>(lo));
}

void addBias(float* out, const float* bias, int64_t rows, int64_t n, gpuStream_t stream) {
    int64_t count = rows * n;
    gpu::launch(addBiasKernel, dim3(static_cast<unsigned>((count + 255) / 256)), dim3(256), 0, stream, out, bias, rows,
                count);
}

#if defined(HEARTH_GPU_HIP)

// hipBLAS is not part of Debian's ROCm: the WMMA-style kernel serves every prefill there.
GemmLibrary::GemmLibrary() = default;
GemmLibrary::~GemmLibrary() = default;
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
