// GGUF reader. Every count, length and offset is checked against the bytes that remain before it
// is used, so a crafted file is refused with a message instead of a crash or a huge allocation.
#include "models/formats/gguf.h"

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "models/formats/byte_cursor.h"
#include "models/formats/mapped_file.h"

namespace hearth::gguf {

using formats_detail::ByteCursor;
using formats_detail::humanBytes;
using formats_detail::isValidUtf8;

// ---- Value -------------------------------------------------------------------------------------

ValueType Value::type() const {
    static constexpr ValueType byIndex[] = {
        ValueType::UInt8, ValueType::Int8,    ValueType::UInt16, ValueType::Int16, ValueType::UInt32,
        ValueType::Int32, ValueType::Float32, ValueType::Bool,   ValueType::String, ValueType::Array,
        ValueType::UInt64, ValueType::Int64,  ValueType::Float64};
    return byIndex[v.index()];
}

std::optional<int64_t> Value::asInt() const {
    return std::visit(
        [](const auto& x) -> std::optional<int64_t> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, uint64_t>) {
                if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
                return static_cast<int64_t>(x);
            } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                return static_cast<int64_t>(x);
            } else {
                return std::nullopt;
            }
        },
        v);
}

std::optional<uint64_t> Value::asUInt() const {
    return std::visit(
        [](const auto& x) -> std::optional<uint64_t> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                if constexpr (std::is_signed_v<T>) {
                    if (x < 0) return std::nullopt;
                }
                return static_cast<uint64_t>(x);
            } else {
                return std::nullopt;
            }
        },
        v);
}

std::optional<double> Value::asFloat() const {
    return std::visit(
        [](const auto& x) -> std::optional<double> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) return static_cast<double>(x);
            else return std::nullopt;
        },
        v);
}

const std::string* Value::asString() const { return std::get_if<std::string>(&v); }
const Array* Value::asArray() const { return std::get_if<Array>(&v); }
std::optional<bool> Value::asBool() const {
    if (const bool* b = std::get_if<bool>(&v)) return *b;
    return std::nullopt;
}

uint64_t TensorInfo::elements() const {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;  // checked against overflow when the file was read
    return n;
}

// ---- Reader ------------------------------------------------------------------------------------

namespace {

constexpr uint32_t kDefaultAlignment = 32;
constexpr uint64_t kMaxAlignment = 1u << 20;
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMaxKeyLength = 65535;
// Each array item costs ~40 bytes in memory however small it is in the file; this bound keeps a
// crafted file from turning a few hundred MB of u8 into tens of GB. Real vocabularies are < 1M.
constexpr uint64_t kMaxArrayItemsTotal = 1ull << 25;

// Smallest encoding of one element of each type, to bound counts by the bytes that remain.
uint64_t minEncodedSize(ValueType t) {
    switch (t) {
        case ValueType::UInt8: case ValueType::Int8: case ValueType::Bool: return 1;
        case ValueType::UInt16: case ValueType::Int16: return 2;
        case ValueType::UInt32: case ValueType::Int32: case ValueType::Float32: return 4;
        case ValueType::UInt64: case ValueType::Int64: case ValueType::Float64: return 8;
        case ValueType::String: return 8;
        case ValueType::Array: return 12;
    }
    return 1;
}

bool knownValueType(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::Float64); }

std::string typeName(ValueType t) {
    static const char* names[] = {"uint8", "int8",  "uint16", "int16", "uint32", "int32", "float32",
                                  "bool",  "string", "array", "uint64", "int64", "float64"};
    return names[static_cast<uint32_t>(t)];
}

uint64_t alignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }  // callers check overflow

struct Parser {
    ByteCursor cur;
    uint64_t arrayItemsTotal = 0;

    std::string readString(const std::string& field, uint64_t maxLength, bool mustBeUtf8) {
        uint64_t at = cur.pos();
        uint64_t len = cur.read<uint64_t>(field + " length");
        if (len > cur.remaining())
            cur.fail(field, at, "string length " + std::to_string(len) + " runs past the end of the file (" +
                                    std::to_string(cur.remaining()) + " bytes remain)");
        if (len > maxLength)
            cur.fail(field, at, "string length " + std::to_string(len) + " exceeds the limit of " +
                                    std::to_string(maxLength));
        std::string s(cur.readBytes(len, field));
        if (mustBeUtf8 && !isValidUtf8(s)) cur.fail(field, at + 8, "is not valid UTF-8");
        return s;
    }

