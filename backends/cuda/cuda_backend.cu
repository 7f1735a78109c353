// CudaBackend: checks every op's tensors on the host (a wrong shape is a BackendError, never a
// fault on the device), then enqueues the kernels of kernels.h on the backend's stream.
#include "backends/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "backends/cuda/kernels.h"

namespace hearth::cuda {
namespace {

std::string mib(size_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

std::string gib(size_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
    return text;
}

class CudaGraph final : public Graph {
public:
    CudaGraph(CudaBackend& backend, gpuStream_t stream, gpuGraph_t graph, gpuGraphExec_t exec, std::vector<void*> pinned)
        : backend_(backend), stream_(stream), graph_(graph), exec_(exec), pinned_(std::move(pinned)) {}
    ~CudaGraph() override {
        (void)gpuGraphExecDestroy(exec_);
        (void)gpuGraphDestroy(graph_);
        for (void* p : pinned_) (void)gpuFreeHost(p);
    }
    void run() override { backend_.check(gpuGraphLaunch(exec_, stream_), "replaying a captured graph"); }

private:
    CudaBackend& backend_;
    gpuStream_t stream_;
    gpuGraph_t graph_;
    gpuGraphExec_t exec_;
    std::vector<void*> pinned_;
};

}  // namespace

CudaBuffer::~CudaBuffer() {
    if (ptr_) {
        try {
            owner_.flush();  // held-back ops may still read this memory
            owner_.forgetMemory(ptr_, bytes_);
        } catch (const BackendError&) {
        }
        (void)gpuSetDevice(owner_.ordinal());
        (void)gpuFree(ptr_);
    }
}

CudaBackend::CudaBackend(int ordinal, DeviceInfo info) : ordinal_(ordinal), info_(std::move(info)) {
    check(gpuSetDevice(ordinal_), "selecting the device");
    gpuDeviceProp prop{};
    check(gpuGetDeviceProperties(&prop, ordinal_), "reading the device properties");
    multiprocessors_ = std::max(1, prop.multiProcessorCount);
    check(gpuStreamCreateWithFlags(&stream_, gpuStreamNonBlocking), "creating a stream");
    // HEARTH_CUDA_PDL=1 / HEARTH_CUDA_FUSE=0 switch the launch overlap on and the op fusion off, to
    // measure what each brings (docs/performance.md).
    const char* pdl = std::getenv("HEARTH_CUDA_PDL");
    // Measured slower on the H100 with every kernel triggering at its start (docs/performance.md):
    // off unless HEARTH_CUDA_PDL=1.
    gpu::programmaticLaunch() = prop.major >= 9 && pdl && std::string(pdl) == "1";
    const char* fuse = std::getenv("HEARTH_CUDA_FUSE");
    fuse_ = !(fuse && std::string(fuse) == "0");
}

CudaBackend::~CudaBackend() {
    (void)gpuSetDevice(ordinal_);
    if (stream_) (void)gpuStreamSynchronize(stream_);
    for (auto& s : scratch_) {
        if (s.ptr) (void)gpuFree(s.ptr);
    }
    for (void* p : retired_) (void)gpuFree(p);
    for (void* p : captureStaging_) (void)gpuFreeHost(p);
    if (stream_) (void)gpuStreamDestroy(stream_);
}

void CudaBackend::fail(const std::string& message) const {
    throw BackendError(info_.id + " (" + info_.name + "): " + message);
}

void CudaBackend::check(gpuError_t status, const char* what) const {
    if (status != gpuSuccess) {
        gpuGetLastError();  // clear the sticky-free error state so the next call starts clean
        fail(std::string(what) + " failed: " + gpuGetErrorString(status));
    }
}

void CudaBackend::afterLaunch(const char* what) const { check(gpuGetLastError(), what); }

bool CudaBackend::supportsWeightType(DType type) const {
    switch (type) {
        case DType::F32: case DType::F16: case DType::BF16: case DType::Q8_0: case DType::Q4_0:
        case DType::Q4_1: case DType::Q5_0: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
            return true;
        default:
            return false;
    }
}

void* CudaBackend::scratch(Scratch slot, size_t bytes) {
    ScratchBuffer& s = scratch_[slot];
    if (s.bytes >= bytes) return s.ptr;
    if (s.ptr) retired_.push_back(s.ptr);
    s = {};
    size_t grown = std::max(bytes, size_t{1} << 20);
    check(gpuMalloc(&s.ptr, grown), "allocating scratch memory");
    s.bytes = grown;
    return s.ptr;
}

// ---- memory -------------------------------------------------------------------------------------

std::unique_ptr<Buffer> CudaBackend::allocate(size_t bytes, BufferUsage usage) {
    check(gpuSetDevice(ordinal_), "selecting the device");
    void* p = nullptr;
    if (bytes > 0) {
        gpuError_t status = gpuMalloc(&p, bytes);
        if (status != gpuSuccess) {
            (void)gpuGetLastError();
            size_t freeBytes = 0, total = 0;
            (void)gpuMemGetInfo(&freeBytes, &total);
            const char* kind = usage == BufferUsage::KvCache ? "the KV cache"
                               : usage == BufferUsage::Weights ? "weights" : "activations";
            fail(std::string("out of memory: ") + kind + " need " + mib(bytes) + ", " + mib(freeBytes) + " of " +
                 mib(total) + " free; use a shorter context or a smaller model");
        }
    }
    return std::make_unique<CudaBuffer>(*this, p, bytes);
}

std::unique_ptr<Buffer> CudaBackend::loadWeights(const void* host, size_t bytes) {
    check(gpuSetDevice(ordinal_), "selecting the device");
    size_t freeBytes = 0, total = 0;
    check(gpuMemGetInfo(&freeBytes, &total), "reading free memory");
    if (bytes > freeBytes) {
        fail("the model's weights need " + gib(bytes) + " of device memory but only " + gib(freeBytes) + " of " +
             gib(total) + " is free; choose a smaller quantization or another device");
    }
    auto buffer = allocate(bytes, BufferUsage::Weights);
    auto* dst = static_cast<char*>(static_cast<CudaBuffer*>(buffer.get())->devicePointer());
    // Staged through two pinned blocks so the copy runs at PCIe speed while the next block is
    // read from the (often memory-mapped) file.
    constexpr size_t kStage = size_t{64} << 20;
    void* stage[2] = {nullptr, nullptr};
    bool pinned = gpuMallocHost(&stage[0], kStage) == gpuSuccess && gpuMallocHost(&stage[1], kStage) == gpuSuccess;
    (void)gpuGetLastError();
    try {
        const char* src = static_cast<const char*>(host);
        if (pinned) {
            for (size_t done = 0, i = 0; done < bytes; done += kStage, ++i) {
                size_t n = std::min(kStage, bytes - done);
                void* s = stage[i % 2];
                if (i >= 2) check(gpuStreamSynchronize(stream_), "uploading weights");  // stage s is free again
                std::memcpy(s, src + done, n);
                check(gpuMemcpyAsync(dst + done, s, n, gpuMemcpyHostToDevice, stream_), "uploading weights");
            }
            check(gpuStreamSynchronize(stream_), "uploading weights");
        } else {
            check(gpuMemcpy(dst, src, bytes, gpuMemcpyHostToDevice), "uploading weights");
        }
    } catch (...) {
        for (void* s : stage) if (s) (void)gpuFreeHost(s);
        throw;
    }
    for (void* s : stage) if (s) (void)gpuFreeHost(s);
    return buffer;
}

void CudaBackend::upload(const Tensor& dst, const void* src, size_t bytes, size_t dstOffset) {
    flush();
    if (bytes == 0) return;
    auto* d = ptr<char>(dst, "upload");
    if (dstOffset > dst.bytes() || bytes > dst.bytes() - dstOffset) fail("upload: " + std::to_string(bytes) +
                                                                         " bytes do not fit the tensor");
    checkNotPlanar(dst, dstOffset, bytes, "upload");
    if (capturing_) {
        // A captured copy re-reads its source on every replay: keep a pinned copy of the bytes.
        void* pinned = nullptr;
        check(gpuMallocHost(&pinned, bytes), "staging an upload while capturing");
        captureStaging_.push_back(pinned);
        std::memcpy(pinned, src, bytes);
        src = pinned;
    }
    check(gpuMemcpyAsync(d + dstOffset, src, bytes, gpuMemcpyHostToDevice, stream_), "upload");
}

void CudaBackend::download(void* dst, const Tensor& src, size_t bytes, size_t srcOffset) {
    if (capturing_) fail("download() cannot be part of a captured graph; call it after Graph::run()");
    flush();
    if (bytes == 0) return;
    auto* s = ptr<char>(src, "download");
    if (srcOffset > src.bytes() || bytes > src.bytes() - srcOffset) fail("download: " + std::to_string(bytes) +
                                                                         " bytes exceed the tensor");
    checkNotPlanar(src, srcOffset, bytes, "download");
    check(gpuMemcpyAsync(dst, s + srcOffset, bytes, gpuMemcpyDeviceToHost, stream_), "download");
    check(gpuStreamSynchronize(stream_), "download");
}

void CudaBackend::synchronize() {
    if (capturing_) fail("synchronize() cannot be part of a captured graph");
    flush();
    check(gpuStreamSynchronize(stream_), "synchronize");
}

// ---- replay ---------------------------------------------------------------------------------------

std::unique_ptr<Graph> CudaBackend::capture(std::function<void()> record) {
    check(gpuSetDevice(ordinal_), "selecting the device");
    flush();
    check(gpuStreamBeginCapture(stream_, gpuStreamCaptureModeRelaxed), "starting a graph capture");
    capturing_ = true;
    gpuGraph_t graph = nullptr;
    try {
        record();
        flush();  // the held-back tail of the step belongs to the graph
    } catch (...) {
        pending_ = {};
        capturing_ = false;
        if (gpuStreamEndCapture(stream_, &graph) == gpuSuccess && graph) (void)gpuGraphDestroy(graph);
        (void)gpuGetLastError();
        throw;
    }
    capturing_ = false;
    check(gpuStreamEndCapture(stream_, &graph), "ending a graph capture");
    gpuGraphExec_t exec = nullptr;
    gpuError_t status = gpuGraphInstantiate(&exec, graph);
    if (status != gpuSuccess) {
        (void)gpuGraphDestroy(graph);
        check(status, "instantiating a captured graph");
    }
    auto replay = std::make_unique<CudaGraph>(*this, stream_, graph, exec, std::exchange(captureStaging_, {}));
    // Like the default capture(), the recorded step also runs once now.
    replay->run();
    return replay;
}

}  // namespace hearth::cuda
