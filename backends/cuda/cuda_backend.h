// The CUDA backend (also built as the HIP backend from the same sources, see gpu_compat.h):
// one device, one in-order stream; every op enqueues kernels on it and returns. capture()
// records a sequence of ops as a CUDA graph that Graph::run() replays.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/cuda/gemm_library.h"
#include "backends/cuda/gpu_compat.h"
#include "backends/cuda/kernels.h"

namespace hearth::cuda {

class CudaBackend;

class CudaBuffer final : public Buffer {
public:
    CudaBuffer(CudaBackend& owner, void* ptr, size_t bytes) : owner_(owner), ptr_(ptr), bytes_(bytes) {}
    ~CudaBuffer() override;
    size_t size() const override { return bytes_; }
    void* devicePointer() const { return ptr_; }
    const CudaBackend& owner() const { return owner_; }

    // A tensor prepareWeights rewrote into a planar layout (weight_repack.h).
    struct Planar {
        size_t offset, bytes, rowBytes;
        DType type;  // its GGUF type
    };
    // The last rewritten tensor that [offset, offset + bytes) overlaps, or nullptr.
    const Planar* planarOverlapping(size_t offset, size_t bytes) const;
    void addPlanar(const Planar& p);
    bool hasPlanar() const { return !planar_.empty(); }

private:
    CudaBackend& owner_;
    void* ptr_;
    size_t bytes_;
    std::vector<Planar> planar_;  // by offset
};

class CudaBackend final : public Backend {
public:
    CudaBackend(int ordinal, DeviceInfo info);
    ~CudaBackend() override;

    const DeviceInfo& device() const override { return info_; }
    bool supportsWeightType(DType type) const override;

    std::unique_ptr<Buffer> allocate(size_t bytes, BufferUsage usage) override;
    std::unique_ptr<Buffer> loadWeights(const void* host, size_t bytes) override;
    size_t prepareWeights(std::span<const Tensor> weights) override;  // repack.cu
    void upload(const Tensor& dst, const void* src, size_t bytes, size_t dstOffset = 0) override;
    void download(void* dst, const Tensor& src, size_t bytes, size_t srcOffset = 0) override;
    void synchronize() override;

    void embed(const Tensor& out, const Tensor& table, const Tensor& ids) override;
    void matmul(const Tensor& x, std::span<const Projection> projections) override;
    void rmsNorm(const Tensor& out, const Tensor& x, const Tensor& weight, float eps) override;
    void rope(const Tensor& x, const Tensor& positions, const RopeParams& params) override;
    void storeKv(const Tensor& kCache, const Tensor& vCache, const Tensor& k, const Tensor& v,
                 const Tensor& positions) override;
    void attention(const Tensor& out, const Tensor& q, const Tensor& kCache, const Tensor& vCache,
                   const Tensor& positions, float scale) override;
    void siluMul(const Tensor& out, const Tensor& gate, const Tensor& up) override;
    void add(const Tensor& out, const Tensor& a, const Tensor& b) override;
    void argmax(const Tensor& out, const Tensor& x) override;
    void sample(const Tensor& out, const Tensor& x, const Tensor& params) override;  // sample.cu

    std::unique_ptr<Graph> capture(std::function<void()> record) override;

    int ordinal() const { return ordinal_; }
    // Launches the ops held back for fusion (see Pending below). Every entry point calls it
    // before touching memory, so held-back work is never observable.
    void flush();
    // Throws BackendError naming this device when `status` is an error.
    void check(gpuError_t status, const char* what) const;
    // Called as device memory [p, p + bytes) is freed: drops what was derived from it.
    void forgetMemory(const void* p, size_t bytes) { blas_.forget(p, bytes); }

private:
    enum Scratch { kScratchQ8, kScratchAttention, kScratchWeightHalf, kScratchXHalf, kScratchCount };

