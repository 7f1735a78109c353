// The CPU backend: ops run on the calling thread plus a pool of workers as soon as they are
// enqueued, so download() and synchronize() have nothing to wait for. Weights are used in place
// (loadWeights wraps the caller's mapping), activations live in 64-byte aligned heap buffers.
//
//   auto lib = hearth::cpu::makeCpuLibrary();
//   auto be = lib->open(0, {.threads = 4});
#pragma once

#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/kernels_amx.h"
#include "backends/cpu/key_blocks.h"
#include "backends/cpu/thread_pool.h"

namespace hearth::cpu {

// Heap memory on 64-byte boundaries, for the activations the decode kernels read 64 bytes at a
// time: a load that straddles two cache lines costs two (matmul streamed ~10 % slower when the
// buffer sat 32 bytes off a line).
template <class T>
struct CacheLineAllocator {
    using value_type = T;
    CacheLineAllocator() = default;
    template <class U>
    CacheLineAllocator(const CacheLineAllocator<U>&) {}
    T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
    void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t{64}); }
    template <class U>
    bool operator==(const CacheLineAllocator<U>&) const { return true; }
};
using CacheLineBytes = std::vector<uint8_t, CacheLineAllocator<uint8_t>>;
using CacheLineFloats = std::vector<float, CacheLineAllocator<float>>;
// `floats` rounded up to whole cache lines: per-thread parts of one scratch buffer each
// start a line of their own, so one thread's writes do not take the line from under another.
constexpr size_t wholeCacheLines(size_t floats) { return (floats + 15) / 16 * 16; }

class CpuBackend final : public Backend {
public:
    CpuBackend(DeviceInfo info, const BackendOptions& options);

    const DeviceInfo& device() const override { return info_; }
    bool supportsWeightType(DType type) const override { return isSupportedWeightType(type); }

    std::unique_ptr<Buffer> allocate(size_t bytes, BufferUsage usage) override;
    std::unique_ptr<Buffer> loadWeights(const void* host, size_t bytes) override;
    void upload(const Tensor& dst, const void* src, size_t bytes, size_t dstOffset = 0) override;
    void download(void* dst, const Tensor& src, size_t bytes, size_t srcOffset = 0) override;
    void synchronize() override {}

    void embed(const Tensor& out, const Tensor& table, const Tensor& ids) override;
    void matmul(const Tensor& x, std::span<const Projection> projections) override;
    void rmsNorm(const Tensor& out, const Tensor& x, const Tensor& weight, float eps) override;
    void rope(const Tensor& x, const Tensor& positions, const RopeParams& params) override;
    void storeKv(const Tensor& kCache, const Tensor& vCache, const Tensor& k, const Tensor& v,
                 const Tensor& positions) override;
    void attention(const Tensor& out, const Tensor& q, const Tensor& kCache, const Tensor& vCache,
                   const Tensor& positions, float scale) override;
    void readKv(void* k, void* v, const Tensor& kCache, const Tensor& vCache, int64_t rows) override;
    void siluMul(const Tensor& out, const Tensor& gate, const Tensor& up) override;
    void add(const Tensor& out, const Tensor& a, const Tensor& b) override;
    void argmax(const Tensor& out, const Tensor& x) override;
    void sample(const Tensor& out, const Tensor& x, const Tensor& params) override;  // cpu_sample.cpp

    int threads() const { return pool_.threads(); }
    const char* kernelName() const { return kernels_.name; }

private:
    // Host address of a tensor after checking that it is a CPU tensor of `type` inside its buffer.
    template <class T = void>
    T* data(const Tensor& t, const char* op, const char* what) const {
        return static_cast<T*>(checked(t, op, what));
    }
    void* checked(const Tensor& t, const char* op, const char* what) const;
    void quantizeInput(ActFormat format, const float* x, int64_t k, int64_t n);
    // The AMX prefill path (cpu_matmul_amx.cpp); false when it does not apply to this call.
    bool tryMatmulAmx(const float* in, int64_t k, int64_t n, std::span<const Projection> projections);
    // Attention on AVX-512 (cpu_attention_tiled.cpp): tiles for prefill, attentionDecode for a
    // decode step's one token; false when it does not apply.
    bool tryAttentionTiled(float* out, const float* q, const char* kCache, const char* vCache, const int32_t* pos,
                           int64_t n, int64_t heads, int64_t kvHeads, int64_t hd, int64_t ctx, bool f16,
                           float scale);
#if defined(HEARTH_CPU_X86)
    static constexpr int kMaxParts = 64;  // threads that split one decode step's attention
    void attentionDecode(float* out, const float* q, const char* kCache, const char* vCache, int32_t last,
                         int64_t heads, int64_t kvHeads, int64_t hd, int64_t ctx, bool f16, float scale);
#endif
    // Whether key caches of head dimension hd are kept in blocks of 16 positions (key_blocks.h):
    // with the AVX-512 kernels, whose attention reads them that way.
    bool blockedKeys(int64_t hd) const;
    void storeBlockedKeys(void* cache, DType type, const KeyBlocks& layout, const float* rows,
                          const int32_t* pos, int64_t n);

    DeviceInfo info_;
    const KernelTable& kernels_;
    const bool amx_ = amx::enabled(kernels_);  // after kernels_: initialised in this order
    // Whether the AVX-512 kernel table runs, which the other AVX-512 code (elementwise_avx512.cpp,
    // attention_avx512.cpp and its blocked key caches) goes with.
    const bool avx512_ = std::strcmp(kernels_.name, "avx512") == 0;
    ThreadPool pool_;
    CacheLineBytes actScratch_[kActFormats];  // one per ActFormat, reused between calls
    std::vector<uint16_t> kvRow_;             // storeKv: one key row converted to f16
    // matmul's work list (cpu_matmul.cpp): rows [firstRow, lastRow) of a projection, and at
    // decode a second run [secondFirst, secondLast) that the kernel takes in turn with the first.
    struct MatmulChunk {
        int projection;
        int64_t firstRow, lastRow;
        int64_t secondFirst = 0, secondLast = 0;
    };
    // One cache line per counter: a thread claiming chunks of its own part must not pull the
    // line of another's (at decode, sharing one cost ~10 % of the mat-vec time).
    struct alignas(64) ChunkCounter {
        std::atomic<size_t> index;
    };
    std::vector<MatmulChunk> matmulChunks_;
    std::vector<size_t> matmulParts_;
    std::vector<ChunkCounter> matmulCounters_;
    CacheLineFloats attnScratch_;
    static constexpr int kMaxArgmaxParts = 64;  // threads that split one row of argmax()
    // rope(): the cos/sin of the last call's angles, and what they were computed for.
    struct RopeAngles {
        int32_t position = -1;  // the one token's position; -1 when not reusable
        int rotaryDims = 0;
        float theta = 0.0f, positionScale = 0.0f;
        std::vector<float> factors;  // freqFactors' values, empty without
        std::vector<float> cs;       // per token: cos, sin of each angle
    };
    RopeAngles ropeAngles_;
};

std::unique_ptr<BackendLibrary> makeCpuLibrary();

}  // namespace hearth::cpu
