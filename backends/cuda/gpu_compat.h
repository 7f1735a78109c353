// The one place where CUDA and HIP differ. Every .cu file of the CUDA backend includes this
// instead of cuda_runtime.h; backends/hip/ compiles the same files with hipcc and
// HEARTH_GPU_HIP defined, which maps the runtime names below onto HIP's and swaps the few
// device intrinsics that differ (warp size 32 vs 64, dp4a, tensor-core availability).
// Kernels use only the gpu* names and the helpers here, never a vendor #ifdef of their own.
#pragma once

#if defined(HEARTH_GPU_HIP)
#include <hip/hip_fp16.h>
#include <hip/hip_runtime.h>

#define gpuError_t hipError_t
#define gpuSuccess hipSuccess
#define gpuErrorNoDevice hipErrorNoDevice
#define gpuErrorInsufficientDriver hipErrorInsufficientDriver
#define gpuGetErrorString hipGetErrorString
#define gpuGetLastError hipGetLastError
#define gpuGetDeviceCount hipGetDeviceCount
#define gpuGetDeviceProperties hipGetDeviceProperties
#define gpuDeviceProp hipDeviceProp_t
#define gpuSetDevice hipSetDevice
#define gpuGetDevice hipGetDevice
#define gpuDeviceGetAttribute hipDeviceGetAttribute
#define gpuDevAttrMultiProcessorCount hipDeviceAttributeMultiprocessorCount
#define gpuOccupancyMaxActiveBlocksPerMultiprocessor hipOccupancyMaxActiveBlocksPerMultiprocessor
#define gpuMemGetInfo hipMemGetInfo
#define gpuMalloc hipMalloc
#define gpuFree hipFree
#define gpuMallocHost hipHostMalloc
#define gpuFreeHost hipHostFree
#define gpuMemcpy hipMemcpy
#define gpuMemcpyAsync hipMemcpyAsync
#define gpuMemsetAsync hipMemsetAsync
#define gpuMemcpyHostToDevice hipMemcpyHostToDevice
#define gpuMemcpyDeviceToHost hipMemcpyDeviceToHost
#define gpuMemcpyDeviceToDevice hipMemcpyDeviceToDevice
#define gpuStream_t hipStream_t
#define gpuStreamCreateWithFlags hipStreamCreateWithFlags
#define gpuStreamNonBlocking hipStreamNonBlocking
#define gpuStreamDestroy hipStreamDestroy
#define gpuStreamSynchronize hipStreamSynchronize
#define gpuStreamBeginCapture hipStreamBeginCapture
#define gpuStreamEndCapture hipStreamEndCapture
#define gpuStreamCaptureModeRelaxed hipStreamCaptureModeRelaxed
#define gpuGraph_t hipGraph_t
#define gpuGraphExec_t hipGraphExec_t
#define gpuGraphInstantiate(exec, graph) hipGraphInstantiate(exec, graph, nullptr, nullptr, 0)
#define gpuGraphLaunch hipGraphLaunch
#define gpuGraphDestroy hipGraphDestroy
#define gpuGraphExecDestroy hipGraphExecDestroy
#define gpuDriverGetVersion hipDriverGetVersion
#define gpuFuncSetAttribute hipFuncSetAttribute
#define gpuFuncAttributeMaxDynamicSharedMemorySize hipFuncAttributeMaxDynamicSharedMemorySize
#define HEARTH_GPU_VENDOR "AMD"
#define HEARTH_GPU_BACKEND "hip"
#define HEARTH_GPU_DRIVER_LIBRARY "libamdhip64.so"
// The runtime version in CUDA's encoding (1000 * major + 10 * minor), for messages.
#define HEARTH_GPU_RUNTIME_VERSION (HIP_VERSION_MAJOR * 1000 + HIP_VERSION_MINOR * 10)
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#define gpuError_t cudaError_t
#define gpuSuccess cudaSuccess
#define gpuErrorNoDevice cudaErrorNoDevice
#define gpuErrorInsufficientDriver cudaErrorInsufficientDriver
#define gpuGetErrorString cudaGetErrorString
#define gpuGetLastError cudaGetLastError
#define gpuGetDeviceCount cudaGetDeviceCount
#define gpuGetDeviceProperties cudaGetDeviceProperties
#define gpuDeviceProp cudaDeviceProp
#define gpuSetDevice cudaSetDevice
#define gpuGetDevice cudaGetDevice
#define gpuDeviceGetAttribute cudaDeviceGetAttribute
#define gpuDevAttrMultiProcessorCount cudaDevAttrMultiProcessorCount
#define gpuOccupancyMaxActiveBlocksPerMultiprocessor cudaOccupancyMaxActiveBlocksPerMultiprocessor
#define gpuMemGetInfo cudaMemGetInfo
#define gpuMalloc cudaMalloc
#define gpuFree cudaFree
#define gpuMallocHost cudaMallocHost
#define gpuFreeHost cudaFreeHost
#define gpuMemcpy cudaMemcpy
#define gpuMemcpyAsync cudaMemcpyAsync
#define gpuMemsetAsync cudaMemsetAsync
#define gpuMemcpyHostToDevice cudaMemcpyHostToDevice
#define gpuMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define gpuMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define gpuStream_t cudaStream_t
#define gpuStreamCreateWithFlags cudaStreamCreateWithFlags
#define gpuStreamNonBlocking cudaStreamNonBlocking
#define gpuStreamDestroy cudaStreamDestroy
#define gpuStreamSynchronize cudaStreamSynchronize
#define gpuStreamBeginCapture cudaStreamBeginCapture
#define gpuStreamEndCapture cudaStreamEndCapture
#define gpuStreamCaptureModeRelaxed cudaStreamCaptureModeRelaxed
#define gpuGraph_t cudaGraph_t
#define gpuGraphExec_t cudaGraphExec_t
#define gpuGraphInstantiate(exec, graph) cudaGraphInstantiate(exec, graph, 0)
#define gpuGraphLaunch cudaGraphLaunch
#define gpuGraphDestroy cudaGraphDestroy
#define gpuGraphExecDestroy cudaGraphExecDestroy
#define gpuDriverGetVersion cudaDriverGetVersion
#define gpuFuncSetAttribute cudaFuncSetAttribute
#define gpuFuncAttributeMaxDynamicSharedMemorySize cudaFuncAttributeMaxDynamicSharedMemorySize
#define HEARTH_GPU_VENDOR "NVIDIA"
#define HEARTH_GPU_BACKEND "cuda"
#define HEARTH_GPU_DRIVER_LIBRARY "libcuda.so.1"
#define HEARTH_GPU_RUNTIME_VERSION CUDART_VERSION
#endif

