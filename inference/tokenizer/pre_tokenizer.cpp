#include "inference/tokenizer/pre_tokenizer.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "inference/tokenizer/normalizer.h"
#include "inference/tokenizer/split_regex.h"
#include "inference/tokenizer/tokenizer_error.h"

namespace hearth {

namespace {

PreTokenizer::Behavior parseBehavior(const std::string& name) {
    if (name == "Isolated") return PreTokenizer::Behavior::Isolated;
    if (name == "Removed") return PreTokenizer::Behavior::Removed;
    if (name == "MergedWithPrevious") return PreTokenizer::Behavior::MergedWithPrevious;
    if (name == "MergedWithNext") return PreTokenizer::Behavior::MergedWithNext;
    if (name == "Contiguous") return PreTokenizer::Behavior::Contiguous;
    throw TokenizerError("Split behavior '" + name + "' is not supported");
}

struct Span {
    size_t begin, end;
    bool match;
};

// Cuts `text` into alternating non-matching / matching spans (empty ones dropped).
std::vector<Span> spans(const PreTokenizer::Step& step, std::string_view text) {
    std::vector<Span> out;
    size_t last = 0;
    auto onMatch = [&](size_t b, size_t e) {
        if (b > last) out.push_back({last, b, false});
        if (e > b) out.push_back({b, e, true});
        last = e;
    };
    if (step.regex) {
        step.regex->forEachMatch(text, onMatch);
    } else if (!step.literal.empty()) {
        size_t pos = 0;
        while ((pos = text.find(step.literal, pos)) != std::string_view::npos) {
            onMatch(pos, pos + step.literal.size());
            pos += step.literal.size();
        }
    }
    if (last < text.size()) out.push_back({last, text.size(), false});
    return out;
}

void applySplit(const PreTokenizer::Step& step, std::string_view text, std::vector<std::string_view>& out) {
    using B = PreTokenizer::Behavior;
    std::vector<Span> parts = spans(step, text);
    // Inverting swaps which spans are the delimiters.
    if (step.invert)
        for (Span& s : parts) s.match = !s.match;
    auto view = [&](size_t b, size_t e) { return text.substr(b, e - b); };
    switch (step.behavior) {
        case B::Isolated:
            for (const Span& s : parts) out.push_back(view(s.begin, s.end));
            break;
        case B::Removed:
            for (const Span& s : parts)
                if (!s.match) out.push_back(view(s.begin, s.end));
            break;
        case B::MergedWithPrevious: {
            size_t start = 0;
            bool open = false;
            for (const Span& s : parts) {
                if (s.match) {
                    out.push_back(view(open ? start : s.begin, s.end));
                    open = false;
                } else {
                    if (open) out.push_back(view(start, s.begin));
                    start = s.begin;
                    open = true;
                }
            }
            if (open) out.push_back(view(start, text.size()));
            break;
        }
        case B::MergedWithNext: {
            size_t start = 0;
            bool open = false;
            for (const Span& s : parts) {
                if (s.match) {
                    if (open) {
                        // a delimiter following a delimiter: each starts its own piece
                        out.push_back(view(start, s.begin));
                    }
                    start = s.begin;
                    open = true;
                } else {
                    out.push_back(view(open ? start : s.begin, s.end));
                    open = false;
                }
            }
            if (open) out.push_back(view(start, text.size()));
            break;
        }
        case B::Contiguous: {
            size_t i = 0;
            while (i < parts.size()) {
                size_t j = i + 1;
                if (parts[i].match)
                    while (j < parts.size() && parts[j].match) ++j;
                out.push_back(view(parts[i].begin, parts[j - 1].end));
                i = j;
            }
            break;
        }
    }
}

}  // namespace

std::shared_ptr<SplitRegex> PreTokenizer::gpt2Regex() {
    // JavaScript's own \s (used by the reference for this fixed pattern) is Zs plus these.
    static const std::string ws = "[\\t\\n\\x{0B}\\f\\r\\p{Zs}\\x{2028}\\x{2029}\\x{FEFF}]";
    static const std::string nws = "[^\\t\\n\\x{0B}\\f\\r\\p{Zs}\\x{2028}\\x{2029}\\x{FEFF}]";
    static const std::string notWsLN = "[^\\t\\n\\x{0B}\\f\\r\\p{Zs}\\x{2028}\\x{2029}\\x{FEFF}\\p{L}\\p{N}]";
    static const auto regex = std::make_shared<SplitRegex>(SplitRegex::fromPcre2(
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?" + notWsLN + "+|" + ws + "+(?!" + nws + ")|" + ws + "+"));
    return regex;
}

void PreTokenizer::collect(const nlohmann::json& j, std::vector<Step>& steps, bool& byteLevel) {
    const std::string type = j.value("type", "");
    if (type == "Sequence") {
        for (const auto& p : j.value("pretokenizers", nlohmann::json::array())) collect(p, steps, byteLevel);
        return;
    }
    if (byteLevel) throw TokenizerError("pre-tokenizer '" + type + "' after ByteLevel is not supported");
    Step s;
    if (type == "Split") {
        s.kind = Kind::Split;
        const auto& p = j.at("pattern");
        if (p.contains("Regex")) {
            s.regex = std::make_shared<SplitRegex>(SplitRegex::fromOniguruma(p.at("Regex").get<std::string>()));
        } else if (p.contains("String")) {
            s.literal = p.at("String").get<std::string>();
        } else {
            throw TokenizerError("Split pre-tokenizer without a String or Regex pattern");
        }
        s.behavior = parseBehavior(j.value("behavior", "Isolated"));
        s.invert = j.value("invert", false);
    } else if (type == "ByteLevel") {
        s.kind = Kind::ByteLevel;
        s.addPrefixSpace = j.value("add_prefix_space", false);
        if (j.value("use_regex", true)) s.regex = gpt2Regex();
        byteLevel = true;
    } else if (type == "Metaspace") {
        s.kind = Kind::Metaspace;
        s.replacement = j.value("replacement", "\u2581");
        s.prependScheme = j.value("prepend_scheme", "always");
        if (j.contains("add_prefix_space") && j["add_prefix_space"].is_boolean() && !j.contains("prepend_scheme"))
            s.prependScheme = j["add_prefix_space"].get<bool>() ? "always" : "never";
    } else if (type == "Digits") {
        s.kind = Kind::Split;
        s.regex = std::make_shared<SplitRegex>(
            SplitRegex::fromPcre2(j.value("individual_digits", false) ? "[^\\d]+|\\d" : "[^\\d]+|\\d+"));
        s.invert = true;
    } else if (type == "WhitespaceSplit") {
        s.kind = Kind::WhitespaceSplit;
    } else {
        throw TokenizerError("pre-tokenizer type '" + type + "' is not supported");
    }
    steps.push_back(std::move(s));
}

PreTokenizer PreTokenizer::fromJson(const nlohmann::json& j) {
    PreTokenizer p;
    if (!j.is_null()) collect(j, p.steps_, p.byteLevel_);
    return p;
}

PreTokenizer PreTokenizer::fromSteps(std::vector<Step> steps, bool byteLevel) {
    PreTokenizer p;
    p.steps_ = std::move(steps);
    p.byteLevel_ = byteLevel;
    return p;
}

void PreTokenizer::split(std::string_view text, size_t sectionIndex, std::deque<std::string>& arena,
                         const std::function<void(std::string_view)>& onWord) const {
    applyStep(0, text, sectionIndex, arena, onWord);
}

// Each step hands its pieces straight to the next one, so long texts never build big lists.
void PreTokenizer::applyStep(size_t index, std::string_view piece, size_t sectionIndex, std::deque<std::string>& arena,
                             const std::function<void(std::string_view)>& onWord) const {
    if (piece.empty()) return;
    if (index == steps_.size()) {
        onWord(piece);
        return;
    }
    const Step& step = steps_[index];
    auto next = [&](std::string_view p) { applyStep(index + 1, p, sectionIndex, arena, onWord); };
    switch (step.kind) {
        case Kind::Split: {
            const bool simple = step.behavior == Behavior::Isolated || (step.invert && step.behavior == Behavior::Removed);
            if (simple && step.regex) {
                // Isolated: gaps and matches alternate; inverted Isolated/Removed keep matches only
                // (as the reference does).
                size_t last = 0;
                step.regex->forEachMatch(piece, [&](size_t b, size_t e) {
                    if (b > last && !step.invert) next(piece.substr(last, b - last));
                    next(piece.substr(b, e - b));
                    last = e;
                });
                if (last < piece.size() && !step.invert) next(piece.substr(last));
                break;
            }
            std::vector<std::string_view> parts;
            if (step.invert && (step.behavior == Behavior::Isolated || step.behavior == Behavior::Removed)) {
                for (const Span& s : spans(step, piece))
                    if (s.match) parts.push_back(piece.substr(s.begin, s.end - s.begin));
            } else {
                applySplit(step, piece, parts);
            }
            for (std::string_view p : parts) next(p);
            break;
        }
        case Kind::ByteLevel: {
            std::string_view p = piece;
            if (step.addPrefixSpace && p[0] != ' ') {
                arena.push_back(" " + std::string(p));
                p = arena.back();
            }
            if (step.regex) {
                step.regex->forEachMatch(p, [&](size_t b, size_t e) { next(p.substr(b, e - b)); });
            } else {
                next(p);
            }
            break;
        }
        case Kind::Metaspace: {
            std::string s = replaceAll(piece, " ", step.replacement);
            bool prepend = step.prependScheme == "always" || (step.prependScheme == "first" && sectionIndex == 0);
            if (prepend && s.compare(0, step.replacement.size(), step.replacement) != 0) s = step.replacement + s;
            arena.push_back(std::move(s));
            next(arena.back());
            break;
        }
        case Kind::WhitespaceSplit: {
            size_t i = 0;
            while (i < piece.size()) {
                while (i < piece.size() && std::isspace(static_cast<unsigned char>(piece[i]))) ++i;
                size_t start = i;
                while (i < piece.size() && !std::isspace(static_cast<unsigned char>(piece[i]))) ++i;
                if (i > start) next(piece.substr(start, i - start));
            }
            break;
        }
    }
}

}  // namespace hearth
