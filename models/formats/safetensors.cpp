// safetensors reader. The JSON header is parsed with a callback that refuses duplicate names and
// deep nesting; every tensor's extent is checked against the data section, and (as the format's
// specification requires) the tensors must cover the data section exactly: no holes, no overlaps.
#include "models/formats/safetensors.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "models/formats/byte_cursor.h"
#include "models/formats/mapped_file.h"

namespace hearth::safetensors {

using formats_detail::humanBytes;
using nlohmann::json;

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the reference implementation's limit
constexpr int kMaxHeaderDepth = 3;                  // {name: {"shape": [..]}}

struct DtypeInfo {
    Dtype dtype;
    std::string_view name;
    size_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {Dtype::F64, "F64", 8},   {Dtype::F32, "F32", 4},   {Dtype::F16, "F16", 2},
    {Dtype::BF16, "BF16", 2}, {Dtype::I64, "I64", 8},   {Dtype::I32, "I32", 4},
    {Dtype::I16, "I16", 2},   {Dtype::I8, "I8", 1},     {Dtype::U8, "U8", 1},
    {Dtype::Bool, "BOOL", 1}, {Dtype::F8_E4M3, "F8_E4M3", 1}, {Dtype::F8_E5M2, "F8_E5M2", 1},
};

std::optional<Dtype> dtypeFromName(std::string_view name) {
    for (const auto& d : kDtypes)
        if (d.name == name) return d.dtype;
    return std::nullopt;
}

// Parses untrusted JSON with bounded nesting and no duplicate keys in the top-level object.
json parseHeaderJson(std::string_view text, const std::string& file, uint64_t at) {
    std::unordered_set<std::string> names;
    auto cb = [&](int depth, json::parse_event_t event, json& parsed) {
        if (depth > kMaxHeaderDepth)
            throw FormatError::at(file, "header", at, "JSON nested deeper than a safetensors header can be");
        if (event == json::parse_event_t::key && depth == 1 && !names.insert(parsed.get<std::string>()).second)
            throw FormatError::at(file, "header", at, "duplicate tensor name '" + parsed.get<std::string>() + "'");
        return true;
    };
    try {
        return json::parse(text.begin(), text.end(), cb);
    } catch (const json::exception& e) {
        throw FormatError::at(file, "header", at, std::string("not valid JSON: ") + e.what());
    }
}

uint64_t readU64(const json& v, const std::string& file, const std::string& field, uint64_t at) {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
        throw FormatError::at(file, field, at, "expected a non-negative integer");
    return v.get<uint64_t>();
}

}  // namespace

std::string_view dtypeName(Dtype d) {
    for (const auto& info : kDtypes)
        if (info.dtype == d) return info.name;
    return "?";
}

size_t dtypeSize(Dtype d) {
    for (const auto& info : kDtypes)
        if (info.dtype == d) return info.size;
    return 0;
}

uint64_t TensorView::elements() const {
    uint64_t n = 1;
    for (uint64_t s : shape) n *= s;  // checked against overflow on open
    return n;
}

// ---- SafetensorsFile ---------------------------------------------------------------------------

struct SafetensorsFile::Impl {
    std::filesystem::path path;
    MappedFile mapping;
    std::span<const uint8_t> bytes;
    std::vector<TensorView> tensors;
    std::unordered_map<std::string, size_t> byName;
    std::map<std::string, std::string> metadata;

    void parse(const std::string& file);
    TensorView parseTensor(const std::string& file, const std::string& name, const json& entry, uint64_t at,
                           uint64_t dataSize);
};

