// Register-level matrix products for kernels that keep their tiles in registers (prefill
// attention): the warp-wide m16n8k16 product of the PTX ISA, half inputs, float accumulators.
//
// Fragment layout (lane = 4 * g + t, g = lane / 4, t = lane % 4; "pair" = two halves in one
// 32-bit register, the lower index in the low half):
//   A 16x16 (row-major):  a[0] = A[g][2t..2t+1],  a[1] = A[g+8][2t..],  a[2] = A[g][2t+8..],
//                         a[3] = A[g+8][2t+8..]
//   B 16x8 (k x n):       b[0] = B[2t..2t+1][g],  b[1] = B[2t+8..2t+9][g]
//   C 16x8 (float):       c[0..1] = C[g][2t..2t+1], c[2..3] = C[g+8][2t..2t+1]
// A C fragment of two neighbouring n-tiles therefore is the A fragment of the next product
// (the flash-attention trick: softmax weights go from one product to the next in registers).
//
// sm_80+ runs it on the tensor cores (mma.sync); elsewhere (HIP, older NVIDIA chips) the same
// layout is computed with lane shuffles, so kernels written against it compile everywhere.
#pragma once

#include "backends/cuda/gpu_compat.h"

namespace hearth::gpu {

__device__ __forceinline__ uint32_t packHalf2(float lo, float hi) {
    half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&h);
}

__device__ __forceinline__ float2 unpackHalf2(uint32_t v) {
    return __half22float2(*reinterpret_cast<half2*>(&v));
}

__device__ __forceinline__ uint32_t shflWord(uint32_t v, int srcLane) {
#if defined(HEARTH_GPU_HIP)
    return static_cast<uint32_t>(__shfl(static_cast<int>(v), srcLane, kWarp));
#else
    return __shfl_sync(0xffffffffu, v, srcLane, kWarp);
#endif
}

// c += A * B for one 16x16x16 product (fragments as above), all 32 lanes of the warp together.
__device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4], const uint32_t b[2]) {
#if !defined(HEARTH_GPU_HIP) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    // Lane (g, t) needs rows g and g + 8 of A (held by the four lanes of quad g) and columns
    // 2t, 2t + 1 of B (held by quads 2t and 2t + 1).
    int lane = static_cast<int>(threadIdx.x) % kWarp, g = lane / 4, t = lane % 4;
#pragma unroll
    for (int s = 0; s < 4; ++s) {
        float2 r0 = unpackHalf2(shflWord(a[0], 4 * g + s)), r1 = unpackHalf2(shflWord(a[1], 4 * g + s));
        float2 r2 = unpackHalf2(shflWord(a[2], 4 * g + s)), r3 = unpackHalf2(shflWord(a[3], 4 * g + s));
        float2 c00 = unpackHalf2(shflWord(b[0], 8 * t + s)), c01 = unpackHalf2(shflWord(b[1], 8 * t + s));
        float2 c10 = unpackHalf2(shflWord(b[0], 8 * t + 4 + s)), c11 = unpackHalf2(shflWord(b[1], 8 * t + 4 + s));
        c[0] += r0.x * c00.x + r0.y * c00.y + r2.x * c01.x + r2.y * c01.y;
        c[1] += r0.x * c10.x + r0.y * c10.y + r2.x * c11.x + r2.y * c11.y;
        c[2] += r1.x * c00.x + r1.y * c00.y + r3.x * c01.x + r3.y * c01.y;
        c[3] += r1.x * c10.x + r1.y * c10.y + r3.x * c11.x + r3.y * c11.y;
    }
#endif
}

#if !defined(HEARTH_GPU_HIP) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define HEARTH_GPU_SM80 1
#endif

__device__ __forceinline__ uint32_t pairOf(const __half* lo, const __half* hi) {
    half2 h = __halves2half2(*lo, *hi);
    return *reinterpret_cast<uint32_t*>(&h);
}

// B fragments of two neighbouring n-tiles from shared memory where each n (a row of `ld` halves
// at base + n * ld) holds its k values contiguously (K rows for Q K^T): rows n0 .. n0 + 15 from
// base, k0 .. k0 + 15 from base. b[0..1]: n-tile n0, b[2..3]: n-tile n0 + 8. Rows 16-byte aligned.
__device__ __forceinline__ void loadBPairs(uint32_t b[4], const __half* base, int ld) {
    int lane = static_cast<int>(threadIdx.x) % kWarp;
#if defined(HEARTH_GPU_SM80)
    int m = lane / 8, r = lane % 8;  // lanes 8m .. 8m + 7 address the rows of matrix m
    const __half* p = base + (r + 8 * (m / 2)) * ld + 8 * (m % 2);
    auto at = static_cast<uint32_t>(__cvta_generic_to_shared(p));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3])
                 : "r"(at));
#else
    int g = lane / 4, t = lane % 4;
#pragma unroll
    for (int m = 0; m < 4; ++m) {
        b[m] = *reinterpret_cast<const uint32_t*>(base + (g + 8 * (m / 2)) * ld + 8 * (m % 2) + 2 * t);
    }
#endif
}

// The same where each k is a row (V rows for P V: row k holds the n values): rows k0 .. k0 + 15
// and columns n0 .. n0 + 15 from base. b[0..1]: n-tile n0, b[2..3]: n-tile n0 + 8.
__device__ __forceinline__ void loadBPairsTransposed(uint32_t b[4], const __half* base, int ld) {
    int lane = static_cast<int>(threadIdx.x) % kWarp;
#if defined(HEARTH_GPU_SM80)
    int m = lane / 8, r = lane % 8;
    const __half* p = base + (r + 8 * (m % 2)) * ld + 8 * (m / 2);
    auto at = static_cast<uint32_t>(__cvta_generic_to_shared(p));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3])
                 : "r"(at));
#else
    int g = lane / 4, t = lane % 4;
#pragma unroll
    for (int m = 0; m < 4; ++m) {
        const __half* p = base + (2 * t + 8 * (m % 2)) * ld + 8 * (m / 2) + g;
        b[m] = pairOf(p, p + ld);
    }
#endif
}

// 16 bytes global -> shared without passing through registers where the chip can (cp.async,
// sm_80+); `valid` false stores zeros. Completion: copyCommit() closes a group of copies,
// copyWait<N>() waits until at most N groups are in flight; a barrier then publishes them.
__device__ __forceinline__ void copy16(void* smem, const void* global, bool valid) {
#if defined(HEARTH_GPU_SM80)
    auto at = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(at), "l"(global), "r"(valid ? 16 : 0));
#else
    *static_cast<int4*>(smem) = valid ? *static_cast<const int4*>(global) : make_int4(0, 0, 0, 0);
#endif
}
__device__ __forceinline__ void copyCommit() {
#if defined(HEARTH_GPU_SM80)
    asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}
template <int N>
__device__ __forceinline__ void copyWait() {
#if defined(HEARTH_GPU_SM80)
    asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
#endif
}

}  // namespace hearth::gpu
