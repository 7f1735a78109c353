// The error every file-format parser throws: it names the file, the field and the byte offset,
// so a user can tell a truncated download from a file of another kind.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace hearth {

class FormatError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    // "model.gguf: tensor_count at byte 16: 2^40 tensors cannot fit in a 1.2 MB file"
    static FormatError at(const std::string& file, const std::string& field, uint64_t offset,
                          const std::string& problem) {
        return FormatError(file + ": " + field + " at byte " + std::to_string(offset) + ": " + problem);
    }
};

}  // namespace hearth
