#include "inference/tokenizer/added_token_matcher.h"

#include <algorithm>

namespace hearth {

AddedTokenMatcher::AddedTokenMatcher(const std::vector<std::string>& contents) {
    nodes_.emplace_back();
    for (size_t t = 0; t < contents.size(); ++t) {
        const std::string& s = contents[t];
        if (s.empty()) continue;
        firstByte_[static_cast<uint8_t>(s[0])] = true;
        int32_t node = 0;
        for (char ch : s) {
            auto b = static_cast<uint8_t>(ch);
            int32_t next = child(node, b);
            if (next < 0) {
                next = static_cast<int32_t>(nodes_.size());
                nodes_.emplace_back();
                auto& kids = nodes_[node].children;
                kids.insert(std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, int32_t{0})),
                            std::make_pair(b, next));
            }
            node = next;
        }
        nodes_[node].token = static_cast<int32_t>(t);
    }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
    const auto& kids = nodes_[node].children;
    auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(byte, int32_t{0}));
    if (it == kids.end() || it->first != byte) return -1;
    return it->second;
}

std::vector<AddedTokenMatcher::Segment> AddedTokenMatcher::split(
    std::string_view text, const std::function<bool(int32_t, size_t, size_t)>& accept) const {
    std::vector<Segment> out;
    if (empty()) {
        if (!text.empty()) out.push_back({text, -1});
        return out;
    }
    size_t start = 0, i = 0;
    while (i < text.size()) {
        if (!firstByte_[static_cast<uint8_t>(text[i])]) {
            ++i;
            continue;
        }
        int32_t node = 0, best = -1;
        size_t bestEnd = 0;
        for (size_t j = i; j < text.size(); ++j) {
            node = child(node, static_cast<uint8_t>(text[j]));
            if (node < 0) break;
            if (nodes_[node].token >= 0) {
                best = nodes_[node].token;
                bestEnd = j + 1;
            }
        }
        if (best < 0) {
            ++i;
            continue;
        }
        if (accept && !accept(best, i, bestEnd)) {
            i = bestEnd;  // like the Rust crate, the refused match is not searched again
            continue;
        }
        if (i > start) out.push_back({text.substr(start, i - start), -1});
        out.push_back({text.substr(i, bestEnd - i), best});
        i = start = bestEnd;
    }
    if (start < text.size()) out.push_back({text.substr(start), -1});
    return out;
}

}  // namespace hearth
