#include "inference/tokenizer/split_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <unicode/uchar.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <map>
#include <vector>

#include "inference/tokenizer/tokenizer_error.h"
#include "inference/tokenizer/utf8.h"

namespace hearth {

namespace {

// Oniguruma's \w as the reference defines it for JavaScript.
constexpr std::string_view kWordCharsInClass = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}";
constexpr std::string_view kHexChars = "0-9A-Fa-f";

// PCRE2's Unicode tables can be older than ICU's: characters encoded since (e.g. the Unicode 15
// emoji 🪿 and 🩷) are unassigned to PCRE2, so \p{S} would miss them where the reference sees a
// symbol. For each general category we list, from ICU, the code points PCRE2 does not know yet;
// they are added to every \p{..} class. Both tables come from the libraries, none is written here.
const std::map<std::string, std::string>& newerCategoryRanges() {
    static const std::map<std::string, std::string> ranges = [] {
        std::map<std::string, std::string> out;
        char buffer[32] = {};
        pcre2_config(PCRE2_CONFIG_UNICODE_VERSION, buffer);
        int major = 0, minor = 0;
        std::sscanf(buffer, "%d.%d", &major, &minor);
        static const char* names[] = {"Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Me", "Mc", "Nd", "Nl", "No",
                                      "Zs", "Zl", "Zp", "Cc", "Cf", "Co", "Cs", "Pd", "Ps", "Pe", "Pc", "Po",
                                      "Sm", "Sc", "Sk", "So", "Pi", "Pf"};
        auto add = [&](const std::string& name, UChar32 first, UChar32 last) {
            char range[40];
            if (first == last) std::snprintf(range, sizeof range, "\\x{%X}", static_cast<unsigned>(first));
            else std::snprintf(range, sizeof range, "\\x{%X}-\\x{%X}", static_cast<unsigned>(first), static_cast<unsigned>(last));
            out[name] += range;
            out[name.substr(0, 1)] += range;
        };
        int current = -1;
        UChar32 start = 0;
        for (UChar32 cp = 0; cp <= 0x110000; ++cp) {
            int category = -1;
            if (cp <= 0x10FFFF) {
                UVersionInfo age;
                u_charAge(cp, age);
                bool newer = age[0] > major || (age[0] == major && age[1] > minor);
                int type = u_charType(cp);
                if (newer && type > 0 && type < static_cast<int>(std::size(names))) category = type;
            }
            if (category != current) {
                if (current > 0) add(names[current], start, cp - 1);
                current = category;
                start = cp;
            }
        }
        return out;
    }();
    return ranges;
}

bool isGeneralCategory(const std::string& name) {
    static const std::string known = " L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp ";
    return !name.empty() && name.size() <= 2 && known.find(" " + name + " ") != std::string::npos;
}

// open + chars + "]", appended in place (GCC 12's -O3 -Wrestrict misreads `"[" + std::string(...)`).
std::string bracketed(std::string_view open, std::string_view chars) {
    std::string s(open);
    s += chars;
    s += ']';
    return s;
}

std::string wordClass() { return bracketed("[", kWordCharsInClass); }
std::string nonWordClass() { return bracketed("[^", kWordCharsInClass); }

std::string swapAsciiCase(char c) {
    return std::string(1, std::isupper(static_cast<unsigned char>(c))
                              ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                              : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
}

struct Translator {
    std::string_view in;
    size_t i = 0;
    std::string out;
    std::vector<std::pair<size_t, bool>> groups;  // (start of group in out, previous caseless)
    bool caseless = false;
    size_t atomStart = std::string::npos;
    bool lastWasQuantifier = false;

    [[noreturn]] void fail(const std::string& why) const {
        throw TokenizerError("regular expression '" + std::string(in) + "': " + why + " at offset " +
                             std::to_string(i));
    }

    void emitAtom(const std::string& text) {
        atomStart = out.size();
        out += text;
        lastWasQuantifier = false;
    }

    // Escape outside a class; `i` points at the backslash.
    std::string escape(bool inClass) {
        if (i + 1 >= in.size()) fail("dangling backslash");
        char c = in[i + 1];
        i += 2;
        switch (c) {
            case 's': return "\\p{White_Space}";
            case 'S': return "\\P{White_Space}";
            case 'd': return "\\p{Nd}";
            case 'D': return "\\P{Nd}";
            case 'w': return inClass ? std::string(kWordCharsInClass) : wordClass();
            case 'W':
                if (inClass) fail("\\W inside a character class is not supported");
                return nonWordClass();
            case 'h': return inClass ? std::string(kHexChars) : bracketed("[", kHexChars);
            case 'H':
                if (inClass) fail("\\H inside a character class is not supported");
                return bracketed("[^", kHexChars);
            case 'b':
                if (inClass) return "\\x{08}";
                return "(?:(?<!" + wordClass() + ")(?=" + wordClass() + ")|(?<=" + wordClass() + ")(?!" +
                       wordClass() + "))";
            case 'B':
                return "(?:(?<!" + wordClass() + ")(?!" + wordClass() + ")|(?<=" + wordClass() + ")(?=" +
                       wordClass() + "))";
            case 'a': return "\\x{07}";
            case 'e': return "\\x{1B}";
            case 'G': return "";
            case 'A': return "\\A";
            case 'z': return "\\z";
            case 'Z': return "(?=\\n?\\z)";
            case 'n': return "\\n";
            case 'r': return "\\r";
            case 't': return "\\t";
            case 'f': return "\\f";
            case 'v': return "\\x{0B}";
            case 'u': {
                if (i + 4 > in.size()) fail("short \\u escape");
                std::string hex(in.substr(i, 4));
                i += 4;
                return "\\x{" + hex + "}";
            }
            case 'x': {
                if (i < in.size() && in[i] == '{') {
                    size_t close = in.find('}', i);
                    if (close == std::string_view::npos) fail("unterminated \\x{");
                    std::string hex(in.substr(i + 1, close - i - 1));
                    i = close + 1;
                    return "\\x{" + hex + "}";
                }
                if (i + 2 > in.size()) fail("short \\x escape");
                std::string hex(in.substr(i, 2));
                i += 2;
                return "\\x{" + hex + "}";
            }
            case 'p':
            case 'P': {
                if (i >= in.size() || in[i] != '{') fail("\\p without {name}");
                size_t close = in.find('}', i);
                if (close == std::string_view::npos) fail("unterminated \\p{");
                std::string name(in.substr(i + 1, close - i - 1));
                i = close + 1;
                if (name == "Word") {
                    if (inClass) {
                        if (c == 'P') fail("\\P{Word} inside a character class is not supported");
                        return std::string(kWordCharsInClass);
                    }
                    return c == 'p' ? wordClass() : nonWordClass();
                }
                std::string property = std::string("\\") + c + "{" + name + "}";
                if (isGeneralCategory(name)) {
                    auto it = newerCategoryRanges().find(name);
                    if (it != newerCategoryRanges().end()) {
                        if (inClass) {
                            if (c == 'P') fail("\\P{" + name + "} inside a character class is not supported");
                            return property + it->second;
                        }
                        return (c == 'p' ? "[" : "[^") + std::string("\\p{") + name + "}" + it->second + "]";
                    }
                }
                return property;
            }
            default:
                if (std::isalnum(static_cast<unsigned char>(c))) return std::string("\\") + c;
                return std::string("\\") + c;  // escaped punctuation stays literal in PCRE2
        }
    }

    void characterClass() {
        std::string cls = "[";
        ++i;
        if (i < in.size() && in[i] == '^') {
            cls += '^';
            ++i;
        }
        bool first = true;
        while (true) {
            if (i >= in.size()) fail("unterminated character class");
            char c = in[i];
            if (c == ']' && !first) {
                ++i;
                break;
            }
            first = false;
            if (c == '\\') {
                cls += escape(true);
                continue;
            }
            if (c == '[') {
                if (in.substr(i, 2) == "[:") {
                    size_t close = in.find(":]", i + 2);
                    if (close == std::string_view::npos) fail("unterminated POSIX class");
                    std::string name(in.substr(i + 2, close - i - 2));
                    bool negated = !name.empty() && name[0] == '^';
                    if (negated) fail("negated POSIX classes are not supported");
                    cls += posixClass(name);
                    i = close + 2;
                    continue;
                }
                fail("nested character classes are not supported");
            }
            if (c == '&' && in.substr(i, 2) == "&&") fail("class intersections are not supported");
            size_t len = utf8::sequenceLength(static_cast<uint8_t>(c));
            std::string ch(in.substr(i, len));
            i += len;
            if (ch == "]" || ch == "[") ch = "\\" + ch;
            cls += ch;
            if (caseless && len == 1 && std::isalpha(static_cast<unsigned char>(c))) {
                // A range a-z folds to a-zA-Z; a single letter gains its other case.
                if (i + 1 < in.size() && in[i] == '-' && in[i + 1] != ']' &&
                    std::isalpha(static_cast<unsigned char>(in[i + 1]))) {
                    char hiChar = in[i + 1];
                    cls += '-';
                    cls += hiChar;
                    cls += swapAsciiCase(c) + "-" + swapAsciiCase(hiChar);
                    i += 2;
                } else {
                    cls += swapAsciiCase(c);
                }
            }
        }
        cls += ']';
        emitAtom(cls);
    }

    std::string posixClass(const std::string& name) {
        if (name == "alpha") return "\\p{Alphabetic}";
        if (name == "alnum") return "\\p{Alphabetic}\\p{Nd}";
        if (name == "digit") return "\\p{Nd}";
        if (name == "lower") return "\\p{Lowercase}";
        if (name == "upper") return "\\p{Uppercase}";
        if (name == "space") return "\\p{White_Space}";
        if (name == "blank") return "\\t\\p{Zs}";
        if (name == "punct") return "\\p{P}\\p{S}";
        if (name == "cntrl") return "\\p{Cc}";
        if (name == "word") return std::string(kWordCharsInClass);
        if (name == "xdigit") return std::string(kHexChars);
        fail("POSIX class [:" + name + ":] is not supported");
    }

    std::string run() {
        while (i < in.size()) {
            char c = in[i];
            switch (c) {
                case '\\': emitAtom(escape(false)); break;
                case '[': characterClass(); break;
                case '.': emitAtom("[^\\n]"); ++i; break;
                case '^': emitAtom("(?:(?<![\\s\\S])|(?<=\\n))"); ++i; break;
                case '$': emitAtom("(?:(?=\\n)|(?![\\s\\S]))"); ++i; break;
                case '(': {
                    bool ci = in.substr(i, 4) == "(?i:";
                    std::string prefix = "(";
                    size_t skip = 1;
                    if (ci) {
                        prefix = "(?:";
                        skip = 4;
                    } else if (in.substr(i, 3) == "(?>") {
                        prefix = "(?:";
                        skip = 3;
                    } else if (in.substr(i, 4) == "(?<=" || in.substr(i, 4) == "(?<!") {
                        prefix = std::string(in.substr(i, 4));
                        skip = 4;
                    } else if (in.substr(i, 3) == "(?:" || in.substr(i, 3) == "(?=" || in.substr(i, 3) == "(?!") {
                        prefix = std::string(in.substr(i, 3));
                        skip = 3;
                    } else if (in.substr(i, 2) == "(?" && in.substr(i, 3) != "(?<") {
                        fail("unsupported group syntax");
                    }
                    groups.emplace_back(out.size(), caseless);
                    if (ci) caseless = true;
                    out += prefix;
                    lastWasQuantifier = false;
                    i += skip;
                    break;
                }
                case ')':
                    if (groups.empty()) fail("unbalanced ')'");
                    out += ')';
                    atomStart = groups.back().first;
                    caseless = groups.back().second;
                    groups.pop_back();
                    lastWasQuantifier = false;
                    ++i;
                    break;
                case '|':
                    out += '|';
                    atomStart = std::string::npos;
                    lastWasQuantifier = false;
                    ++i;
                    break;
                case '{': quantifierBrace(); break;
                case '}': emitAtom("\\}"); ++i; break;
                case '+':
                    ++i;
                    if (lastWasQuantifier) break;  // possessive -> greedy, as the reference does
                    out += '+';
                    lastWasQuantifier = true;
                    break;
                case '*':
                case '?':
                    out += c;
                    lastWasQuantifier = true;
                    ++i;
                    break;
                default: {
                    size_t len = utf8::sequenceLength(static_cast<uint8_t>(c));
                    if (caseless && len == 1 && std::isalpha(static_cast<unsigned char>(c))) {
                        emitAtom(std::string("[") + c + swapAsciiCase(c) + "]");
                    } else {
                        emitAtom(std::string(in.substr(i, len)));
                    }
                    i += len;
                }
            }
        }
        if (!groups.empty()) fail("unbalanced '('");
        return out;
    }

    void quantifierBrace() {
        size_t j = i + 1;
        std::string body;
        while (j < in.size() && (std::isdigit(static_cast<unsigned char>(in[j])) || in[j] == ',')) body += in[j++];
        bool valid = j < in.size() && in[j] == '}' && !body.empty() && body != "," &&
                     std::isdigit(static_cast<unsigned char>(body.back())) | (body.back() == ',');
        if (!valid || atomStart == std::string::npos) {
            emitAtom("\\{");
            ++i;
            return;
        }
        if (body[0] == ',') body = "0" + body;
        i = j + 1;
        if (i < in.size() && (in[i] == '+' || in[i] == '*')) {
            // Oniguruma reads X{n}+ as a repeat of the repeat, not as possessive.
            out = out.substr(0, atomStart) + "(?:" + out.substr(atomStart) + "{" + body + "})" + in[i];
            ++i;
        } else {
            out += "{" + body + "}";
        }
        lastWasQuantifier = true;
    }
};

}  // namespace

struct SplitRegex::Impl {
    pcre2_code* code = nullptr;
    bool jit = false;
    ~Impl() { pcre2_code_free(code); }
};

SplitRegex::SplitRegex(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
SplitRegex::SplitRegex(SplitRegex&&) noexcept = default;
SplitRegex& SplitRegex::operator=(SplitRegex&&) noexcept = default;
SplitRegex::~SplitRegex() = default;

std::string SplitRegex::translate(std::string_view oniguruma) {
    Translator t{oniguruma};
    return t.run();
}

SplitRegex SplitRegex::fromOniguruma(std::string_view pattern) { return fromPcre2(translate(pattern)); }

SplitRegex SplitRegex::fromPcre2(std::string_view pattern) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_compile_context* ctx = pcre2_compile_context_create(nullptr);
    pcre2_set_newline(ctx, PCRE2_NEWLINE_LF);
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &offset, ctx);
    pcre2_compile_context_free(ctx);
    if (!code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof message);
        throw TokenizerError("cannot compile regular expression '" + std::string(pattern) + "' at offset " +
                             std::to_string(offset) + ": " + reinterpret_cast<const char*>(message));
    }
    auto impl = std::make_unique<Impl>();
    impl->code = code;
    // Without JIT (some platforms) the interpreter gives the same matches, only slower.
    impl->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    return SplitRegex(std::move(impl));
}

