// The normalizers of tokenizer.json that the supported models use, applied to each piece of text
// between added tokens: Unicode forms (utf8proc), Replace, Prepend, Lowercase, Strip,
// StripAccents, and Sequence of these.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

class SplitRegex;

class Normalizer {
public:
    enum class Kind { Nfc, Nfd, Nfkc, Nfkd, Replace, Prepend, Lowercase, Strip, StripAccents };
    struct Step {
        Kind kind;
        std::string pattern;    // Replace: literal pattern (when regex is null)
        std::string content;    // Replace: replacement; Prepend: prefix
        std::shared_ptr<SplitRegex> regex;  // Replace with a Regex pattern
        bool left = false, right = false;   // Strip
    };

    // Null JSON gives an empty normalizer. Unknown types throw TokenizerError.
    static Normalizer fromJson(const nlohmann::json& j);
    static Normalizer fromSteps(std::vector<Step> steps) { return Normalizer(std::move(steps)); }
    Normalizer() = default;  // none

    bool empty() const { return steps_.empty(); }
    // True when a normalizer object exists at all (an empty Sequence counts), which decides how
    // normalized added tokens are matched.
    bool present() const { return present_; }
    std::string apply(std::string_view text) const;

private:
    explicit Normalizer(std::vector<Step> steps) : steps_(std::move(steps)), present_(true) {}
    static void collect(const nlohmann::json& j, std::vector<Step>& steps);
    std::vector<Step> steps_;
    bool present_ = false;
};

std::string replaceAll(std::string_view text, std::string_view pattern, std::string_view with);
// JavaScript's String.prototype.trim family (WhiteSpace and LineTerminator code points).
std::string_view trimStartJs(std::string_view s);
std::string_view trimEndJs(std::string_view s);

}  // namespace hearth