TensorView SafetensorsFile::Impl::parseTensor(const std::string& file, const std::string& name, const json& entry,
                                              uint64_t at, uint64_t dataSize) {
    const std::string field = "tensor '" + name + "'";
    if (!entry.is_object()) throw FormatError::at(file, field, at, "expected an object");
    for (const char* key : {"dtype", "shape", "data_offsets"})
        if (!entry.contains(key)) throw FormatError::at(file, field, at, std::string("has no \"") + key + "\"");
    const json& dt = entry["dtype"];
    if (!dt.is_string()) throw FormatError::at(file, field + " dtype", at, "expected a string");
    auto dtype = dtypeFromName(dt.get<std::string>());
    if (!dtype) throw FormatError::at(file, field + " dtype", at, "unknown dtype '" + dt.get<std::string>() + "'");

    TensorView t;
    t.name = name;
    t.dtype = *dtype;
    const json& shape = entry["shape"];
    if (!shape.is_array()) throw FormatError::at(file, field + " shape", at, "expected an array");
    if (shape.size() > 8) throw FormatError::at(file, field + " shape", at, "has more than 8 dimensions");
    uint64_t elements = 1;
    for (const auto& dim : shape) {
        uint64_t n = readU64(dim, file, field + " shape", at);
        if (n != 0 && elements > std::numeric_limits<uint64_t>::max() / n)
            throw FormatError::at(file, field + " shape", at, "element count overflows 64 bits");
        elements *= n;
        t.shape.push_back(n);
    }
    size_t elemSize = dtypeSize(t.dtype);
    if (elements > std::numeric_limits<uint64_t>::max() / elemSize)
        throw FormatError::at(file, field + " shape", at, "byte size overflows 64 bits");
    t.bytes = elements * elemSize;

    const json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2)
        throw FormatError::at(file, field + " data_offsets", at, "expected [begin, end]");
    uint64_t begin = readU64(offsets[0], file, field + " data_offsets", at);
    uint64_t end = readU64(offsets[1], file, field + " data_offsets", at);
    if (end < begin) throw FormatError::at(file, field + " data_offsets", at, "end is before begin");
    if (end > dataSize)
        throw FormatError::at(file, field + " data_offsets", at,
                              "range [" + std::to_string(begin) + ", " + std::to_string(end) +
                                  ") runs past the end of the data (" + std::to_string(dataSize) +
                                  " bytes; truncated download?)");
    if (end - begin != t.bytes)
        throw FormatError::at(file, field + " data_offsets", at,
                              "holds " + std::to_string(end - begin) + " bytes but shape and dtype need " +
                                  std::to_string(t.bytes));
    t.data = bytes.data() + (bytes.size() - dataSize) + begin;
    return t;
}

void SafetensorsFile::Impl::parse(const std::string& file) {
    formats_detail::ByteCursor cur(bytes, file);
    if (cur.size() < 8) cur.fail("header length", 0, "file is too short to be safetensors");
    uint64_t headerLen = cur.read<uint64_t>("header length");
    if (headerLen > kMaxHeaderBytes)
        cur.fail("header length", 0, humanBytes(headerLen) + " header exceeds the " + humanBytes(kMaxHeaderBytes) +
                                         " limit (not a safetensors file?)");
    if (headerLen > cur.remaining())
        cur.fail("header length", 0, "header of " + std::to_string(headerLen) + " bytes runs past the end of the " +
                                         humanBytes(cur.size()) + " file (truncated?)");
    std::string_view text = cur.readBytes(headerLen, "header");
    if (text.empty() || text.front() != '{') cur.fail("header", 8, "does not start with '{' (not a safetensors file?)");
    json header = parseHeaderJson(text, file, 8);
    if (!header.is_object()) cur.fail("header", 8, "expected a JSON object");
    const uint64_t dataSize = cur.remaining();

    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            if (!it->is_object()) cur.fail("__metadata__", 8, "expected an object of strings");
            for (auto m = it->begin(); m != it->end(); ++m) {
                if (!m->is_string()) cur.fail("__metadata__", 8, "value of '" + m.key() + "' is not a string");
                metadata[m.key()] = m->get<std::string>();
            }
            continue;
        }
        tensors.push_back(parseTensor(file, it.key(), *it, 8, dataSize));
    }
    const uint8_t* dataStart = bytes.data() + 8 + headerLen;
    std::sort(tensors.begin(), tensors.end(), [](const TensorView& a, const TensorView& b) {
        return a.data != b.data ? a.data < b.data : a.bytes < b.bytes;
    });
    uint64_t expected = 0;  // where the next tensor must start: the data section has no holes
    for (const auto& t : tensors) {
        auto begin = static_cast<uint64_t>(t.data - dataStart);
        if (begin < expected)
            cur.fail("tensor '" + t.name + "' data_offsets", 8, "overlaps the previous tensor's data");
        if (begin > expected)
            cur.fail("tensor '" + t.name + "' data_offsets", 8,
                     "leaves a gap of " + std::to_string(begin - expected) + " bytes before it");
        expected = begin + t.bytes;
    }
    if (expected != dataSize)
        cur.fail("data", 8 + headerLen + expected,
                 std::to_string(dataSize - expected) + " bytes after the last tensor belong to no tensor");
    for (size_t i = 0; i < tensors.size(); ++i) byName.emplace(tensors[i].name, i);
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->mapping = MappedFile(path);
    impl->bytes = impl->mapping.bytes();
    impl->parse(path.string());
    return SafetensorsFile(std::move(impl));
}