#include <cstdint>

#if !defined(HEARTH_GPU_HIP)
#include <mma.h>
#endif

namespace hearth::gpu {

// Threads that execute in lockstep: 32 on NVIDIA and RDNA, 64 on CDNA (gfx90a, gfx940). Kernels
// are written for 32-lane groups: on a 64-lane wave, the reductions below stay within each half,
// so a "warp" in these kernels is always 32 lanes wide.
inline constexpr int kWarp = 32;

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
    for (int o = kWarp / 2; o > 0; o >>= 1) {
#if defined(HEARTH_GPU_HIP)
        v += __shfl_xor(v, o, kWarp);
#else
        v += __shfl_xor_sync(0xffffffffu, v, o, kWarp);
#endif
    }
    return v;
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
    for (int o = kWarp / 2; o > 0; o >>= 1) {
#if defined(HEARTH_GPU_HIP)
        v = fmaxf(v, __shfl_xor(v, o, kWarp));
#else
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o, kWarp));
#endif
    }
    return v;
}

// Sums v over the block (blockDim.x a multiple of the warp size, at most 1024); every thread gets
// the sum. Two barriers: call it from every thread of the block.
__device__ inline float blockSum(float v) {
    __shared__ float part[32];
    __shared__ float total;
    v = warpSum(v);
    int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        int warps = blockDim.x / kWarp;
        float s = lane < warps ? part[lane] : 0.0f;
        s = warpSum(s);
        if (lane == 0) total = s;
    }
    __syncthreads();
    return total;
}