    Value readScalar(ValueType t, const std::string& field) {
        switch (t) {
            case ValueType::UInt8: return Value{cur.read<uint8_t>(field)};
            case ValueType::Int8: return Value{cur.read<int8_t>(field)};
            case ValueType::UInt16: return Value{cur.read<uint16_t>(field)};
            case ValueType::Int16: return Value{cur.read<int16_t>(field)};
            case ValueType::UInt32: return Value{cur.read<uint32_t>(field)};
            case ValueType::Int32: return Value{cur.read<int32_t>(field)};
            case ValueType::Float32: return Value{cur.read<float>(field)};
            case ValueType::Bool: return Value{cur.read<uint8_t>(field) != 0};
            // Values are not keys: some tokenizers hold byte tokens that are not UTF-8 on their own.
            case ValueType::String: return Value{readString(field, std::numeric_limits<uint64_t>::max(), false)};
            case ValueType::UInt64: return Value{cur.read<uint64_t>(field)};
            case ValueType::Int64: return Value{cur.read<int64_t>(field)};
            case ValueType::Float64: return Value{cur.read<double>(field)};
            case ValueType::Array: break;
        }
        cur.fail(field, cur.pos(), "nested arrays are not supported");
    }

    Value readArray(const std::string& field) {
        uint64_t at = cur.pos();
        uint32_t rawType = cur.read<uint32_t>(field + " element type");
        if (!knownValueType(rawType))
            cur.fail(field, at, "unknown array element type " + std::to_string(rawType));
        auto elemType = static_cast<ValueType>(rawType);
        if (elemType == ValueType::Array) cur.fail(field, at, "nested arrays are not supported");
        uint64_t countAt = cur.pos();
        uint64_t count = cur.read<uint64_t>(field + " count");
        uint64_t minSize = minEncodedSize(elemType);
        if (count > cur.remaining() / minSize)
            cur.fail(field, countAt, "array of " + std::to_string(count) + " " + typeName(elemType) +
                                         " items cannot fit in the " + std::to_string(cur.remaining()) +
                                         " bytes that remain");
        if (count > kMaxArrayItemsTotal - arrayItemsTotal)
            cur.fail(field, countAt, "array of " + std::to_string(count) + " items exceeds the limit of " +
                                         std::to_string(kMaxArrayItemsTotal) + " metadata array items");
        arrayItemsTotal += count;
        Array arr;
        arr.elementType = elemType;
        arr.items.reserve(static_cast<size_t>(count));
        for (uint64_t i = 0; i < count; ++i) arr.items.push_back(readScalar(elemType, field));
        return Value{std::move(arr)};
    }

    Value readValue(ValueType t, const std::string& field) {
        return t == ValueType::Array ? readArray(field) : readScalar(t, field);
    }
};

}  // namespace

struct GgufFile::Impl {
    std::filesystem::path path;
    MappedFile mapping;
    std::span<const uint8_t> bytes;
    uint32_t version = 0;
    uint64_t alignment = kDefaultAlignment;
    uint64_t dataOffset = 0;
    uint64_t alignmentAt = 0;  // byte offset of general.alignment's value, for messages
    std::vector<std::pair<std::string, Value>> metadata;
    std::vector<TensorInfo> tensors;
    std::unordered_map<std::string_view, size_t> tensorIndex;  // views into tensors[i].name

    void parse(const std::string& name);
    void parseHeader(Parser& p, uint64_t& tensorCount, uint64_t& kvCount);
    void parseMetadata(Parser& p, uint64_t kvCount);
    void parseAlignment(const ByteCursor& cur);
    void parseTensorInfos(Parser& p, uint64_t tensorCount);
    void placeTensors(const ByteCursor& cur);
};

void GgufFile::Impl::parseHeader(Parser& p, uint64_t& tensorCount, uint64_t& kvCount) {
    ByteCursor& cur = p.cur;
    if (cur.size() < 4) cur.fail("magic", 0, "file is too short to be GGUF (" + humanBytes(cur.size()) + ")");
    auto magic = cur.readBytes(4, "magic");
    if (magic != "GGUF")
        cur.fail("magic", 0, "not a GGUF file (the first bytes are not \"GGUF\")");
    uint32_t v = cur.read<uint32_t>("version");
    if (v == 1) cur.fail("version", 4, "GGUF version 1 is obsolete and not supported; convert the model again");
    if (v == 0x02000000u || v == 0x03000000u)
        cur.fail("version", 4, "big-endian GGUF files are not supported");
    if (v != 2 && v != 3)
        cur.fail("version", 4, "unsupported GGUF version " + std::to_string(v) + " (this Hearth reads 2 and 3)");
    version = v;
    uint64_t at = cur.pos();
    tensorCount = cur.read<uint64_t>("tensor_count");
    // Smallest tensor info: empty-ish name (8+1) + n_dims (4) + one dim (8) + type (4) + offset (8).
    constexpr uint64_t kMinTensorInfo = 33;
    if (tensorCount > cur.remaining() / kMinTensorInfo)
        cur.fail("tensor_count", at, std::to_string(tensorCount) + " tensors cannot fit in a " +
                                         humanBytes(cur.size()) + " file");
    at = cur.pos();
    kvCount = cur.read<uint64_t>("metadata_kv_count");
    constexpr uint64_t kMinKv = 8 + 1 + 4 + 1;
    if (kvCount > cur.remaining() / kMinKv)
        cur.fail("metadata_kv_count", at, std::to_string(kvCount) + " metadata entries cannot fit in a " +
                                              humanBytes(cur.size()) + " file");
}

