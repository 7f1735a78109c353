// GGUF v3 writer: header, metadata and tensor infos first, then tensor data streamed in order,
// each tensor padded to the alignment (as llama.cpp's and gguf-py's writers do).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "models/formats/byte_cursor.h"
#include "models/formats/gguf.h"

namespace hearth::gguf {

namespace {

constexpr uint32_t kVersion = 3;
constexpr uint32_t kDefaultAlignment = 32;

uint64_t alignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// Serialises into a byte vector; the header is small (even a 256k-token vocabulary is a few MB).
struct Encoder {
    std::vector<uint8_t> out;

    template <typename T>
    void put(T v) {
        // resize + memcpy rather than insert: GCC 12 at -O3 warns falsely on the insert.
        size_t at = out.size();
        out.resize(at + sizeof(T));
        std::memcpy(out.data() + at, &v, sizeof(T));
    }
    void putString(const std::string& s) {
        put<uint64_t>(s.size());
        out.insert(out.end(), s.begin(), s.end());
    }
    void putScalar(const Value& v) {
        std::visit(
            [this](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, std::string>) putString(x);
                else if constexpr (std::is_same_v<T, bool>) put<uint8_t>(x ? 1 : 0);
                else if constexpr (std::is_same_v<T, Array>) {}  // callers refuse nested arrays
                else put<T>(x);
            },
            v.v);
    }
    void putValue(const Value& v) {
        if (const Array* a = v.asArray()) {
            put<uint32_t>(static_cast<uint32_t>(a->elementType));
            put<uint64_t>(a->items.size());
            for (const auto& item : a->items) putScalar(item);
        } else {
            putScalar(v);
        }
    }
};

struct PlannedTensor {
    std::string name;
    DType type;
    std::vector<uint64_t> shape;
    uint64_t bytes = 0;
    uint64_t offset = 0;  // within the data section
};

[[noreturn]] void fail(const std::string& what) { throw FormatError("GGUF writer: " + what); }

void checkValue(const std::string& key, const Value& v) {
    const Array* a = v.asArray();
    if (!a) return;
    if (a->elementType == ValueType::Array) fail("'" + key + "': nested arrays are not part of GGUF");
    for (const auto& item : a->items)
        if (item.type() != a->elementType) fail("'" + key + "': array items differ from the array's element type");
}

}  // namespace

struct GgufWriter::Impl {
    std::vector<std::pair<std::string, Value>> metadata;
    std::vector<PlannedTensor> tensors;
    std::unordered_set<std::string> tensorNames;
    uint64_t alignment = kDefaultAlignment;
    uint64_t dataBytes = 0;  // data section size, padding included

    std::filesystem::path target, partial;
    int fd = -1;
    size_t current = 0;         // tensor being written
    uint64_t currentWritten = 0;
    bool committed = false;

    std::vector<uint8_t> header() const {
        Encoder e;
        e.out.assign({'G', 'G', 'U', 'F'});
        e.put<uint32_t>(kVersion);
        e.put<uint64_t>(tensors.size());
        e.put<uint64_t>(metadata.size());
        for (const auto& [k, v] : metadata) {
            e.putString(k);
            e.put<uint32_t>(static_cast<uint32_t>(v.type()));
            e.putValue(v);
        }
        for (const auto& t : tensors) {
            e.putString(t.name);
            e.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
            for (uint64_t d : t.shape) e.put<uint64_t>(d);
            e.put<uint32_t>(static_cast<uint32_t>(t.type));
            e.put<uint64_t>(t.offset);
        }
        e.out.resize(alignUp(e.out.size(), alignment), 0);
        return e.out;
    }

    void writeAll(const uint8_t* p, size_t n) {
        while (n > 0) {
            ssize_t w = ::write(fd, p, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                std::string why = errno == ENOSPC ? "the disk is full" : std::strerror(errno);
                fail("cannot write " + partial.string() + ": " + why);
            }
            p += w;
            n -= static_cast<size_t>(w);
        }
    }

    void writeZeros(uint64_t n) {
        static const uint8_t zeros[256] = {};
        while (n > 0) {
            size_t k = static_cast<size_t>(std::min<uint64_t>(n, sizeof zeros));
            writeAll(zeros, k);
            n -= k;
        }
    }

    void closeAndRemove() noexcept {
        if (fd >= 0) ::close(fd);
        fd = -1;
        if (!partial.empty()) {
            std::error_code ec;
            std::filesystem::remove(partial, ec);
        }
    }
};

GgufWriter::GgufWriter() : d(std::make_unique<Impl>()) {}

GgufWriter::~GgufWriter() {
    if (!d->committed) abort();
}

