// Bounds-checked little-endian reading of an untrusted byte image (internal to the parsers).
// Every read states what field it is for, so a failure names the field and its byte offset.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "models/formats/format_error.h"

namespace hearth::formats_detail {

// True for well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view s);

// "1.2 MB", "512 bytes": sizes in messages a user reads.
std::string humanBytes(uint64_t bytes);

class ByteCursor {
public:
    ByteCursor(std::span<const uint8_t> bytes, std::string file) : bytes_(bytes), file_(std::move(file)) {}

    uint64_t pos() const { return pos_; }
    uint64_t size() const { return bytes_.size(); }
    uint64_t remaining() const { return bytes_.size() - pos_; }
    const std::string& file() const { return file_; }
    const uint8_t* here() const { return bytes_.data() + pos_; }

    [[noreturn]] void fail(const std::string& field, uint64_t offset, const std::string& problem) const {
        throw FormatError::at(file_, field, offset, problem);
    }

    void need(uint64_t n, const std::string& field) const {
        if (n > remaining())
            fail(field, pos_, "needs " + std::to_string(n) + " bytes but the file ends after " +
                                  std::to_string(remaining()) + " (truncated file?)");
    }

    template <typename T>
    T read(const std::string& field) {
        need(sizeof(T), field);
        T v;
        std::memcpy(&v, here(), sizeof(T));  // hosts are little-endian like the formats
        pos_ += sizeof(T);
        return v;
    }

    std::string_view readBytes(uint64_t n, const std::string& field) {
        need(n, field);
        std::string_view s(reinterpret_cast<const char*>(here()), static_cast<size_t>(n));
        pos_ += n;
        return s;
    }

    void skip(uint64_t n, const std::string& field) {
        need(n, field);
        pos_ += n;
    }

private:
    std::span<const uint8_t> bytes_;
    std::string file_;
    uint64_t pos_ = 0;
};

}  // namespace hearth::formats_detail
