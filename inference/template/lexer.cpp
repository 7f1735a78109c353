#include "inference/template/lexer.h"
#include "inference/template/text.h"

#include <algorithm>
#include <cstring>

namespace hearth::tmpl {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool isNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isNameChar(char c) { return isNameStart(c) || isDigit(c); }

// Jinja2 reads its whole source with "\r\n" and "\r" as "\n" and, with keep_trailing_newline
// off, drops one final newline.
std::string normalize(std::string_view source) {
    std::string out;
    out.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
        if (source[i] == '\r') {
            out += '\n';
            if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
        } else {
            out += source[i];
        }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

class Lexer {
public:
    explicit Lexer(std::string_view source) : src_(normalize(source)) {
        lineStarts_.push_back(0);
        for (size_t i = 0; i < src_.size(); ++i)
            if (src_[i] == '\n') lineStarts_.push_back(i + 1);
    }

    std::vector<Token> run() {
        while (pos_ < src_.size()) {
            size_t tag = findTag(pos_);
            if (tag == std::string::npos) {
                emitText(src_.substr(pos_), pos_);
                pos_ = src_.size();
                break;
            }
            lexTag(tag);
        }
        out_.push_back({TokenType::End, {}, at(src_.size())});
        return std::move(out_);
    }

private:
    std::string src_;
    std::vector<size_t> lineStarts_;
    size_t pos_ = 0;
    bool lineStarting_ = true;
    std::vector<Token> out_;

    SourcePos at(size_t offset) const {
        auto it = std::upper_bound(lineStarts_.begin(), lineStarts_.end(), offset);
        size_t line = size_t(it - lineStarts_.begin());
        return {int(line), int(offset - lineStarts_[line - 1] + 1)};
    }

    [[noreturn]] void fail(size_t offset, const std::string& problem) const {
        SourcePos p = at(offset);
        throw TemplateError(p.line, p.column, problem);
    }

    size_t findTag(size_t from) const {
        for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
            if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#'))
                return i;
        }
        return std::string::npos;
    }

    void emitText(std::string text, size_t offset) {
        if (!text.empty()) out_.push_back({TokenType::Text, std::move(text), at(offset)});
    }

    // The text before a tag loses its trailing whitespace for `{%-`, or (lstrip_blocks) the
    // spaces between the start of its line and a block or comment tag.
    std::string leadingText(size_t tag, char kind, char control) const {
        std::string text = src_.substr(pos_, tag - pos_);
        if (control == '-') {
            size_t end = text.size();
            while (end > 0 && isSpace(text[end - 1])) --end;
            text.resize(end);
        } else if (control != '+' && kind != '{') {
            size_t lineStart = text.rfind('\n');
            lineStart = lineStart == std::string::npos ? 0 : lineStart + 1;
            if ((lineStart > 0 || lineStarting_) && lineStart < text.size() &&
                std::all_of(text.begin() + long(lineStart), text.end(), isSpace))
                text.resize(lineStart);
        }
        return text;
    }

    // After a tag: `-%}` eats all following whitespace, a block or comment end eats one newline.
    void finishTag(size_t after, bool stripAfter, bool isBlock) {
        pos_ = after;
        if (stripAfter) {
            while (pos_ < src_.size() && isSpace(src_[pos_])) ++pos_;
        } else if (isBlock && pos_ < src_.size() && src_[pos_] == '\n') {
            ++pos_;
        }
        lineStarting_ = pos_ > 0 && src_[pos_ - 1] == '\n';
    }

    void lexTag(size_t tag) {
        char kind = src_[tag + 1];
        size_t p = tag + 2;
        char control = 0;
        if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) control = src_[p++];
        emitText(leadingText(tag, kind, control), pos_);

        if (kind == '#') {
            size_t end = src_.find("#}", p);
            if (end == std::string::npos) fail(tag, "unterminated comment: missing '#}'");
            bool strip = end > p && src_[end - 1] == '-';
            finishTag(end + 2, strip, true);
            return;
        }
        if (kind == '%' && lexRaw(tag, p)) return;

        bool isBlock = kind == '%';
        out_.push_back({isBlock ? TokenType::BlockBegin : TokenType::VarBegin, {}, at(tag)});
        lexExpression(tag, p, isBlock);
    }