void GgufFile::Impl::parseMetadata(Parser& p, uint64_t kvCount) {
    ByteCursor& cur = p.cur;
    std::unordered_set<std::string> seen;
    metadata.reserve(static_cast<size_t>(kvCount));
    for (uint64_t i = 0; i < kvCount; ++i) {
        std::string field = "metadata key #" + std::to_string(i);
        uint64_t keyAt = cur.pos();
        std::string key = p.readString(field, kMaxKeyLength, true);
        if (key.empty()) cur.fail(field, keyAt, "empty key");
        if (!seen.insert(key).second) cur.fail(field, keyAt, "duplicate key '" + key + "'");
        uint64_t typeAt = cur.pos();
        uint32_t rawType = cur.read<uint32_t>("type of " + key);
        if (!knownValueType(rawType))
            cur.fail("type of " + key, typeAt, "unknown value type " + std::to_string(rawType));
        if (key == "general.alignment") alignmentAt = cur.pos();
        metadata.emplace_back(key, p.readValue(static_cast<ValueType>(rawType), key));
    }
}

void GgufFile::Impl::parseAlignment(const ByteCursor& cur) {
    for (const auto& [key, value] : metadata) {
        if (key != "general.alignment") continue;
        auto a = value.asUInt();
        if (!a) cur.fail("general.alignment", alignmentAt, "must be an unsigned integer, not " + typeName(value.type()));
        if (*a == 0 || (*a & (*a - 1)) != 0 || *a > kMaxAlignment)
            cur.fail("general.alignment", alignmentAt, "alignment " + std::to_string(*a) +
                                                 " must be a power of two between 1 and " +
                                                 std::to_string(kMaxAlignment));
        alignment = *a;
    }
}

void GgufFile::Impl::parseTensorInfos(Parser& p, uint64_t tensorCount) {
    ByteCursor& cur = p.cur;
    std::unordered_set<std::string> seen;
    tensors.reserve(static_cast<size_t>(tensorCount));
    for (uint64_t i = 0; i < tensorCount; ++i) {
        std::string field = "tensor #" + std::to_string(i);
        uint64_t at = cur.pos();
        TensorInfo t;
        t.name = p.readString(field + " name", kMaxKeyLength, true);
        if (t.name.empty()) cur.fail(field + " name", at, "empty tensor name");
        if (!seen.insert(t.name).second) cur.fail(field + " name", at, "duplicate tensor name '" + t.name + "'");
        field = "tensor '" + t.name + "'";
        uint64_t dimsAt = cur.pos();
        uint32_t nDims = cur.read<uint32_t>(field + " n_dims");
        if (nDims < 1 || nDims > kMaxDims)
            cur.fail(field + " n_dims", dimsAt, std::to_string(nDims) + " dimensions (must be 1 to 4)");
        uint64_t elements = 1;
        for (uint32_t d = 0; d < nDims; ++d) {
            uint64_t dimAt = cur.pos();
            uint64_t ne = cur.read<uint64_t>(field + " dimension " + std::to_string(d));
            if (ne == 0) cur.fail(field + " dimension " + std::to_string(d), dimAt, "is zero");
            if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / elements)
                cur.fail(field + " dimension " + std::to_string(d), dimAt, "element count overflows 64 bits");
            elements *= ne;
            t.shape.push_back(ne);
        }
        uint64_t typeAt = cur.pos();
        uint32_t rawType = cur.read<uint32_t>(field + " type");
        auto traits = dtypeTraits(static_cast<DType>(rawType));
        if (!traits) cur.fail(field + " type", typeAt, "unknown tensor type " + std::to_string(rawType));
        t.type = static_cast<DType>(rawType);
        auto rowBytes = dtypeRowBytes(t.type, t.shape[0]);
        if (!rowBytes)
            cur.fail(field + " dimension 0", dimsAt + 4, "row of " + std::to_string(t.shape[0]) +
                                                             " elements is not a multiple of the " +
                                                             std::string(traits->name) + " block size " +
                                                             std::to_string(traits->blockSize));
        uint64_t rows = elements / t.shape[0];
        if (*rowBytes != 0 && rows > std::numeric_limits<uint64_t>::max() / *rowBytes)
            cur.fail(field, dimsAt, "byte size overflows 64 bits");
        t.bytes = *rowBytes * rows;
        uint64_t offAt = cur.pos();
        t.offset = cur.read<uint64_t>(field + " offset");
        if (t.offset % alignment != 0)
            cur.fail(field + " offset", offAt, "offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                                                   std::to_string(alignment));
        tensors.push_back(std::move(t));
    }
}