__device__ __forceinline__ float shflXor(float v, int o) {
#if defined(HEARTH_GPU_HIP)
    return __shfl_xor(v, o, kWarp);
#else
    return __shfl_xor_sync(0xffffffffu, v, o, kWarp);
#endif
}

__device__ __forceinline__ int warpShflXorInt(int v, int o) {
#if defined(HEARTH_GPU_HIP)
    return __shfl_xor(v, o, kWarp);
#else
    return __shfl_xor_sync(0xffffffffu, v, o, kWarp);
#endif
}

// Orders the shared-memory accesses of one warp's lanes (AMD waves run in lockstep: nothing).
__device__ __forceinline__ void syncWarp() {
#if !defined(HEARTH_GPU_HIP)
    __syncwarp();
#endif
}

// Four int8 products summed into c (dp4a on NVIDIA sm_61+, sdot4 on AMD).
__device__ __forceinline__ int dot4(int a, int b, int c) {
#if defined(HEARTH_GPU_HIP)
#if defined(__gfx906__) || defined(__gfx908__) || defined(__gfx90a__) || defined(__gfx940__) || \
    defined(__gfx1030__) || defined(__gfx1100__)
    return __builtin_amdgcn_sdot4(a, b, c, false);
#else
    const int8_t* x = reinterpret_cast<const int8_t*>(&a);
    const int8_t* y = reinterpret_cast<const int8_t*>(&b);
    return c + x[0] * y[0] + x[1] * y[1] + x[2] * y[2] + x[3] * y[3];
#endif
#else
    return __dp4a(a, b, c);
#endif
}

// Per-byte a - b with signed saturation; only used where no byte can overflow.
__device__ __forceinline__ int sub4(int a, int b) {
#if defined(HEARTH_GPU_HIP)
    int r;
    int8_t* o = reinterpret_cast<int8_t*>(&r);
    const int8_t* x = reinterpret_cast<const int8_t*>(&a);
    const int8_t* y = reinterpret_cast<const int8_t*>(&b);
#pragma unroll
    for (int i = 0; i < 4; ++i) o[i] = static_cast<int8_t>(x[i] - y[i]);
    return r;
#else
    return __vsubss4(a, b);
#endif
}

// A load that skips the per-SM cache: for data other blocks of the same launch wrote.
__device__ __forceinline__ float loadL2(const float* p) {
#if defined(HEARTH_GPU_HIP)
    return *static_cast<const volatile float*>(p);
#else
    return __ldcg(p);
#endif
}

__device__ __forceinline__ float halfToFloat(uint16_t h) {
    return __half2float(__ushort_as_half(h));
}

__device__ __forceinline__ float bf16ToFloat(uint16_t b) {
    return __uint_as_float(static_cast<uint32_t>(b) << 16);
}

// ---- launches ----------------------------------------------------------------------------------
// Every kernel is launched through gpu::launch and starts with gpu::dependencyWait(). On sm_90+
// the launch allows programmatic dependent launch: the next kernel's blocks are scheduled while
// this one drains and wait at dependencyWait() until it has finished and its writes are visible,
// which hides most of the gap between the many small kernels of a decode step. Elsewhere both
// are plain launches and no-ops.
inline bool& programmaticLaunch() {
    static bool enabled = false;
    return enabled;
}