    // Device pointer of a tensor of this backend, checked against its buffer's size.
    template <typename T = void> T* ptr(const Tensor& t, const char* what) const;
    // The type the kernels read a weight as: its planar tag where prepareWeights rewrote it.
    DType storedType(const Tensor& weight, const char* what) const;
    // Refuses a host copy into or out of bytes that prepareWeights rewrote.
    void checkNotPlanar(const Tensor& t, size_t offset, size_t bytes, const char* what) const;
    void* scratch(Scratch slot, size_t bytes);
    void afterLaunch(const char* what) const;
    [[noreturn]] void fail(const std::string& message) const;
    void matmulTiledOrChunked(const Tensor& x, const Projection& p, const Q8Buffer& xq);
    bool matmulBlas(const Tensor& x, std::span<const Projection> projections, const PrepArgs* prep, bool launch);
    void launchPrep(Prep mode, const Tensor& a, const Tensor* b, const Tensor* sum, const Tensor* out,
                    const Tensor* weight, float eps, int64_t k, int64_t n, const Q8Buffer& q8);
    void launchRopes(bool store, const Tensor* kCache, const Tensor* vCache, const Tensor* v);
    bool fuseResidualAdd(const Tensor& out, const Tensor& a, const Tensor& b);

    int ordinal_;
    DeviceInfo info_;
    int multiprocessors_ = 1;
    gpuStream_t stream_ = nullptr;
    struct ScratchBuffer {
        void* ptr = nullptr;
        size_t bytes = 0;
    };
    ScratchBuffer scratch_[kScratchCount];
    // Scratch outgrown while graphs may still point at it; freed with the backend.
    std::vector<void*> retired_;
    // Small ops held back until the next op shows whether they can be fused into it:
    //   add -> rmsNorm -> matmul          one kernel: residual add, norm, q8_1 quantization
    //   rmsNorm | siluMul -> matmul       one kernel: the op and the quantization
    //   rope(q) -> rope(k) -> storeKv     one kernel
    // Whatever else comes next launches them unfused first (flush()).
    struct Pending {
        bool add = false;        // out = a + b
        bool prep = false;       // mode Norm / AddNorm / Silu, into out
        Prep mode = Prep::Norm;
        Tensor a, b, sum, out, weight;
        float eps = 0.0f;
        int ropes = 0;           // 1: q held, 2: q and k held
        Tensor q, k, positions;
        RopeParams rope;
        // A single-projection mat-vec, held for the residual add that usually follows it
        //   matmul -> add(x, x, out)        one kernel: the mat-vec writes out and x += out
        bool matVec = false;
        DType mvType = DType::F32;
        MatVecJob mvJob{};
        int64_t mvK = 0, mvN = 0;
        const float* mvX = nullptr;
        Q8Buffer mvXq;
        Tensor mvIn, mvOut;
        // Decode attention, held for the projection that reads its output:
        //   attention -> matmul(out)        the split merge also quantizes out for the mat-vec
        bool attention = false;
        AttentionArgs attArgs{};
        float *attOut = nullptr, *attPartials = nullptr;
        const float* attQ = nullptr;
        const void *attK = nullptr, *attV = nullptr;
        const int32_t* attPos = nullptr;
        Tensor attOutTensor;
    };
    Pending pending_;
    bool fuse_ = true;
    GemmLibrary blas_;
    bool capturing_ = false;
    std::vector<void*> captureStaging_;  // pinned copies of data uploaded while capturing
};

// Defined here because every op file checks its tensors through it.
template <typename T>
inline T* CudaBackend::ptr(const Tensor& t, const char* what) const {
    if (!t.valid()) fail(std::string(what) + ": tensor missing");
    auto* buffer = dynamic_cast<CudaBuffer*>(t.buffer);
    if (!buffer || &buffer->owner() != this) fail(std::string(what) + ": tensor is not in this device's memory");
    auto traits = dtypeTraits(t.type);
    if (!traits || t.ne[0] < 0 || t.ne[0] % traits->blockSize != 0) {
        fail(std::string(what) + ": tensor of type " + std::string(dtypeName(t.type)) + " with " +
             std::to_string(t.ne[0]) + " columns is not a whole number of blocks");
    }
    if (t.offset > buffer->size() || t.bytes() > buffer->size() - t.offset) {
        fail(std::string(what) + ": tensor of " + std::to_string(t.bytes()) + " bytes at offset " +
             std::to_string(t.offset) + " lies outside its buffer of " + std::to_string(buffer->size()) + " bytes");
    }
    return reinterpret_cast<T*>(static_cast<char*>(buffer->devicePointer()) + t.offset);
}

}  // namespace hearth::cuda