void GgufFile::Impl::placeTensors(const ByteCursor& cur) {
    uint64_t end = cur.pos();
    if (end > std::numeric_limits<uint64_t>::max() - alignment) cur.fail("tensor data", end, "offset overflow");
    dataOffset = alignUp(end, alignment);
    if (tensors.empty()) {
        dataOffset = std::min(dataOffset, cur.size());  // a file without tensors may omit the padding
        return;
    }
    if (dataOffset > cur.size())
        cur.fail("tensor data", end, "the file ends before the tensor data section (truncated file?)");
    uint64_t dataSize = cur.size() - dataOffset;
    for (auto& t : tensors) {
        if (t.offset > dataSize || t.bytes > dataSize - t.offset)
            cur.fail("tensor '" + t.name + "' data", dataOffset + std::min(t.offset, dataSize),
                     "range of " + std::to_string(t.bytes) + " bytes at data offset " + std::to_string(t.offset) +
                         " runs past the end of the file (" + humanBytes(cur.size()) + "; truncated download?)");
        t.data = bytes.data() + dataOffset + t.offset;
    }
    std::vector<const TensorInfo*> order;
    order.reserve(tensors.size());
    for (const auto& t : tensors) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < order.size(); ++i) {
        if (order[i]->offset < order[i - 1]->offset + order[i - 1]->bytes)
            cur.fail("tensor '" + order[i]->name + "' data", dataOffset + order[i]->offset,
                     "overlaps the data of tensor '" + order[i - 1]->name + "'");
    }
}

void GgufFile::Impl::parse(const std::string& name) {
    Parser p{ByteCursor(bytes, name)};
    uint64_t tensorCount = 0, kvCount = 0;
    parseHeader(p, tensorCount, kvCount);
    parseMetadata(p, kvCount);
    parseAlignment(p.cur);
    parseTensorInfos(p, tensorCount);
    placeTensors(p.cur);
    for (size_t i = 0; i < tensors.size(); ++i) tensorIndex.emplace(tensors[i].name, i);
}

GgufFile GgufFile::open(const std::filesystem::path& path) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->mapping = MappedFile(path);
    impl->bytes = impl->mapping.bytes();
    impl->parse(path.string());
    return GgufFile(std::move(impl));
}

GgufFile GgufFile::fromMemory(std::span<const uint8_t> bytes, std::string displayName) {
    auto impl = std::make_unique<Impl>();
    impl->path = displayName;
    impl->bytes = bytes;
    impl->parse(displayName);
    return GgufFile(std::move(impl));
}

GgufFile::GgufFile(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

const std::filesystem::path& GgufFile::path() const { return d->path; }
uint32_t GgufFile::version() const { return d->version; }
uint64_t GgufFile::alignment() const { return d->alignment; }
uint64_t GgufFile::fileSize() const { return d->bytes.size(); }
uint64_t GgufFile::dataOffset() const { return d->dataOffset; }
const uint8_t* GgufFile::mappedData() const { return d->bytes.data(); }
const std::vector<std::pair<std::string, Value>>& GgufFile::metadata() const { return d->metadata; }

const Value* GgufFile::find(std::string_view key) const {
    for (const auto& [k, v] : d->metadata)
        if (k == key) return &v;
    return nullptr;
}

std::optional<std::string> GgufFile::getString(std::string_view key) const {
    const Value* v = find(key);
    if (!v || !v->asString()) return std::nullopt;
    return *v->asString();
}
std::optional<uint64_t> GgufFile::getUInt(std::string_view key) const {
    const Value* v = find(key);
    return v ? v->asUInt() : std::nullopt;
}
std::optional<double> GgufFile::getFloat(std::string_view key) const {
    const Value* v = find(key);
    return v ? v->asFloat() : std::nullopt;
}
std::optional<bool> GgufFile::getBool(std::string_view key) const {
    const Value* v = find(key);
    return v ? v->asBool() : std::nullopt;
}
const Array* GgufFile::getArray(std::string_view key) const {
    const Value* v = find(key);
    return v ? v->asArray() : nullptr;
}

const std::vector<TensorInfo>& GgufFile::tensors() const { return d->tensors; }
const TensorInfo* GgufFile::tensor(std::string_view name) const {
    auto it = d->tensorIndex.find(name);
    return it == d->tensorIndex.end() ? nullptr : &d->tensors[it->second];
}

}  // namespace hearth::gguf
