// The regular expressions of tokenizer.json (written for the Rust `tokenizers` crate, i.e.
// Oniguruma syntax) compiled with PCRE2 in UTF + UCP mode, with the constructs whose meaning
// differs between the engines rewritten first, the same way the reference implementation
// (@huggingface/tokenizers) rewrites them for JavaScript:
//   \s \S      -> \p{White_Space} (PCRE2's UCP \s also takes U+180E)
//   \d \w \h   -> Unicode digits, Oniguruma's word set, hex digits
//   (?i:...)   -> ASCII-only case folding (PCRE2 would also fold 's' to U+017F)
//   X++ X?+    -> greedy (no possessive quantifiers), X{n}+ -> (?:X{n})+
//   ^ $ .      -> line anchors on \n only, '.' excludes only \n
//   \uXXXX     -> \x{XXXX}
// Matching follows JavaScript's String.matchAll: after an empty match the search resumes one
// character later.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace hearth {

class SplitRegex {
public:
    // Throws TokenizerError naming the pattern when it cannot be compiled.
    static SplitRegex fromOniguruma(std::string_view pattern);
    // A pattern already in PCRE2 syntax (used for the fixed GPT-2 byte-level pattern).
    static SplitRegex fromPcre2(std::string_view pattern);
    static std::string translate(std::string_view oniguruma);

    SplitRegex(SplitRegex&&) noexcept;
    SplitRegex& operator=(SplitRegex&&) noexcept;
    ~SplitRegex();

    // Calls onMatch(begin, end) for each match, left to right. `text` must be valid UTF-8.
    void forEachMatch(std::string_view text, const std::function<void(size_t, size_t)>& onMatch) const;

private:
    struct Impl;
    explicit SplitRegex(std::unique_ptr<Impl>);
    std::unique_ptr<Impl> d;
};

}  // namespace hearth
