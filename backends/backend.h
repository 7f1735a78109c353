// The compute backend interface: what the forward pass in inference/ asks of a device.
//
// Four levels, as in ggml-backend: a BackendLibrary (one per backend kind, possibly a module
// opened at run time) lists devices; a Backend is one opened device with its stream/queue; a
// Buffer is device memory owned by that backend; a Tensor is a typed view into a buffer.
//
// Execution is asynchronous. Every op only *enqueues* work on the backend's single in-order
// stream; the host waits only in download() and synchronize(). All data an op depends on that
// changes from step to step (token ids, positions) lives in device tensors, so the same recorded
// sequence of ops can be replayed: capture() records a decode step once as a CUDA graph / Vulkan
// command buffer and Graph::run() replays it.
//
//   auto be = registry.open("cpu", options);
//   auto w  = be->loadWeights(mappedFile, fileBytes);        // zero-copy on the CPU
//   be->prepareWeights(weightTensors);                       // once: a GPU may repack them
//   auto scratch = be->allocate(bytes, BufferUsage::Activations);
//   be->upload(ids, hostIds.data(), n * 4);                  // enqueue
//   be->embed(x, tokenEmbd, ids);                            // enqueue
//   ...
//   be->download(logitsHost.data(), logits, bytes);          // waits
//
// Shapes follow GGUF: ne[0] is the contiguous (innermost) dimension. A matrix of `rows` rows of
// `k` elements has ne = {k, rows}. All activations are F32 unless stated otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dtype.h"

namespace hearth {

// Raised for any backend failure (out of memory, lost device, unsupported type); the message
// names the device and what to do.
class BackendError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct DeviceInfo {
    std::string id;        // how users select it: "cpu", "cuda:0", "hip:1", "vulkan:0"
    std::string backend;   // "cpu", "cuda", "hip", "vulkan"
    std::string name;      // "NVIDIA H100 80GB HBM3", "AMD Ryzen 9 7950X (16 cores)"
    std::string vendor;    // "NVIDIA", "AMD", "Intel", "Apple", "unknown"
    uint64_t totalMemory = 0;  // bytes
    uint64_t freeMemory = 0;   // bytes, at discovery time
    std::string computeCapability;      // "9.0", "gfx1030", "" for the CPU
    std::vector<std::string> features;  // "avx2", "f16c", "avx512f", "tensor-cores", ...
};

enum class BufferUsage { Weights, Activations, KvCache };

// Device memory. Freed when destroyed; must not outlive its Backend.
class Buffer {
public:
    virtual ~Buffer() = default;
    virtual size_t size() const = 0;
    // Non-null when the host can read and write the memory directly (the CPU backend).
    virtual void* hostPointer() { return nullptr; }
};

// A typed view into a Buffer. Cheap to copy; owns nothing.
struct Tensor {
    Buffer* buffer = nullptr;
    size_t offset = 0;  // bytes from the start of the buffer
    DType type = DType::F32;
    int64_t ne[4] = {1, 1, 1, 1};

    bool valid() const { return buffer != nullptr; }
    int64_t elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
    size_t rowBytes() const {
        auto tr = dtypeTraits(type);
        return static_cast<size_t>(ne[0] / tr->blockSize * tr->typeSize);
    }
    size_t bytes() const { return rowBytes() * static_cast<size_t>(rows()); }
    // A view of rows [first, first + count) of a matrix (ne[2] = ne[3] = 1).
    Tensor rowRange(int64_t first, int64_t count) const {
        Tensor t = *this;
        t.offset += static_cast<size_t>(first) * rowBytes();
        t.ne[1] = count;
        return t;
    }
    // The same bytes seen with another shape (element count must match).
    Tensor reshaped(int64_t n0, int64_t n1 = 1, int64_t n2 = 1, int64_t n3 = 1) const {
        Tensor t = *this;
        t.ne[0] = n0; t.ne[1] = n1; t.ne[2] = n2; t.ne[3] = n3;
        return t;
    }
};

// How rotary position embedding pairs up the dimensions of a head.
enum class RopeStyle {
    Interleaved,  // pairs (0,1), (2,3), ... — GGUF llama-family layout (Q/K permuted by converters)
    Neox,         // pairs (i, i + dims/2) — HF "rotate_half", GGUF qwen2/qwen3
};

struct RopeParams {
    RopeStyle style = RopeStyle::Interleaved;
    int rotaryDims = 0;     // dimensions rotated per head (usually head_dim)
    float theta = 10000.0f; // base frequency
    float positionScale = 1.0f;  // linear scaling: position * positionScale
    // Optional F32 [rotaryDims/2]: each frequency is divided by its factor (llama3 / longrope).
    Tensor freqFactors{};
};

// out = W · x (+ bias) for one weight matrix; several projections sharing one input are passed
// together so the backend converts/quantizes the input once (q/k/v, gate/up).
struct Projection {
    Tensor out;      // F32 {rows, n}
    Tensor weight;   // any supported weight type {k, rows}
    Tensor bias{};   // optional F32 {rows}
};

// A recorded sequence of ops, replayed by run() with whatever the input tensors hold then.
class Graph {
public:
    virtual ~Graph() = default;
    virtual void run() = 0;
};

class Backend {
public:
    virtual ~Backend() = default;

