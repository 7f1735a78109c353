// safetensors: the weight format of Hugging Face checkpoints.
//
// Byte layout: u64 header_len (little-endian) | header_len bytes of UTF-8 JSON | data.
// The JSON maps tensor names to {"dtype": "F32"|"F16"|"BF16"|..., "shape": [..],
// "data_offsets": [begin, end]} (relative to the data section) and may hold "__metadata__".
// Sharded checkpoints list each tensor's file in model.safetensors.index.json ("weight_map").
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/formats/format_error.h"

namespace hearth::safetensors {

enum class Dtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool, F8_E4M3, F8_E5M2 };

std::string_view dtypeName(Dtype);
size_t dtypeSize(Dtype);

struct TensorView {
    std::string name;
    Dtype dtype = Dtype::F32;
    std::vector<uint64_t> shape;  // outermost first, as PyTorch writes it
    const uint8_t* data = nullptr;
    uint64_t bytes = 0;
    uint64_t elements() const;
};

// One .safetensors file, memory-mapped and fully validated on open (header size limit, JSON
// shape, dtypes, offsets inside the file, in order, not overlapping, size = elements × dtype size).
class SafetensorsFile {
public:
    static SafetensorsFile open(const std::filesystem::path& path);
    static SafetensorsFile fromMemory(std::span<const uint8_t> bytes, std::string displayName = "<memory>");
    SafetensorsFile(SafetensorsFile&&) noexcept;
    SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
    ~SafetensorsFile();

    const std::filesystem::path& path() const;
    const std::vector<TensorView>& tensors() const;  // in data order
    const TensorView* tensor(std::string_view name) const;
    const std::map<std::string, std::string>& metadata() const;

private:
    struct Impl;
    explicit SafetensorsFile(std::unique_ptr<Impl>);
    std::unique_ptr<Impl> d;
};

// All tensors of a checkpoint folder: model.safetensors, or the shards named by
// model.safetensors.index.json (each shard validated; every indexed tensor must exist in its shard).
class SafetensorsCheckpoint {
public:
    static SafetensorsCheckpoint open(const std::filesystem::path& folder);
    SafetensorsCheckpoint(SafetensorsCheckpoint&&) noexcept;
    SafetensorsCheckpoint& operator=(SafetensorsCheckpoint&&) noexcept;
    ~SafetensorsCheckpoint();

    std::vector<std::string> tensorNames() const;  // sorted
    const TensorView* tensor(std::string_view name) const;
    uint64_t totalBytes() const;

private:
    struct Impl;
    explicit SafetensorsCheckpoint(std::unique_ptr<Impl>);
    std::unique_ptr<Impl> d;
};

}  // namespace hearth::safetensors
