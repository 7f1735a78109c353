#include "inference/template/text.h"

#include <stdexcept>
#include <memory>
#include <utf8proc.h>
#if HEARTH_TEMPLATE_ICU
#include <unicode/ucasemap.h>
#endif

namespace hearth::tmpl {

std::u32string decodeUtf8(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        bool ok = len > 0 && i + size_t(len) <= s.size();
        char32_t cp = len == 1 ? c : c & (0x7F >> len);
        for (int k = 1; ok && k < len; ++k) {
            unsigned char cc = static_cast<unsigned char>(s[i + size_t(k)]);
            ok = (cc & 0xC0) == 0x80;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (!ok) {
            out.push_back(0xDC00 + c);
            ++i;
            continue;
        }
        out.push_back(cp);
        i += size_t(len);
    }
    return out;
}

void appendUtf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

std::string encodeUtf8(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t cp : s) {
        if (cp >= 0xDC80 && cp <= 0xDCFF)
            out += char(cp - 0xDC00);  // an invalid byte carried through decodeUtf8
        else
            appendUtf8(out, cp);
    }
    return out;
}

bool isAscii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

int64_t codePointCount(std::string_view s) {
    if (isAscii(s)) return int64_t(s.size());
    return int64_t(decodeUtf8(s).size());
}

bool isPySpace(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

std::string strip(std::string_view s, const std::string* chars, bool left, bool right) {
    std::u32string set;
    if (chars) set = decodeUtf8(*chars);
    auto drop = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : isPySpace(c); };
    if (isAscii(s) && (!chars || isAscii(*chars))) {
        size_t b = 0, e = s.size();
        if (left)
            while (b < e && drop(char32_t(static_cast<unsigned char>(s[b])))) ++b;
        if (right)
            while (e > b && drop(char32_t(static_cast<unsigned char>(s[e - 1])))) --e;
        return std::string(s.substr(b, e - b));
    }
    std::u32string u = decodeUtf8(s);
    size_t b = 0, e = u.size();
    if (left)
        while (b < e && drop(u[b])) ++b;
    if (right)
        while (e > b && drop(u[e - 1])) --e;
    return encodeUtf8(std::u32string_view(u).substr(b, e - b));
}

namespace {

char32_t upper(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
    return char32_t(utf8proc_toupper(utf8proc_int32_t(c)));
}
char32_t lower(char32_t c) {
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    return char32_t(utf8proc_tolower(utf8proc_int32_t(c)));
}
char32_t title(char32_t c) {
    if (c < 0x80) return upper(c);
    return char32_t(utf8proc_totitle(utf8proc_int32_t(c)));
}
bool isCased(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return upper(c) != c || lower(c) != c;
}

template <typename Fn>
std::string mapChars(std::string_view s, Fn fn) {
    std::u32string u = decodeUtf8(s);
    for (char32_t& c : u) c = fn(c);
    return encodeUtf8(u);
}

// Python's str.upper()/lower() use the full Unicode case mappings ("ß" -> "SS") and the final-sigma
// rule; ICU's root-locale case mapping implements exactly those.
std::string fullCaseMap(std::string_view s, bool toUpperCase) {
#if HEARTH_TEMPLATE_ICU
    struct Closer {
        void operator()(UCaseMap* m) const { ucasemap_close(m); }
    };
    thread_local std::unique_ptr<UCaseMap, Closer> map = [] {
        UErrorCode err = U_ZERO_ERROR;
        return std::unique_ptr<UCaseMap, Closer>(ucasemap_open("", 0, &err));
    }();
    if (map) {
        std::string out(s.size() + 16, '\0');
        for (int attempt = 0; attempt < 2; ++attempt) {
            UErrorCode err = U_ZERO_ERROR;
            auto fn = toUpperCase ? ucasemap_utf8ToUpper : ucasemap_utf8ToLower;
            int32_t n = fn(map.get(), out.data(), int32_t(out.size()), s.data(), int32_t(s.size()), &err);
            if (err == U_BUFFER_OVERFLOW_ERROR) {
                out.assign(size_t(n), '\0');
                continue;
            }
            if (U_FAILURE(err)) break;
            out.resize(size_t(n));
            return out;
        }
    }
#endif
    return toUpperCase ? mapChars(s, upper) : mapChars(s, lower);  // simple one-to-one mappings
}

}  // namespace

std::string toUpper(std::string_view s) { return isAscii(s) ? mapChars(s, upper) : fullCaseMap(s, true); }
std::string toLower(std::string_view s) { return isAscii(s) ? mapChars(s, lower) : fullCaseMap(s, false); }

std::string capitalize(std::string_view s) {
    std::u32string u = decodeUtf8(s);
    for (size_t i = 0; i < u.size(); ++i) u[i] = i == 0 ? title(u[i]) : lower(u[i]);
    return encodeUtf8(u);
}

std::string pyTitle(std::string_view s) {
    std::u32string u = decodeUtf8(s);
    bool previousCased = false;
    for (char32_t& c : u) {
        bool cased = isCased(c);
        c = cased ? (previousCased ? lower(c) : title(c)) : c;
        previousCased = cased;
    }
    return encodeUtf8(u);
}

std::string jinjaTitle(std::string_view s) {
    // Jinja capitalizes each word that follows whitespace, '-', '(', '{', '[' or '<'.
    std::u32string u = decodeUtf8(s);
    bool wordStart = true;
    for (char32_t& c : u) {
        bool separator = isPySpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
        if (separator) {
            wordStart = true;
            continue;
        }
        c = wordStart ? upper(c) : lower(c);
        wordStart = false;
    }
    return encodeUtf8(u);
}

namespace {

// CPython's PySlice_AdjustIndices.
void adjust(int64_t n, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step, int64_t& b,
            int64_t& e) {
    auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
        if (!v) return dflt;
        int64_t x = *v;
        if (x < 0) {
            x += n;
            if (x < 0) x = step < 0 ? -1 : 0;
        } else if (x >= n) {
            x = step < 0 ? n - 1 : n;
        }
        return x;
    };
    b = clamp(start, step < 0 ? n - 1 : 0);
    e = clamp(stop, step < 0 ? -1 : n);
}

template <typename Seq>
Seq sliceSeq(const Seq& seq, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step) {
    int64_t b = 0, e = 0;
    adjust(int64_t(seq.size()), start, stop, step, b, e);
    Seq out;
    if (step > 0)
        for (int64_t i = b; i < e; i += step) out.push_back(seq[size_t(i)]);
    else
        for (int64_t i = b; i > e; i += step) out.push_back(seq[size_t(i)]);
    return out;
}

}  // namespace

Value slice(const Value& v, std::optional<int64_t> start, std::optional<int64_t> stop,
            std::optional<int64_t> step) {
    int64_t st = step.value_or(1);
    if (st == 0) throw std::runtime_error("slice step cannot be zero");
    if (v.isString()) {
        if (isAscii(v.str())) return Value(sliceSeq(v.str(), start, stop, st));
        return Value(encodeUtf8(sliceSeq(decodeUtf8(v.str()), start, stop, st)));
    }
    if (v.isList()) return Value::makeList(sliceSeq(v.list().items, start, stop, st), v.list().tuple);
    if (v.isUndefined()) return Value();
    throw std::runtime_error("'" + v.typeName() + "' object is not subscriptable");
}

}  // namespace hearth::tmpl