    virtual const DeviceInfo& device() const = 0;
    // Whether matmul/embed accept weights of this type.
    virtual bool supportsWeightType(DType type) const = 0;

    // ---- memory ----
    virtual std::unique_ptr<Buffer> allocate(size_t bytes, BufferUsage usage) = 0;
    // Makes `bytes` of host memory (usually a read-only file mapping that outlives the buffer)
    // usable as weights: the CPU wraps it without copying; GPUs allocate and upload, after which
    // the caller may unmap it.
    virtual std::unique_ptr<Buffer> loadWeights(const void* host, size_t bytes) = 0;
    // Called once by the engine after loadWeights() with every weight tensor of the model (views
    // into that buffer; the same tensor may appear twice, e.g. tied embeddings): the backend may
    // rewrite their bytes in place into a layout its kernels read faster, keeping each tensor's
    // size and offset, so views stay valid. Afterwards the bytes of a rewritten tensor are the
    // backend's own: ops read them as the tensor's type, but upload() into them or download()
    // from them is an error. Returns how many tensors it rewrote; the default rewrites none. The
    // CUDA backend makes Q4_0 / Q6_K rows planar (HEARTH_CUDA_REPACK=0 turns that off).
    virtual size_t prepareWeights(std::span<const Tensor> weights) {
        (void)weights;
        return 0;
    }
    // Enqueues a copy host -> device. `src` may be reused as soon as this returns.
    virtual void upload(const Tensor& dst, const void* src, size_t bytes, size_t dstOffset = 0) = 0;
    // Waits for all enqueued work, then copies device -> host. The only place results reach the host.
    virtual void download(void* dst, const Tensor& src, size_t bytes, size_t srcOffset = 0) = 0;
    virtual void synchronize() = 0;

    // ---- ops (enqueue only) ----
    // out F32 {dim, n}[i] = row ids[i] of table {dim, vocab}, dequantized. ids I32 {n}.
    virtual void embed(const Tensor& out, const Tensor& table, const Tensor& ids) = 0;
    // For each projection p: p.out{rows, n} = p.weight{k, rows} · x{k, n} (+ p.bias).
    virtual void matmul(const Tensor& x, std::span<const Projection> projections) = 0;
    // out{d, rows} = x / rms(x) * weight{d}, row by row. out may alias x.
    virtual void rmsNorm(const Tensor& out, const Tensor& x, const Tensor& weight, float eps) = 0;
    // Rotates x F32 {headDim, heads, n} in place; token i has position positions[i] (I32 {n}).
    virtual void rope(const Tensor& x, const Tensor& positions, const RopeParams& params) = 0;
    // Writes k and v F32 {headDim, kvHeads, n} into the layer's caches {headDim, kvHeads, ctx}
    // (F16 or F32) at row positions[i]. How a cache's rows lie in its bytes is the backend's own
    // (the CPU keeps keys in blocks of 16 positions for its AVX-512 kernels): caches are written
    // by storeKv only, read by attention, and read back by readKv.
    virtual void storeKv(const Tensor& kCache, const Tensor& vCache, const Tensor& k, const Tensor& v,
                         const Tensor& positions) = 0;
    // Copies rows [0, rows) of a layer's caches to the host as {headDim, kvHeads, rows} of the
    // caches' element type; waits like download(). The default is for backends that keep the rows
    // in that layout.
    virtual void readKv(void* k, void* v, const Tensor& kCache, const Tensor& vCache, int64_t rows) {
        const size_t rowBytes = kCache.bytes() / static_cast<size_t>(kCache.ne[2] * kCache.ne[3]);
        const size_t bytes = rowBytes * static_cast<size_t>(rows);
        download(k, kCache, bytes);
        download(v, vCache, bytes);
    }
    // out{headDim, heads, n}: causal attention of q{headDim, heads, n} over cache rows
    // [0, positions[i]] for token i; GQA maps head h to kv head h / (heads / kvHeads).
    virtual void attention(const Tensor& out, const Tensor& q, const Tensor& kCache, const Tensor& vCache,
                           const Tensor& positions, float scale) = 0;
    // out = silu(gate) * up, elementwise. out may alias gate.
    virtual void siluMul(const Tensor& out, const Tensor& gate, const Tensor& up) = 0;
    // out = a + b, elementwise. out may alias a.
    virtual void add(const Tensor& out, const Tensor& a, const Tensor& b) = 0;
    // out I32 {n}: index of the largest value in each row of x F32 {vocab, n} (first on ties).
    virtual void argmax(const Tensor& out, const Tensor& x) = 0;
    // out I32 {n}: a token drawn from each row of x F32 {vocab, n}, with column i of params
    // F32 {kSampleParamCount, n} (see SampleParam) for row i. The parameters live in a device
    // tensor so that a captured decode step replays with the values uploaded for this step. The
    // distribution is the engine Sampler's (inference/engine/sampler.h) without penalties:
    //   temperature <= 0 (or NaN): the largest finite logit, the smallest id on ties; u unused.
    //   1. candidates: the finite logits, ordered by logit descending, then id ascending;
    //   2. top-k: the first k of them, k = top_k clamped to [1, kSampleMaxTopK] (0 = the maximum);
    //   3. p_i = softmax of the candidates' logits at temperature 1; if top_p < 1, keep the
    //      shortest prefix whose p sum reaches top_p (at least one);
    //   4. if min_p > 0, keep the prefix of those with p_i >= min_p * p_0;
    //   5. q_i = softmax(logit_i / temperature) over what is left; the token is the first i with
    //      u < q_0 + ... + q_i, the last one if rounding leaves none.
    // A row without a finite logit gives 0. Backends may compute in float: where u, top_p or
    // min_p lies within ~1e-5 (relative) of one of these boundaries, two backends may pick
    // neighbouring candidates; logits that are equal are ordered by id on every backend.
    virtual void sample(const Tensor& out, const Tensor& x, const Tensor& params) = 0;

