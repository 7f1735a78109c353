#include "inference/tokenizer/utf8.h"

namespace hearth::utf8 {

namespace {
constexpr char kReplacement[] = "\xEF\xBF\xBD";
}

char32_t next(std::string_view s, size_t& pos) {
    auto b = static_cast<uint8_t>(s[pos]);
    size_t n = sequenceLength(b);
    if (n == 1 || pos + n > s.size()) {
        ++pos;
        return b;
    }
    char32_t cp = b & (0xFF >> (n + 1));
    for (size_t i = 1; i < n; ++i) cp = (cp << 6) | (static_cast<uint8_t>(s[pos + i]) & 0x3F);
    pos += n;
    return cp;
}

void append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

void LossyDecoder::feed(uint8_t b, std::string& out) {
    if (needed_ == 0) {
        if (b < 0x80) {
            out += static_cast<char>(b);
        } else if (b >= 0xC2 && b <= 0xDF) {
            needed_ = 1;
            cp_ = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
            if (b == 0xE0) lower_ = 0xA0;
            if (b == 0xED) upper_ = 0x9F;
            needed_ = 2;
            cp_ = b & 0x0F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            if (b == 0xF0) lower_ = 0x90;
            if (b == 0xF4) upper_ = 0x8F;
            needed_ = 3;
            cp_ = b & 0x07;
        } else {
            out += kReplacement;
        }
        return;
    }
    if (b < lower_ || b > upper_) {
        // The partial sequence is one maximal invalid subpart; `b` starts afresh.
        cp_ = 0;
        needed_ = seen_ = 0;
        lower_ = 0x80;
        upper_ = 0xBF;
        out += kReplacement;
        feed(b, out);
        return;
    }
    lower_ = 0x80;
    upper_ = 0xBF;
    cp_ = (cp_ << 6) | (b & 0x3F);
    if (++seen_ == needed_) {
        append(out, cp_);
        cp_ = 0;
        needed_ = seen_ = 0;
    }
}

void LossyDecoder::finish(std::string& out) {
    if (needed_ != 0) out += kReplacement;
    cp_ = 0;
    needed_ = seen_ = 0;
    lower_ = 0x80;
    upper_ = 0xBF;
}

bool isValid(std::string_view s) {
    size_t i = 0;
    const size_t n = s.size();
    while (i < n) {
        auto b = static_cast<uint8_t>(s[i]);
        if (b < 0x80) {
            ++i;
            continue;
        }
        size_t len;
        uint8_t lo = 0x80, hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) {
            len = 2;
        } else if (b >= 0xE0 && b <= 0xEF) {
            len = 3;
            if (b == 0xE0) lo = 0xA0;
            if (b == 0xED) hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            len = 4;
            if (b == 0xF0) lo = 0x90;
            if (b == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (i + len > n) return false;
        auto b1 = static_cast<uint8_t>(s[i + 1]);
        if (b1 < lo || b1 > hi) return false;
        for (size_t k = 2; k < len; ++k)
            if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

std::string sanitize(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    LossyDecoder d;
    d.feed(s, out);
    d.finish(out);
    return out;
}

}  // namespace hearth::utf8