namespace {
struct MatchState {
    pcre2_match_data* data = nullptr;
    pcre2_match_context* context = nullptr;
    pcre2_jit_stack* stack = nullptr;
    MatchState() {
        data = pcre2_match_data_create(4, nullptr);
        context = pcre2_match_context_create(nullptr);
        stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
        if (stack) pcre2_jit_stack_assign(context, nullptr, stack);
    }
    ~MatchState() {
        pcre2_match_data_free(data);
        pcre2_match_context_free(context);
        if (stack) pcre2_jit_stack_free(stack);
    }
};
}  // namespace

void SplitRegex::forEachMatch(std::string_view text, const std::function<void(size_t, size_t)>& onMatch) const {
    thread_local MatchState state;
    auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t start = 0;
    while (start <= text.size()) {
        int rc = d->jit ? pcre2_jit_match(d->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, state.data, state.context)
                        : pcre2_match(d->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, state.data, state.context);
        if (rc == PCRE2_ERROR_NOMATCH) return;
        if (rc < 0) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(rc, message, sizeof message);
            throw TokenizerError(std::string("regular expression failed on the input: ") +
                                 reinterpret_cast<const char*>(message));
        }
        PCRE2_SIZE* ov = pcre2_get_ovector_pointer(state.data);
        size_t b = ov[0], e = ov[1];
        onMatch(b, e);
        if (e > b) {
            start = e;
        } else {
            if (e >= text.size()) return;
            start = e + utf8::sequenceLength(static_cast<uint8_t>(text[e]));
        }
    }
}

}  // namespace hearth
