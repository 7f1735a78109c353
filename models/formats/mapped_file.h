// A read-only memory mapping of a whole file (RAII). Model files are mapped rather than read so a
// multi-gigabyte GGUF costs no memory until its tensors are touched.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

namespace hearth {

class MappedFile {
public:
    MappedFile() = default;
    // Throws FormatError when the file cannot be opened, is a directory, or cannot be mapped.
    explicit MappedFile(const std::filesystem::path& path);
    MappedFile(MappedFile&& o) noexcept;
    MappedFile& operator=(MappedFile&& o) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    const uint8_t* data() const { return data_; }
    uint64_t size() const { return size_; }
    std::span<const uint8_t> bytes() const { return {data_, static_cast<size_t>(size_)}; }

private:
    void release() noexcept;
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
    bool mapped_ = false;  // an empty file has no mapping
};

}  // namespace hearth
