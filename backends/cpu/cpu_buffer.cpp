// Buffers and host transfers of the CPU backend.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "backends/cpu/cpu_backend.h"

namespace hearth::cpu {

namespace {

class HeapBuffer final : public Buffer {
public:
    explicit HeapBuffer(size_t bytes) : size_(bytes) {
        // 64-byte alignment keeps every row that starts on a block boundary cache-line aligned.
        size_t rounded = (bytes + 63) / 64 * 64;
        data_ = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
        if (!data_)
            throw BackendError("cpu: out of memory allocating " + std::to_string(bytes >> 20) +
                               " MiB; use a smaller context size or model");
    }
    ~HeapBuffer() override { std::free(data_); }
    size_t size() const override { return size_; }
    void* hostPointer() override { return data_; }

private:
    void* data_ = nullptr;
    size_t size_;
};

// Memory the caller owns (a read-only file mapping): wrapped, never copied or written.
class MappedBuffer final : public Buffer {
public:
    MappedBuffer(const void* data, size_t bytes) : data_(const_cast<void*>(data)), size_(bytes) {}
    size_t size() const override { return size_; }
    void* hostPointer() override { return data_; }

private:
    void* data_;
    size_t size_;
};

void checkRange(const Tensor& t, size_t offset, size_t bytes, const char* what) {
    if (!t.buffer || !t.buffer->hostPointer()) throw BackendError(std::string("cpu: ") + what + ": not a CPU tensor");
    size_t begin = t.offset + offset;
    if (begin < t.offset || begin + bytes < begin || begin + bytes > t.buffer->size())
        throw BackendError(std::string("cpu: ") + what + ": " + std::to_string(bytes) + " bytes at offset " +
                           std::to_string(begin) + " overrun a buffer of " + std::to_string(t.buffer->size()));
}

}  // namespace

std::unique_ptr<Buffer> CpuBackend::allocate(size_t bytes, BufferUsage) {
    return std::make_unique<HeapBuffer>(bytes);
}

std::unique_ptr<Buffer> CpuBackend::loadWeights(const void* host, size_t bytes) {
    if (!host && bytes > 0) throw BackendError("cpu: loadWeights: no memory given");
#if defined(__linux__)
    // Decode streams every weight once per token. With 4 KiB pages the hardware prefetchers stop
    // at each page boundary and a core reads the weights at ~60 % of its streaming rate; asked
    // before the pages are first touched, the kernel maps the file with 2 MiB pages where the
    // page cache can hold them (a best-effort hint: failure changes nothing but speed).
    const uintptr_t page = 4096, begin = (reinterpret_cast<uintptr_t>(host) + page - 1) & ~(page - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(host) + bytes) & ~(page - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
    return std::make_unique<MappedBuffer>(host, bytes);
}

void CpuBackend::upload(const Tensor& dst, const void* src, size_t bytes, size_t dstOffset) {
    checkRange(dst, dstOffset, bytes, "upload");
    std::memcpy(static_cast<char*>(dst.buffer->hostPointer()) + dst.offset + dstOffset, src, bytes);
}

void CpuBackend::download(void* dst, const Tensor& src, size_t bytes, size_t srcOffset) {
    checkRange(src, srcOffset, bytes, "download");
    std::memcpy(dst, static_cast<const char*>(src.buffer->hostPointer()) + src.offset + srcOffset, bytes);
}

void* CpuBackend::checked(const Tensor& t, const char* op, const char* what) const {
    auto fail = [&](const std::string& why) {
        throw BackendError(std::string("cpu: ") + op + ": " + what + " " + why);
    };
    if (!t.valid()) fail("is missing");
    if (!t.buffer->hostPointer()) fail("is not in CPU memory");
    auto tr = dtypeTraits(t.type);
    if (!tr) fail("has an unknown type");
    for (auto e : t.ne)
        if (e <= 0) fail("has an empty or negative dimension");
    if (t.ne[0] % tr->blockSize != 0)
        fail("has rows of " + std::to_string(t.ne[0]) + " elements, not a multiple of the " +
             std::string(tr->name) + " block size " + std::to_string(tr->blockSize));
    size_t bytes = t.bytes();
    if (t.offset > t.buffer->size() || bytes > t.buffer->size() - t.offset)
        fail("(" + std::to_string(bytes) + " bytes at offset " + std::to_string(t.offset) +
             ") does not fit its buffer of " + std::to_string(t.buffer->size()) + " bytes");
    return static_cast<char*>(t.buffer->hostPointer()) + t.offset;
}

}  // namespace hearth::cpu
