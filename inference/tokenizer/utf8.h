// UTF-8 helpers shared by the tokenizer: code point iteration, and the lossy decoding that
// browsers' TextDecoder and Rust's from_utf8_lossy both use (each maximal invalid subpart becomes
// one U+FFFD), so our decode() produces the same replacement characters as the reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::utf8 {

// Decodes the code point at `pos` of valid UTF-8 and advances `pos`.
char32_t next(std::string_view s, size_t& pos);
// Byte length of the sequence starting with lead byte `b` (1 for stray bytes).
inline size_t sequenceLength(uint8_t b) {
    return b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
}
void append(std::string& out, char32_t cp);
bool isValid(std::string_view s);
// Replaces every invalid sequence (including encoded surrogates) with U+FFFD.
std::string sanitize(std::string_view s);

// Incremental lossy decoder (WHATWG "utf-8 decode" without BOM handling): feed bytes, valid text
// is appended to `out` as soon as each character completes; finish() ends the stream.
class LossyDecoder {
public:
    void feed(uint8_t byte, std::string& out);
    void feed(std::string_view bytes, std::string& out) {
        for (char c : bytes) feed(static_cast<uint8_t>(c), out);
    }
    // Emits U+FFFD for an incomplete trailing sequence and resets.
    void finish(std::string& out);
    bool pending() const { return needed_ != 0; }

private:
    char32_t cp_ = 0;
    int needed_ = 0;
    int seen_ = 0;
    uint8_t lower_ = 0x80;
    uint8_t upper_ = 0xBF;
};

}  // namespace hearth::utf8