void GgufWriter::set(std::string key, Value value) {
    if (d->fd >= 0) fail("metadata must be set before begin()");
    if (key.empty() || !formats_detail::isValidUtf8(key)) fail("metadata keys must be non-empty UTF-8");
    checkValue(key, value);
    if (key == "general.alignment") {
        // Tensor offsets depend on it, so it cannot be stored without being applied.
        const uint32_t* a = std::get_if<uint32_t>(&value.v);
        if (!a) fail("general.alignment must be a uint32");
        if (!d->tensors.empty()) fail("set the alignment before adding tensors");
        if (*a == 0 || (*a & (*a - 1)) != 0 || *a > (1u << 20))
            fail("alignment " + std::to_string(*a) + " is not a power of two up to 1 MiB");
        d->alignment = *a;
    }
    for (auto& [k, v] : d->metadata) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    d->metadata.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::setAlignment(uint32_t alignment) { set("general.alignment", Value{alignment}); }

void GgufWriter::addTensor(std::string name, DType type, std::vector<uint64_t> shape) {
    if (d->fd >= 0) fail("tensors must be added before begin()");
    if (name.empty() || !formats_detail::isValidUtf8(name)) fail("tensor names must be non-empty UTF-8");
    if (!d->tensorNames.insert(name).second) fail("duplicate tensor '" + name + "'");
    if (shape.empty() || shape.size() > 4) fail("tensor '" + name + "' must have 1 to 4 dimensions");
    uint64_t rows = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 0) fail("tensor '" + name + "' has a zero dimension");
        if (i > 0) {
            if (shape[i] > std::numeric_limits<uint64_t>::max() / rows) fail("tensor '" + name + "' is too large");
            rows *= shape[i];
        }
    }
    auto rowBytes = dtypeRowBytes(type, shape[0]);
    if (!rowBytes)
        fail("tensor '" + name + "': a row of " + std::to_string(shape[0]) + " is not a whole number of " +
             std::string(dtypeName(type)) + " blocks");
    if (rows > std::numeric_limits<uint64_t>::max() / 2 / *rowBytes) fail("tensor '" + name + "' is too large");
    PlannedTensor t{std::move(name), type, std::move(shape), *rowBytes * rows, d->dataBytes};
    d->dataBytes = alignUp(t.offset + t.bytes, d->alignment);
    d->tensors.push_back(std::move(t));
}

uint64_t GgufWriter::plannedFileSize() const { return d->header().size() + d->dataBytes; }

void GgufWriter::begin(const std::filesystem::path& path) {
    if (d->fd >= 0 || d->committed) fail("begin() called twice");
    d->target = path;
    d->partial = path;
    d->partial += ".partial";
    d->fd = ::open(d->partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (d->fd < 0) {
        std::string why = std::strerror(errno);
        d->partial.clear();  // nothing of ours to remove
        fail("cannot create " + path.string() + ".partial: " + why);
    }
    auto h = d->header();
    d->writeAll(h.data(), h.size());
}

void GgufWriter::writeTensorData(std::string_view name, std::span<const uint8_t> bytes) {
    if (d->fd < 0) fail("writeTensorData() before begin()");
    if (d->current >= d->tensors.size()) fail("data for '" + std::string(name) + "' after the last tensor");
    PlannedTensor& t = d->tensors[d->current];
    if (t.name != name)
        fail("expected data for tensor '" + t.name + "' (tensors are written in the order they were added), got '" +
             std::string(name) + "'");
    if (bytes.size() > t.bytes - d->currentWritten)
        fail("tensor '" + t.name + "' is " + std::to_string(t.bytes) + " bytes; got more");
    d->writeAll(bytes.data(), bytes.size());
    d->currentWritten += bytes.size();
    if (d->currentWritten == t.bytes) {
        d->writeZeros(alignUp(t.bytes, d->alignment) - t.bytes);
        ++d->current;
        d->currentWritten = 0;
    }
}

void GgufWriter::commit() {
    if (d->fd < 0) fail("commit() before begin()");
    if (d->current != d->tensors.size())
        fail("tensor '" + d->tensors[d->current].name + "' is incomplete: " + std::to_string(d->currentWritten) +
             " of " + std::to_string(d->tensors[d->current].bytes) + " bytes written");
    if (::fsync(d->fd) != 0) fail("cannot flush " + d->partial.string() + ": " + std::strerror(errno));
    int fd = d->fd;
    d->fd = -1;
    if (::close(fd) != 0) fail("cannot close " + d->partial.string() + ": " + std::strerror(errno));
    std::error_code ec;
    std::filesystem::rename(d->partial, d->target, ec);
    if (ec) fail("cannot rename " + d->partial.string() + " to " + d->target.string() + ": " + ec.message());
    d->committed = true;
    // Make the rename itself durable.
    auto dir = d->target.parent_path();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

void GgufWriter::abort() noexcept {
    if (d->committed) return;
    d->closeAndRemove();
    d->partial.clear();
}

}  // namespace hearth::gguf
