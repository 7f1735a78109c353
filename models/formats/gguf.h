// GGUF: the single-file model format of the ggml ecosystem (versions 2 and 3).
//
// Byte layout (little-endian):
//   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 metadata_kv_count
//   metadata_kv_count × { string key | u32 value_type | value }
//   tensor_count × { string name | u32 n_dims | n_dims × u64 ne | u32 ggml_type | u64 offset }
//   padding to general.alignment (default 32)
//   tensor data; each tensor's offset is relative to the start of this section and aligned.
//   string = u64 length + bytes (UTF-8, no terminator); array = u32 elem_type + u64 count + elems.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "backends/dtype.h"
#include "models/formats/format_error.h"

namespace hearth::gguf {

enum class ValueType : uint32_t {
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
};

struct Value;
// Arrays hold values of one scalar or string type. Nested arrays are refused by the reader.
struct Array {
    ValueType elementType = ValueType::UInt8;
    std::vector<Value> items;
    bool operator==(const Array& o) const;  // defined after Value
};

struct Value {
    using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                                 std::string, Array, uint64_t, int64_t, double>;
    Storage v;

    ValueType type() const;
    bool operator==(const Value& o) const { return v == o.v; }
    // Integer of any width/sign that fits in the target; nullopt otherwise.
    std::optional<int64_t> asInt() const;
    std::optional<uint64_t> asUInt() const;
    std::optional<double> asFloat() const;  // any numeric type
    const std::string* asString() const;
    const Array* asArray() const;
    std::optional<bool> asBool() const;
};

inline bool Array::operator==(const Array& o) const {
    return elementType == o.elementType && items == o.items;
}

struct TensorInfo {
    std::string name;
    DType type = DType::F32;
    std::vector<uint64_t> shape;  // ne, innermost first (GGUF order)
    uint64_t offset = 0;          // within the data section
    uint64_t bytes = 0;           // checked against the file
    const uint8_t* data = nullptr;  // into the mapping

    uint64_t elements() const;
};

// A GGUF file opened read-only and memory-mapped. Everything is validated on open; afterwards
// every TensorInfo::data range lies inside the mapping. Throws FormatError on any problem.
// Refused on open: versions other than 2 and 3, counts/lengths/offsets that do not fit in the
// bytes that remain, unknown value or tensor types, nested arrays, keys and tensor names that are
// empty, duplicated or not UTF-8, 0 or > 4 dimensions, zero dimensions, rows that are not whole
// blocks, element or byte counts over 64 bits, misaligned, overlapping or out-of-file tensor data,
// general.alignment that is not a power of two up to 1 MiB, and more than 2^25 array items in all
// (each costs ~40 bytes in memory). String values need not be UTF-8 (byte tokens).
// Immutable after open: safe to read from several threads.
class GgufFile {
public:
    static GgufFile open(const std::filesystem::path& path);
    // Parses an in-memory image (tests, fuzzers). `bytes` must outlive the object.
    static GgufFile fromMemory(std::span<const uint8_t> bytes, std::string displayName = "<memory>");

    GgufFile(GgufFile&&) noexcept;
    GgufFile& operator=(GgufFile&&) noexcept;
    ~GgufFile();

    const std::filesystem::path& path() const;
    uint32_t version() const;
    uint64_t alignment() const;
    uint64_t fileSize() const;
    uint64_t dataOffset() const;  // start of the tensor data section
    const uint8_t* mappedData() const;  // whole file

    // In file order.
    const std::vector<std::pair<std::string, Value>>& metadata() const;
    const Value* find(std::string_view key) const;
    std::optional<std::string> getString(std::string_view key) const;
    std::optional<uint64_t> getUInt(std::string_view key) const;
    std::optional<double> getFloat(std::string_view key) const;
    std::optional<bool> getBool(std::string_view key) const;
    const Array* getArray(std::string_view key) const;

    const std::vector<TensorInfo>& tensors() const;
    const TensorInfo* tensor(std::string_view name) const;

private:
    struct Impl;
    explicit GgufFile(std::unique_ptr<Impl>);
    std::unique_ptr<Impl> d;
};

// Writes a GGUF v3 file tensor by tensor (the quantizer streams through it, so the whole model
// never sits in memory). Output goes to "<path>.partial", is flushed and fsync'ed, and renamed onto
// `path` by commit(); destroying an uncommitted writer removes the partial file.
//
//   GgufWriter w;
//   w.set("general.architecture", Value{std::string("llama")});
//   w.addTensor("token_embd.weight", DType::F16, {4096, 32000});
//   w.begin("out.gguf");                   // header, metadata, tensor infos
//   w.writeTensorData("token_embd.weight", bytes);  // in the order added
//   w.commit();
class GgufWriter {
public:
    GgufWriter();
    ~GgufWriter();
    GgufWriter(const GgufWriter&) = delete;
    GgufWriter& operator=(const GgufWriter&) = delete;

    void set(std::string key, Value value);  // replaces an earlier value of the same key
    // Power of two up to 1 MiB; stored as general.alignment. set("general.alignment", u32) is the
    // same. Either must come before addTensor().
    void setAlignment(uint32_t alignment);
    void addTensor(std::string name, DType type, std::vector<uint64_t> shape);
    // Total bytes begin() + all tensor data will write (for the free-space check).
    uint64_t plannedFileSize() const;

    void begin(const std::filesystem::path& path);
    // Tensor bytes, in the order the tensors were added. A tensor may arrive in several calls;
    // it is complete once its byte size has been written (more is an error).
    void writeTensorData(std::string_view name, std::span<const uint8_t> bytes);
    void commit();
    void abort() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

}  // namespace hearth::gguf
