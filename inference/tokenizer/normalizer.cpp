#include "inference/tokenizer/normalizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "inference/tokenizer/split_regex.h"
#include "inference/tokenizer/tokenizer_error.h"
#include "inference/tokenizer/utf8.h"

namespace hearth {

namespace {

std::string unicodeForm(std::string_view text, utf8proc_option_t options) {
    utf8proc_uint8_t* result = nullptr;
    utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                      static_cast<utf8proc_ssize_t>(text.size()), &result,
                                      static_cast<utf8proc_option_t>(options | UTF8PROC_STABLE));
    if (n < 0) throw TokenizerError(std::string("Unicode normalization failed: ") + utf8proc_errmsg(n));
    std::string out(reinterpret_cast<char*>(result), static_cast<size_t>(n));
    std::free(result);
    return out;
}

// NFC only touches characters from U+0300 up and the character right before them (a base that
// may compose with a following mark); everything below U+0300 is NFC-stable and never composes
// with what precedes it. So only those stretches go through utf8proc.
std::string nfc(std::string_view text) {
    auto high = [&](size_t i) { return static_cast<uint8_t>(text[i]) >= 0xCC; };  // lead byte of >= U+0300
    size_t i = 0;
    while (i < text.size() && !high(i)) ++i;
    if (i == text.size()) return std::string(text);
    std::string out;
    out.reserve(text.size());
    size_t copied = 0;
    while (i < text.size()) {
        // [begin, end): the high run and the character before it
        size_t begin = i;
        if (begin > copied) {
            --begin;
            while (begin > copied && (static_cast<uint8_t>(text[begin]) & 0xC0) == 0x80) --begin;
        }
        size_t end = i;
        while (end < text.size()) {
            if (high(end)) {
                end += utf8::sequenceLength(static_cast<uint8_t>(text[end]));
            } else if ((static_cast<uint8_t>(text[end]) & 0xC0) == 0x80) {
                ++end;
            } else {
                break;
            }
        }
        end = std::min(end, text.size());
        out.append(text.substr(copied, begin - copied));
        out += unicodeForm(text.substr(begin, end - begin), static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE));
        copied = end;
        i = end;
        while (i < text.size() && !high(i)) ++i;
    }
    out.append(text.substr(copied));
    return out;
}

bool isJsWhitespace(char32_t c) {
    switch (c) {
        case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0xA0: case 0x1680:
        case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000: case 0xFEFF:
            return true;
        default:
            return c >= 0x2000 && c <= 0x200A;
    }
}

std::string lowercase(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) utf8::append(out, static_cast<char32_t>(utf8proc_tolower(static_cast<int32_t>(utf8::next(text, pos)))));
    return out;
}

std::string stripAccents(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
        size_t start = pos;
        char32_t c = utf8::next(text, pos);
        auto cat = utf8proc_category(static_cast<int32_t>(c));
        if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME) continue;
        out.append(text.substr(start, pos - start));
    }
    return out;
}

}  // namespace

std::string replaceAll(std::string_view text, std::string_view pattern, std::string_view with) {
    if (pattern.empty()) return std::string(text);
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (true) {
        size_t hit = text.find(pattern, pos);
        if (hit == std::string_view::npos) break;
        out.append(text.substr(pos, hit - pos));
        out.append(with);
        pos = hit + pattern.size();
    }
    out.append(text.substr(pos));
    return out;
}

std::string_view trimStartJs(std::string_view s) {
    size_t pos = 0;
    while (pos < s.size()) {
        size_t next = pos;
        if (!isJsWhitespace(utf8::next(s, next))) break;
        pos = next;
    }
    return s.substr(pos);
}

std::string_view trimEndJs(std::string_view s) {
    size_t end = s.size();
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
        size_t p = start;
        if (!isJsWhitespace(utf8::next(s, p))) break;
        end = start;
    }
    return s.substr(0, end);
}

void Normalizer::collect(const nlohmann::json& j, std::vector<Step>& steps) {
    const std::string type = j.value("type", "");
    if (type == "Sequence") {
        for (const auto& n : j.value("normalizers", nlohmann::json::array())) collect(n, steps);
    } else if (type == "NFC") {
        steps.push_back({Kind::Nfc});
    } else if (type == "NFD") {
        steps.push_back({Kind::Nfd});
    } else if (type == "NFKC") {
        steps.push_back({Kind::Nfkc});
    } else if (type == "NFKD") {
        steps.push_back({Kind::Nfkd});
    } else if (type == "Lowercase") {
        steps.push_back({Kind::Lowercase});
    } else if (type == "StripAccents") {
        steps.push_back({Kind::StripAccents});
    } else if (type == "Strip") {
        Step s{Kind::Strip};
        s.left = j.value("strip_left", false);
        s.right = j.value("strip_right", false);
        steps.push_back(std::move(s));
    } else if (type == "Prepend") {
        Step s{Kind::Prepend};
        s.content = j.at("prepend").get<std::string>();
        steps.push_back(std::move(s));
    } else if (type == "Replace") {
        Step s{Kind::Replace};
        const auto& p = j.at("pattern");
        if (p.contains("String")) {
            s.pattern = p.at("String").get<std::string>();
        } else if (p.contains("Regex")) {
            s.regex = std::make_shared<SplitRegex>(SplitRegex::fromOniguruma(p.at("Regex").get<std::string>()));
        } else {
            throw TokenizerError("Replace normalizer without a String or Regex pattern");
        }
        s.content = j.value("content", "");
        steps.push_back(std::move(s));
    } else {
        throw TokenizerError("normalizer type '" + type + "' is not supported");
    }
}

Normalizer Normalizer::fromJson(const nlohmann::json& j) {
    if (j.is_null()) return Normalizer();
    std::vector<Step> steps;
    collect(j, steps);
    return Normalizer(std::move(steps));
}

std::string Normalizer::apply(std::string_view input) const {
    std::string text(input);
    for (const Step& s : steps_) {
        switch (s.kind) {
            case Kind::Nfc: text = nfc(text); break;
            case Kind::Nfd: text = unicodeForm(text, static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE)); break;
            case Kind::Nfkc:
                text = unicodeForm(text, static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
                break;
            case Kind::Nfkd:
                text = unicodeForm(text, static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT));
                break;
            case Kind::Lowercase: text = lowercase(text); break;
            case Kind::StripAccents: text = stripAccents(text); break;
            case Kind::Prepend: text = s.content + text; break;
            case Kind::Strip: {
                std::string_view v = text;
                if (s.left) v = trimStartJs(v);
                if (s.right) v = trimEndJs(v);
                text = std::string(v);
                break;
            }
            case Kind::Replace:
                if (s.regex) {
                    std::string out;
                    size_t last = 0;
                    s.regex->forEachMatch(text, [&](size_t b, size_t e) {
                        out.append(text, last, b - last);
                        out += s.content;
                        last = e;
                    });
                    out.append(text, last, std::string::npos);
                    text = std::move(out);
                } else {
                    text = replaceAll(text, s.pattern, s.content);
                }
                break;
        }
    }
    return text;
}

}  // namespace hearth