__device__ __forceinline__ void dependencyWait() {
#if !defined(HEARTH_GPU_HIP) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;");
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

template <typename... KernelArgs, typename... Args>
void launch(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t sharedBytes, gpuStream_t stream,
            Args&&... args) {
#if defined(HEARTH_GPU_HIP)
    hipLaunchKernelGGL(kernel, grid, block, sharedBytes, stream, static_cast<KernelArgs>(args)...);
#else
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t config{};
    config.gridDim = grid;
    config.blockDim = block;
    config.dynamicSmemBytes = sharedBytes;
    config.stream = stream;
    config.attrs = attr;
    config.numAttrs = programmaticLaunch() ? 1 : 0;
    cudaLaunchKernelEx(&config, kernel, static_cast<KernelArgs>(args)...);
#endif
}

// ---- 16x16x16 matrix tiles: tensor cores through WMMA on NVIDIA, plain FMAs elsewhere --------
// One 32-lane warp multiplies a half A tile (row-major, 16 rows of k) with a half B tile
// (column-major: each of the 16 columns holds 16 consecutive k) into a float accumulator.
#if defined(HEARTH_GPU_HIP)
struct MmaAcc {
    float v[8];  // lane l owns row l/2, columns (l%2)*8 .. +7
};
__device__ __forceinline__ void mmaZero(MmaAcc& c) {
    for (int j = 0; j < 8; ++j) c.v[j] = 0.0f;
}
__device__ __forceinline__ void mmaTile(MmaAcc& c, const __half* a, int lda, const __half* b, int ldb) {
    int lane = threadIdx.x % kWarp, r = lane / 2, c0 = (lane % 2) * 8;
    for (int j = 0; j < 8; ++j) {
        float s = 0.0f;
        for (int k = 0; k < 16; ++k) s += __half2float(a[r * lda + k]) * __half2float(b[(c0 + j) * ldb + k]);
        c.v[j] += s;
    }
}
// Stores column-major: element (row, col) at out[col * ldc + row].
__device__ __forceinline__ void mmaStore(float* out, int ldc, const MmaAcc& c) {
    int lane = threadIdx.x % kWarp, r = lane / 2, c0 = (lane % 2) * 8;
    for (int j = 0; j < 8; ++j) out[(c0 + j) * ldc + r] = c.v[j];
}
#else
using MmaAcc = nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float>;
__device__ __forceinline__ void mmaZero(MmaAcc& c) { nvcuda::wmma::fill_fragment(c, 0.0f); }
__device__ __forceinline__ void mmaTile(MmaAcc& c, const __half* a, int lda, const __half* b, int ldb) {
    nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, __half, nvcuda::wmma::row_major> fa;
    nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, 16, __half, nvcuda::wmma::col_major> fb;
    nvcuda::wmma::load_matrix_sync(fa, a, lda);
    nvcuda::wmma::load_matrix_sync(fb, b, ldb);
    nvcuda::wmma::mma_sync(c, fa, fb, c);
}
__device__ __forceinline__ void mmaStore(float* out, int ldc, const MmaAcc& c) {
    nvcuda::wmma::store_matrix_sync(out, c, ldc, nvcuda::wmma::mem_col_major);
}
#endif

}  // namespace hearth::gpu

#include <string>

namespace hearth::gpu {

// How users and `hearth devices` name the chip generation: "9.0" on NVIDIA, "gfx90a" on AMD.
inline std::string archName(const gpuDeviceProp& p) {
#if defined(HEARTH_GPU_HIP)
    std::string arch = p.gcnArchName;
    return arch.substr(0, arch.find(':'));
#else
    return std::to_string(p.major) + "." + std::to_string(p.minor);
#endif
}

// Whether gpu::mmaTile runs on matrix units on this device.
inline bool hasTensorCores(const gpuDeviceProp& p) {
#if defined(HEARTH_GPU_HIP)
    (void)p;
    return false;
#else
    return p.major >= 7;
#endif
}

}  // namespace hearth::gpu