SafetensorsFile SafetensorsFile::fromMemory(std::span<const uint8_t> bytes, std::string displayName) {
    auto impl = std::make_unique<Impl>();
    impl->path = displayName;
    impl->bytes = bytes;
    impl->parse(displayName);
    return SafetensorsFile(std::move(impl));
}

SafetensorsFile::SafetensorsFile(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

const std::filesystem::path& SafetensorsFile::path() const { return d->path; }
const std::vector<TensorView>& SafetensorsFile::tensors() const { return d->tensors; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return d->metadata; }
const TensorView* SafetensorsFile::tensor(std::string_view name) const {
    auto it = d->byName.find(std::string(name));
    return it == d->byName.end() ? nullptr : &d->tensors[it->second];
}

// ---- SafetensorsCheckpoint ---------------------------------------------------------------------

struct SafetensorsCheckpoint::Impl {
    std::vector<SafetensorsFile> shards;
    std::map<std::string, const TensorView*> tensors;
};

namespace {

// Shard names come from a file in the download: keep them inside the folder.
bool plainFileName(const std::string& name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
           name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

std::map<std::string, std::string> readIndex(const std::filesystem::path& indexPath) {
    const std::string file = indexPath.string();
    std::ifstream in(indexPath, std::ios::binary);
    if (!in) throw FormatError(file + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (text.size() > kMaxHeaderBytes) throw FormatError(file + ": too large for an index");
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw FormatError(file + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
        throw FormatError(file + ": weight_map: missing or not an object");
    std::map<std::string, std::string> map;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
        if (!it->is_string()) throw FormatError(file + ": weight_map: '" + it.key() + "' does not name a file");
        std::string shard = it->get<std::string>();
        if (!plainFileName(shard))
            throw FormatError(file + ": weight_map: '" + shard + "' is not a file name inside the model folder");
        map[it.key()] = shard;
    }
    if (map.empty()) throw FormatError(file + ": weight_map is empty");
    return map;
}

}  // namespace

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::filesystem::path& folder) {
    auto impl = std::make_unique<Impl>();
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec))
        throw FormatError(folder.string() + ": not a folder (expected a Hugging Face model folder)");
    auto indexPath = folder / "model.safetensors.index.json";
    if (std::filesystem::exists(indexPath, ec)) {
        auto index = readIndex(indexPath);
        std::map<std::string, size_t> shardIndex;
        for (const auto& [name, shard] : index) {
            auto [it, added] = shardIndex.emplace(shard, impl->shards.size());
            if (added) impl->shards.push_back(SafetensorsFile::open(folder / shard));
            const TensorView* t = impl->shards[it->second].tensor(name);
            if (!t)
                throw FormatError((folder / shard).string() + ": has no tensor '" + name + "' (listed in " +
                                  indexPath.filename().string() + ")");
            impl->tensors[name] = t;
        }
    } else {
        auto single = folder / "model.safetensors";
        if (!std::filesystem::exists(single, ec))
            throw FormatError(folder.string() + ": no model.safetensors or model.safetensors.index.json");
        impl->shards.push_back(SafetensorsFile::open(single));
        for (const auto& t : impl->shards.back().tensors()) impl->tensors[t.name] = &t;
    }
    return SafetensorsCheckpoint(std::move(impl));
}

SafetensorsCheckpoint::SafetensorsCheckpoint(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
SafetensorsCheckpoint::SafetensorsCheckpoint(SafetensorsCheckpoint&&) noexcept = default;
SafetensorsCheckpoint& SafetensorsCheckpoint::operator=(SafetensorsCheckpoint&&) noexcept = default;
SafetensorsCheckpoint::~SafetensorsCheckpoint() = default;

std::vector<std::string> SafetensorsCheckpoint::tensorNames() const {
    std::vector<std::string> names;
    names.reserve(d->tensors.size());
    for (const auto& [name, t] : d->tensors) names.push_back(name);
    return names;
}

const TensorView* SafetensorsCheckpoint::tensor(std::string_view name) const {
    auto it = d->tensors.find(std::string(name));
    return it == d->tensors.end() ? nullptr : it->second;
}

uint64_t SafetensorsCheckpoint::totalBytes() const {
    uint64_t total = 0;
    for (const auto& [name, t] : d->tensors) total += t->bytes;
    return total;
}

}  // namespace hearth::safetensors
