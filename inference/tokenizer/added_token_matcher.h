// Finds added tokens (special or not) in text: at each position the longest token that starts
// there wins, scanning left to right, like the reference's DictionarySplitter and the Rust
// crate's leftmost-longest Aho-Corasick.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

class AddedTokenMatcher {
public:
    struct Segment {
        std::string_view text;
        int32_t token = -1;  // index into the token list given to the constructor, -1 for plain text
    };

    AddedTokenMatcher() = default;
    explicit AddedTokenMatcher(const std::vector<std::string>& contents);

    bool empty() const { return nodes_.size() <= 1; }
    // Plain-text segments are non-empty; tokens follow each other as found. `accept` (optional)
    // may refuse a match (single_word tokens inside a word); its text then stays plain.
    std::vector<Segment> split(std::string_view text,
                               const std::function<bool(int32_t token, size_t begin, size_t end)>& accept = {}) const;

private:
    struct Node {
        std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
        int32_t token = -1;
    };
    int32_t child(int32_t node, uint8_t byte) const;
    std::vector<Node> nodes_;
    bool firstByte_[256] = {};
};

}  // namespace hearth
