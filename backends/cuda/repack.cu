// The one-time rewrite of Q4_0 / Q6_K weights into the planar layouts of weight_repack.h
// (CudaBackend::prepareWeights), and the bookkeeping of which bytes were rewritten, which every
// op asks (storedType) to pick the kernels that read them.
//
// The rewrite runs in place, slice by slice of whole rows through a staging copy, so the extra
// device memory is one slice, not a second copy of the weights. One thread per block reads the
// GGUF block bytewise and writes each planar byte once; it runs once per model load, so its
// loads are not tuned.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/weight_repack.h"

namespace hearth::cuda {
namespace {

template <DType T>
__global__ void repackKernel(const uint8_t* __restrict__ src, uint8_t* __restrict__ dst, int64_t nb, size_t rowBytes,
                             int64_t blocks) {
    gpu::dependencyWait();
    int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= blocks) return;
    int64_t row = g / nb, b = g % nb;
    const uint8_t* block = src + row * rowBytes + b * (T == DType::Q6_K ? 210 : 18);
    uint8_t* planar = dst + row * rowBytes;
    if constexpr (T == DType::Q6_K) repack::packQ6K(block, planar, nb, b);
    else repack::packQ40(block, planar, nb, b);
}

}  // namespace

void repackRows(DType type, const uint8_t* src, uint8_t* dst, int64_t k, int64_t rows, gpuStream_t stream) {
    size_t rowBytes = weightRowBytes(type, k);
    if (rows <= 0 || rowBytes == 0) return;
    int64_t nb = k / (type == DType::Q6_K ? kQKK : kQK);
    int64_t blocks = nb * rows;
    dim3 grid(static_cast<unsigned>((blocks + 127) / 128));
    auto kernel = type == DType::Q6_K ? repackKernel<DType::Q6_K> : repackKernel<DType::Q4_0>;
    gpu::launch(kernel, grid, dim3(128), 0, stream, src, dst, nb, rowBytes, blocks);
}

// ---- bookkeeping ----------------------------------------------------------------------------------

const CudaBuffer::Planar* CudaBuffer::planarOverlapping(size_t offset, size_t bytes) const {
    if (planar_.empty() || bytes == 0) return nullptr;
    // The ranges are disjoint and sorted, so only the last one starting before the end can reach in.
    auto it = std::lower_bound(planar_.begin(), planar_.end(), offset + bytes,
                               [](const Planar& p, size_t end) { return p.offset < end; });
    if (it == planar_.begin()) return nullptr;
    --it;
    return it->offset + it->bytes > offset ? &*it : nullptr;
}

void CudaBuffer::addPlanar(const Planar& p) {
    auto it = std::lower_bound(planar_.begin(), planar_.end(), p.offset,
                               [](const Planar& q, size_t offset) { return q.offset < offset; });
    planar_.insert(it, p);
}

namespace {

// HEARTH_CUDA_REPACK=0 keeps the GGUF layouts (A/B runs, and the op checks of both paths).
bool repackEnabled() {
    static const bool on = [] {
        const char* e = std::getenv("HEARTH_CUDA_REPACK");
        return !(e && e[0] == '0');
    }();
    return on;
}

constexpr size_t kSliceBytes = size_t{64} << 20;

}  // namespace

size_t CudaBackend::prepareWeights(std::span<const Tensor> weights) {
    if (capturing_) fail("prepareWeights() cannot be part of a captured graph");
    flush();
    if (!repackEnabled()) return 0;
    check(gpuSetDevice(ordinal_), "selecting the device");
    void* staging = nullptr;
    size_t stagingBytes = 0, count = 0;
    try {
        for (const Tensor& t : weights) {
            if (!t.valid() || !repack::repackable(t.type, t.ne[0]) || t.rows() <= 0) continue;
            auto* base = ptr<uint8_t>(t, "prepareWeights");
            auto* buffer = static_cast<CudaBuffer*>(t.buffer);
            size_t rowBytes = t.rowBytes(), bytes = t.bytes();
            // Misaligned starts keep the GGUF layout; a tensor seen before (tied embeddings) or
            // overlapping one is left as it is.
            if (reinterpret_cast<uintptr_t>(base) % repack::kAlign != 0 || buffer->planarOverlapping(t.offset, bytes)) {
                continue;
            }
            int64_t rows = t.rows();
            int64_t sliceRows = std::max<int64_t>(1, static_cast<int64_t>(kSliceBytes / rowBytes));
            size_t need = static_cast<size_t>(std::min(sliceRows, rows)) * rowBytes;
            if (need > stagingBytes) {
                if (staging) {
                    check(gpuStreamSynchronize(stream_), "repacking weights");
                    (void)gpuFree(staging);
                    staging = nullptr;
                    stagingBytes = 0;
                }
                if (gpuMalloc(&staging, need) != gpuSuccess) {  // no room: the rest keeps the GGUF layout
                    (void)gpuGetLastError();
                    staging = nullptr;
                    break;
                }
                stagingBytes = need;
            }
            for (int64_t r = 0; r < rows; r += sliceRows) {
                int64_t n = std::min(sliceRows, rows - r);
                uint8_t* at = base + static_cast<size_t>(r) * rowBytes;
                check(gpuMemcpyAsync(staging, at, static_cast<size_t>(n) * rowBytes, gpuMemcpyDeviceToDevice, stream_),
                      "repacking weights");
                repackRows(t.type, static_cast<const uint8_t*>(staging), at, t.ne[0], n, stream_);
                afterLaunch("repacking weights");
            }
            buffer->addPlanar({t.offset, bytes, rowBytes, t.type});
            ++count;
        }
        check(gpuStreamSynchronize(stream_), "repacking weights");
    } catch (...) {
        if (staging) (void)gpuFree(staging);
        throw;
    }
    if (staging) (void)gpuFree(staging);
    return count;
}

DType CudaBackend::storedType(const Tensor& weight, const char* what) const {
    if (weight.type != DType::Q4_0 && weight.type != DType::Q6_K) return weight.type;
    auto* buffer = dynamic_cast<const CudaBuffer*>(weight.buffer);
    if (!buffer || !buffer->hasPlanar()) return weight.type;
    const CudaBuffer::Planar* p = buffer->planarOverlapping(weight.offset, weight.bytes());
    if (!p) return weight.type;
    bool rows = p->type == weight.type && weight.rowBytes() == p->rowBytes && weight.offset >= p->offset &&
                (weight.offset - p->offset) % p->rowBytes == 0 &&
                weight.offset + weight.bytes() <= p->offset + p->bytes;
    if (!rows) {
        fail(std::string(what) + ": a " + std::string(dtypeName(weight.type)) + " view at byte " +
             std::to_string(weight.offset) + " covers part of a weight that prepareWeights rewrote, but not whole "
             "rows of it; take views of whole rows (Tensor::rowRange) of the prepared tensor");
    }
    return planarType(weight.type);
}

void CudaBackend::checkNotPlanar(const Tensor& t, size_t offset, size_t bytes, const char* what) const {
    auto* buffer = dynamic_cast<const CudaBuffer*>(t.buffer);
    if (buffer && buffer->planarOverlapping(t.offset + offset, bytes)) {
        fail(std::string(what) + ": bytes at " + std::to_string(t.offset + offset) +
             " belong to a weight that prepareWeights rewrote for this device; its bytes are no longer "
             "the file's. Read it through the ops, or write weights before calling prepareWeights");
    }
}

}  // namespace hearth::cuda