    // Matches `{% raw %}...{% endraw %}` starting after "{%" and its control character.
    bool lexRaw(size_t tag, size_t p) {
        size_t q = p;
        while (q < src_.size() && isSpace(src_[q])) ++q;
        if (src_.compare(q, 3, "raw") != 0 || (q + 3 < src_.size() && isNameChar(src_[q + 3]))) return false;
        q += 3;
        while (q < src_.size() && isSpace(src_[q])) ++q;
        bool stripAfterBegin = false;
        if (src_.compare(q, 3, "-%}") == 0) {
            stripAfterBegin = true;
            q += 3;
        } else if (src_.compare(q, 2, "%}") == 0) {
            q += 2;
        } else {
            fail(q, "expected '%}' after 'raw'");
        }
        if (stripAfterBegin)
            while (q < src_.size() && isSpace(src_[q])) ++q;
        // Find "{%" [-+] ws "endraw" ws [-] "%}".
        for (size_t e = src_.find("{%", q); e != std::string::npos; e = src_.find("{%", e + 2)) {
            size_t r = e + 2;
            char control = 0;
            if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) control = src_[r++];
            while (r < src_.size() && isSpace(src_[r])) ++r;
            if (src_.compare(r, 6, "endraw") != 0) continue;
            r += 6;
            while (r < src_.size() && isSpace(src_[r])) ++r;
            bool strip = false;
            if (src_.compare(r, 3, "-%}") == 0) {
                strip = true;
                r += 3;
            } else if (src_.compare(r, 2, "%}") == 0) {
                r += 2;
            } else {
                continue;
            }
            std::string body = src_.substr(q, e - q);
            if (control == '-') {
                while (!body.empty() && isSpace(body.back())) body.pop_back();
            }
            emitText(std::move(body), q);
            finishTag(r, strip, true);
            return true;
        }
        fail(tag, "unterminated 'raw' block: missing '{% endraw %}'");
    }

    void lexExpression(size_t tag, size_t p, bool isBlock) {
        int depth = 0;
        const char* end = isBlock ? "%}" : "}}";
        for (;;) {
            while (p < src_.size() && isSpace(src_[p])) ++p;
            if (p >= src_.size())
                fail(tag, std::string("unterminated tag: missing '") + end + "'");
            if (depth == 0) {
                if (src_[p] == '-' && src_.compare(p + 1, 2, end) == 0) {
                    out_.push_back({isBlock ? TokenType::BlockEnd : TokenType::VarEnd, {}, at(p)});
                    finishTag(p + 3, true, isBlock);
                    return;
                }
                if (src_.compare(p, 2, end) == 0) {
                    out_.push_back({isBlock ? TokenType::BlockEnd : TokenType::VarEnd, {}, at(p)});
                    finishTag(p + 2, false, isBlock);
                    return;
                }
            }
            char c = src_[p];
            if (isNameStart(c)) {
                size_t s = p;
                while (p < src_.size() && isNameChar(src_[p])) ++p;
                out_.push_back({TokenType::Name, src_.substr(s, p - s), at(s)});
            } else if (isDigit(c)) {
                p = lexNumber(p);
            } else if (c == '\'' || c == '"') {
                p = lexString(p);
            } else {
                p = lexOperator(p, depth);
            }
        }
    }

    size_t lexNumber(size_t p) {
        size_t s = p;
        std::string digits;
        auto run = [&] {
            while (p < src_.size() && (isDigit(src_[p]) || (src_[p] == '_' && p + 1 < src_.size() && isDigit(src_[p + 1])))) {
                if (src_[p] != '_') digits += src_[p];
                ++p;
            }
        };
        run();
        bool isFloat = false;
        if (p + 1 < src_.size() && src_[p] == '.' && isDigit(src_[p + 1])) {
            isFloat = true;
            digits += '.';
            ++p;
            run();
        }
        if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
            size_t q = p + 1;
            if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
            if (q < src_.size() && isDigit(src_[q])) {
                isFloat = true;
                digits += 'e';
                digits.append(src_, p + 1, q - p - 1);
                p = q;
                run();
            }
        }
        out_.push_back({isFloat ? TokenType::Float : TokenType::Integer, digits, at(s)});
        return p;
    }

    // Python string-literal escapes, as Jinja2 decodes them.
    size_t lexString(size_t p) {
        size_t s = p;
        char quote = src_[p++];
        std::string value;
        while (true) {
            if (p >= src_.size()) fail(s, "unterminated string literal");
            char c = src_[p];
            if (c == quote) {
                ++p;
                break;
            }
            if (c != '\\') {
                value += c;
                ++p;
                continue;
            }
            if (p + 1 >= src_.size()) fail(s, "unterminated string literal");
            char e = src_[p + 1];
            p += 2;
            switch (e) {
            case 'n': value += '\n'; break;
            case 't': value += '\t'; break;
            case 'r': value += '\r'; break;
            case 'a': value += '\a'; break;
            case 'b': value += '\b'; break;
            case 'f': value += '\f'; break;
            case 'v': value += '\v'; break;
            case '\\': value += '\\'; break;
            case '\'': value += '\''; break;
            case '"': value += '"'; break;
            case '\n': break;  // line continuation
            case 'x': case 'u': case 'U': {
                size_t len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                if (p + len > src_.size()) fail(p - 2, "truncated \\" + std::string(1, e) + " escape");
                uint32_t cp = 0;
                for (size_t k = 0; k < len; ++k) {
                    char h = src_[p + k];
                    int d = isDigit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
                    if (d < 0) fail(p - 2, "invalid \\" + std::string(1, e) + " escape");
                    cp = cp * 16 + uint32_t(d);
                }
                if (cp > 0x10FFFF) fail(p - 2, "escape is not a Unicode code point");
                appendUtf8(value, cp);
                p += len;
                break;
            }
            default:
                if (e >= '0' && e <= '7') {
                    uint32_t cp = uint32_t(e - '0');
                    for (int k = 0; k < 2 && p < src_.size() && src_[p] >= '0' && src_[p] <= '7'; ++k)
                        cp = cp * 8 + uint32_t(src_[p++] - '0');
                    appendUtf8(value, cp);
                } else {
                    value += '\\';  // Python keeps unknown escapes as they are
                    value += e;
                }
            }
        }
        out_.push_back({TokenType::String, std::move(value), at(s)});
        return p;
    }

    size_t lexOperator(size_t p, int& depth) {
        static const char* twoChar[] = {"//", "**", "==", "!=", "<=", ">="};
        for (const char* op : twoChar) {
            if (src_.compare(p, 2, op) == 0) {
                out_.push_back({TokenType::Operator, op, at(p)});
                return p + 2;
            }
        }
        char c = src_[p];
        if (!std::strchr("+-*/%~[](){}<>=.:|,;", c)) {
            fail(p, std::string("unexpected character '") + c + "' in a tag");
        }
        if (c == '(' || c == '[' || c == '{') ++depth;
        if (c == ')' || c == ']' || c == '}') {
            if (depth == 0) fail(p, std::string("unbalanced '") + c + "'");
            --depth;
        }
        out_.push_back({TokenType::Operator, std::string(1, c), at(p)});
        return p + 1;
    }
};

}  // namespace

std::vector<Token> lex(std::string_view source) { return Lexer(source).run(); }

}  // namespace hearth::tmpl