    // ---- replay ----
    // Calls `record` once to enqueue a sequence of ops and returns something that replays it.
    // The default just calls `record` again on every run().
    virtual std::unique_ptr<Graph> capture(std::function<void()> record);
};

// Rows of the params tensor of Backend::sample(); all F32 (top_k as a whole number).
enum SampleParam : int {
    kSampleTemperature = 0,
    kSampleTopK = 1,
    kSampleTopP = 2,
    kSampleMinP = 3,
    kSampleUniform = 4,  // u in [0, 1), a fresh random number per step
    kSampleParamCount = 5,
};
// The most candidates sample() keeps: GPUs sort them in one block. A request with top-k off or
// larger than this is sampled on the host (Session does this).
inline constexpr int kSampleMaxTopK = 1024;

// Options a backend is opened with.
struct BackendOptions {
    int threads = 0;  // CPU worker threads; 0 = number of physical cores
};

// One kind of backend (built in, or a module opened at run time).
class BackendLibrary {
public:
    virtual ~BackendLibrary() = default;
    virtual std::string name() const = 0;  // "cpu", "cuda", ...
    virtual std::vector<DeviceInfo> devices() = 0;
    // Why devices() is empty ("libcudart.so.13 not found", "driver too old", "no GPU"); "" otherwise.
    virtual std::string unavailableReason() = 0;
    virtual std::unique_ptr<Backend> open(int deviceIndex, const BackendOptions& options) = 0;
};

// The default capture(): replays by calling the recorded function again, which is right for a
// backend that runs ops as they are enqueued (the CPU) and a correct fallback for any other.
// Defined here so that a backend module needs nothing but this header.
namespace detail {
class ReplayGraph final : public Graph {
public:
    explicit ReplayGraph(std::function<void()> record) : record_(std::move(record)) {}
    void run() override { record_(); }

private:
    std::function<void()> record_;
};
}  // namespace detail

inline std::unique_ptr<Graph> Backend::capture(std::function<void()> record) {
    record();
    return std::make_unique<detail::ReplayGraph>(std::move(record));
}

// Bumped whenever Backend or BackendLibrary changes; a module built for another version is refused.
inline constexpr uint32_t kBackendApiVersion = 3;  // 3: prepareWeights

// A loadable backend module exports:
//   extern "C" hearth::BackendLibrary* hearth_backend_init(uint32_t apiVersion);
// returning nullptr when apiVersion differs from the one it was built with. The registry owns the
// returned object.
using BackendInitFn = BackendLibrary* (*)(uint32_t apiVersion);

}  // namespace hearth
