// Pre-tokenization: cuts normalized text into the words BPE runs on. Supports the steps of
// tokenizer.json that byte-level and SentencePiece-style models use: Split (regex or string, every
// SplitDelimiterBehavior, invert), ByteLevel (add_prefix_space, use_regex), Metaspace, Digits,
// WhitespaceSplit and Sequence.
//
// Byte-level models run BPE on raw bytes: the ByteLevel step maps nothing here; the model's
// vocabulary is converted to raw bytes instead (see BpeModel), which is the same thing and faster.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

class SplitRegex;

class PreTokenizer {
public:
    enum class Behavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous };
    enum class Kind { Split, ByteLevel, Metaspace, WhitespaceSplit };
    struct Step {
        Kind kind = Kind::Split;
        std::shared_ptr<SplitRegex> regex;  // Split (regex), ByteLevel with use_regex
        std::string literal;                // Split with a String pattern
        Behavior behavior = Behavior::Isolated;
        bool invert = false;
        bool addPrefixSpace = false;        // ByteLevel
        std::string replacement;            // Metaspace
        std::string prependScheme;          // Metaspace: always | first | never
    };

    static PreTokenizer fromJson(const nlohmann::json& j);  // null -> no pre-tokenizer
    static PreTokenizer fromSteps(std::vector<Step> steps, bool byteLevel);
    // The regex GPT-2's ByteLevel pre-tokenizer uses when use_regex is true.
    static std::shared_ptr<SplitRegex> gpt2Regex();

    bool byteLevel() const { return byteLevel_; }
    const std::vector<Step>& steps() const { return steps_; }

    // Calls onWord for each non-empty word of `text`, in order. New strings (prefix spaces,
    // replacements) live in `arena` while the call runs.
    void split(std::string_view text, size_t sectionIndex, std::deque<std::string>& arena,
               const std::function<void(std::string_view)>& onWord) const;

private:
    void applyStep(size_t step, std::string_view piece, size_t sectionIndex, std::deque<std::string>& arena,
                   const std::function<void(std::string_view)>& onWord) const;
    std::vector<Step> steps_;
    bool byteLevel_ = false;
    static void collect(const nlohmann::json& j, std::vector<Step>& steps, bool& byteLevel);
};

}  // namespace hearth
