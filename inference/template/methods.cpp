// Attribute and item access, iteration, and the Python methods of str, list and dict that chat
// templates call (`content.split('</think>')[-1].lstrip('\n')`, `message.get('x')`, ...).
#include <algorithm>

#include "inference/template/interpreter.h"
#include "inference/template/text.h"

namespace hearth::tmpl {

std::vector<Value> iterate(const Value& v) {
    if (v.isList()) return v.list().items;
    if (v.isDict()) {
        std::vector<Value> keys;
        keys.reserve(v.dict().entries.size());
        for (const auto& [k, val] : v.dict().entries) keys.emplace_back(k);
        return keys;
    }
    if (v.isString()) {
        std::vector<Value> chars;
        for (char32_t c : decodeUtf8(v.str())) chars.emplace_back(encodeUtf8(std::u32string(1, c)));
        return chars;
    }
    if (v.isUndefined()) return {};
    throw RenderError("'" + v.typeName() + "' object is not iterable");
}

int64_t length(const Value& v) {
    if (v.isString()) return codePointCount(v.str());
    if (v.isList()) return int64_t(v.list().items.size());
    if (v.isDict()) return int64_t(v.dict().entries.size());
    if (v.isUndefined()) return 0;
    throw RenderError("object of type '" + v.typeName() + "' has no len()");
}

namespace {
bool isMethodName(const Value& object, std::string_view name);
}

// Python looks up attributes before items, so `d.items` is the method and `d['items']` the key.
Value Interpreter::getAttribute(const Value& object, std::string_view name) {
    if (object.isUndefined()) throw RenderError(object.undefinedMessage());
    if (object.isObject()) return object.object().attribute(name);
    if (isMethodName(object, name)) {
        std::string method(name);
        Value self = object;
        return Value::function(method, [self, method](Interpreter& in, const CallArgs& args) {
            Value result;
            in.callMethod(self, method, args, result);
            return result;
        });
    }
    if (object.isDict()) {
        const Value* v = object.dict().find(name);
        return v ? *v : Value();
    }
    return Value();
}

Value Interpreter::getItem(const Value& object, const Value& key) {
    if (object.isUndefined()) throw RenderError(object.undefinedMessage());
    if (object.isDict()) {
        if (!key.isString()) return Value();
        const Value* v = object.dict().find(key.str());
        return v ? *v : Value();
    }
    if (object.isObject() && key.isString()) return object.object().attribute(key.str());
    if ((object.isList() || object.isString()) && (key.isInt() || key.isBool())) {
        int64_t i = key.isInt() ? key.asInt() : int64_t(key.asBool());
        int64_t n = length(object);
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value();
        if (object.isList()) return object.list().items[size_t(i)];
        if (isAscii(object.str())) return Value(std::string(1, object.str()[size_t(i)]));
        return Value(encodeUtf8(std::u32string(1, decodeUtf8(object.str())[size_t(i)])));
    }
    return Value();
}

namespace {

const std::string* optString(const CallArgs& args, size_t i, std::string_view name) {
    const Value* v = args.get(i, name);
    if (!v || v->isNone()) return nullptr;
    if (!v->isString()) throw RenderError("expected a string argument, got '" + v->typeName() + "'");
    return &v->str();
}

const std::string& needString(const CallArgs& args, size_t i, std::string_view name, const char* method) {
    const std::string* s = optString(args, i, name);
    if (!s) throw RenderError(std::string(method) + "() is missing its argument");
    return *s;
}

int64_t optInt(const CallArgs& args, size_t i, std::string_view name, int64_t fallback) {
    const Value* v = args.get(i, name);
    if (!v || v->isNone()) return fallback;
    if (!v->isInt()) throw RenderError("expected an integer argument, got '" + v->typeName() + "'");
    return v->asInt();
}

std::vector<std::string> splitWhitespace(const std::string& s, int64_t maxsplit, bool fromRight) {
    std::u32string u = decodeUtf8(s);
    std::vector<std::string> parts;
    if (!fromRight) {
        size_t i = 0;
        while (i < u.size()) {
            while (i < u.size() && isPySpace(u[i])) ++i;
            if (i >= u.size()) break;
            if (maxsplit >= 0 && int64_t(parts.size()) == maxsplit) {  // the rest, as it is
                parts.push_back(encodeUtf8(std::u32string_view(u).substr(i)));
                break;
            }
            size_t j = i;
            while (j < u.size() && !isPySpace(u[j])) ++j;
            parts.push_back(encodeUtf8(std::u32string_view(u).substr(i, j - i)));
            i = j;
        }
        return parts;
    }
    size_t e = u.size();
    while (e > 0) {
        while (e > 0 && isPySpace(u[e - 1])) --e;
        if (e == 0) break;
        if (maxsplit >= 0 && int64_t(parts.size()) == maxsplit) {
            parts.push_back(encodeUtf8(std::u32string_view(u).substr(0, e)));
            break;
        }
        size_t b = e;
        while (b > 0 && !isPySpace(u[b - 1])) --b;
        parts.push_back(encodeUtf8(std::u32string_view(u).substr(b, e - b)));
        e = b;
    }
    std::reverse(parts.begin(), parts.end());
    return parts;
}

std::vector<std::string> split(const std::string& s, const std::string& sep, int64_t maxsplit, bool fromRight) {
    if (sep.empty()) throw RenderError("empty separator");
    std::vector<std::string> parts;
    if (!fromRight) {
        size_t start = 0;
        while (maxsplit < 0 || int64_t(parts.size()) < maxsplit) {
            size_t at = s.find(sep, start);
            if (at == std::string::npos) break;
            parts.push_back(s.substr(start, at - start));
            start = at + sep.size();
        }
        parts.push_back(s.substr(start));
        return parts;
    }
    size_t end = s.size();
    while (maxsplit < 0 || int64_t(parts.size()) < maxsplit) {
        if (end < sep.size()) break;
        size_t at = s.rfind(sep, end - sep.size());
        if (at == std::string::npos) break;
        parts.push_back(s.substr(at + sep.size(), end - at - sep.size()));
        end = at;
    }
    parts.push_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
}

Value stringList(std::vector<std::string> parts) {
    std::vector<Value> items;
    items.reserve(parts.size());
    for (auto& p : parts) items.emplace_back(std::move(p));
    return Value::makeList(std::move(items));
}

std::string replaceAll(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
    std::string out;
    if (from.empty()) {  // Python inserts `to` between every code point
        std::u32string u = decodeUtf8(s);
        int64_t done = 0;
        for (size_t i = 0; i <= u.size(); ++i) {
            if (count < 0 || done < count) {
                out += to;
                ++done;
            }
            if (i < u.size()) out += encodeUtf8(std::u32string(1, u[i]));
        }
        return out;
    }
    size_t start = 0;
    int64_t done = 0;
    for (size_t at = s.find(from); at != std::string::npos && (count < 0 || done < count);
         at = s.find(from, start)) {
        out.append(s, start, at - start);
        out += to;
        start = at + from.size();
        ++done;
    }
    out.append(s, start);
    return out;
}

bool matchesAffix(const std::string& s, const Value& affix, bool prefix) {
    auto test = [&](const std::string& a) {
        if (a.size() > s.size()) return false;
        return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
    };
    if (affix.isString()) return test(affix.str());
    if (affix.isList()) {
        for (const Value& v : affix.list().items)
            if (v.isString() && test(v.str())) return true;
        return false;
    }
    throw RenderError(std::string(prefix ? "startswith" : "endswith") + " first arg must be str or a tuple of str");
}

// Python's str.format for "{}", "{0}" and "{name}" fields (no format specs).
std::string pyFormat(const std::string& fmt, const CallArgs& args) {
    std::string out;
    size_t auto_ = 0;
    for (size_t i = 0; i < fmt.size(); ++i) {
        char c = fmt[i];
        if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
            out += '{';
            ++i;
        } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
            out += '}';
            ++i;
        } else if (c == '{') {
            size_t close = fmt.find('}', i);
            if (close == std::string::npos) throw RenderError("single '{' encountered in format string");
            std::string field = fmt.substr(i + 1, close - i - 1);
            const Value* v = nullptr;
            if (field.empty()) {
                v = auto_ < args.positional.size() ? &args.positional[auto_] : nullptr;
                ++auto_;
            } else if (std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
                size_t k = std::stoul(field);
                v = k < args.positional.size() ? &args.positional[k] : nullptr;
            } else {
                for (const auto& [k, val] : args.named)
                    if (k == field) v = &val;
            }
            if (!v) throw RenderError("format(): no argument for field '{" + field + "}'");
            out += toStr(*v);
            i = close;
        } else {
            out += c;
        }
    }
    return out;
}

bool stringMethod(const std::string& s, const std::string& name, const CallArgs& args, Value& result) {
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        result = Value(strip(s, optString(args, 0, "chars"), name != "rstrip", name != "lstrip"));
    } else if (name == "split" || name == "rsplit") {
        const std::string* sep = optString(args, 0, "sep");
        int64_t maxsplit = optInt(args, 1, "maxsplit", -1);
        result = stringList(sep ? split(s, *sep, maxsplit, name == "rsplit")
                                : splitWhitespace(s, maxsplit, name == "rsplit"));
    } else if (name == "startswith" || name == "endswith") {
        const Value* affix = args.get(0, "prefix");
        if (!affix) throw RenderError(name + "() is missing its argument");
        result = Value(matchesAffix(s, *affix, name == "startswith"));
    } else if (name == "replace") {
        result = Value(replaceAll(s, needString(args, 0, "old", "replace"), needString(args, 1, "new", "replace"),
                                  optInt(args, 2, "count", -1)));
    } else if (name == "upper") {
        result = Value(toUpper(s));
    } else if (name == "lower") {
        result = Value(toLower(s));
    } else if (name == "title") {
        result = Value(pyTitle(s));
    } else if (name == "capitalize") {
        result = Value(capitalize(s));
    } else if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
        const std::string& needle = needString(args, 0, "sub", name.c_str());
        size_t at = name[0] == 'r' ? s.rfind(needle) : s.find(needle);
        if (at == std::string::npos) {
            if (name.find("index") != std::string::npos) throw RenderError("substring not found");
            result = Value(int64_t(-1));
        } else {
            result = Value(codePointCount(std::string_view(s).substr(0, at)));
        }
    } else if (name == "count") {
        const std::string& needle = needString(args, 0, "sub", "count");
        int64_t n = 0;
        if (needle.empty()) {
            n = codePointCount(s) + 1;
        } else {
            for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + needle.size())) ++n;
        }
        result = Value(n);
    } else if (name == "format") {
        result = Value(pyFormat(s, args));
    } else if (name == "join") {
        const Value* items = args.get(0, "iterable");
        if (!items) throw RenderError("join() is missing its argument");
        std::string out;
        bool first = true;
        for (const Value& v : iterate(*items)) {
            if (!v.isString()) throw RenderError("sequence item: expected str instance, " + v.typeName() + " found");
            if (!first) out += s;
            first = false;
            out += v.str();
        }
        result = Value(std::move(out));
    } else if (name == "splitlines") {
        std::vector<std::string> lines;
        size_t start = 0;
        for (size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '\n' || s[i] == '\r') {
                lines.push_back(s.substr(start, i - start));
                if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
                start = i + 1;
            }
        }
        if (start < s.size()) lines.push_back(s.substr(start));
        result = stringList(std::move(lines));
    } else if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" ||
               name == "isupper" || name == "islower") {
        std::u32string u = decodeUtf8(s);
        bool ok = !u.empty();
        bool anyCased = false;
        for (char32_t c : u) {
            bool digit = c >= '0' && c <= '9';
            bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
            if (name == "isdigit") ok = ok && digit;
            else if (name == "isalpha") ok = ok && alpha;
            else if (name == "isalnum") ok = ok && (alpha || digit);
            else if (name == "isspace") ok = ok && isPySpace(c);
            else {
                std::string one = encodeUtf8(std::u32string(1, c));
                bool up = toUpper(one) == one, low = toLower(one) == one;
                if (up != low) anyCased = true;
                ok = ok && (name == "isupper" ? up : low);
            }
        }
        if (name == "isupper" || name == "islower") ok = ok && anyCased;
        result = Value(ok);
    } else {
        return false;
    }
    return true;
}

bool listMethod(ListData& list, const std::string& name, const CallArgs& args, Value& result) {
    if (name == "append") {
        if (list.tuple) throw RenderError("'tuple' object has no attribute 'append'");
        const Value* v = args.get(0, "object");
        if (!v) throw RenderError("append() takes exactly one argument");
        list.items.push_back(*v);
        result = Value::none();
    } else if (name == "extend") {
        const Value* v = args.get(0, "iterable");
        if (!v) throw RenderError("extend() takes exactly one argument");
        for (Value& item : iterate(*v)) list.items.push_back(std::move(item));
        result = Value::none();
    } else if (name == "index") {
        const Value* v = args.get(0, "value");
        if (!v) throw RenderError("index() takes exactly one argument");
        for (size_t i = 0; i < list.items.size(); ++i)
            if (equals(list.items[i], *v)) {
                result = Value(int64_t(i));
                return true;
            }
        throw RenderError(toRepr(*v) + " is not in list");
    } else if (name == "count") {
        const Value* v = args.get(0, "value");
        if (!v) throw RenderError("count() takes exactly one argument");
        int64_t n = 0;
        for (const Value& item : list.items) n += equals(item, *v) ? 1 : 0;
        result = Value(n);
    } else if (name == "pop") {
        if (list.items.empty()) throw RenderError("pop from empty list");
        int64_t i = optInt(args, 0, "index", -1);
        if (i < 0) i += int64_t(list.items.size());
        if (i < 0 || i >= int64_t(list.items.size())) throw RenderError("pop index out of range");
        result = list.items[size_t(i)];
        list.items.erase(list.items.begin() + i);
    } else {
        return false;
    }
    return true;
}

bool dictMethod(DictData& dict, const std::string& name, const CallArgs& args, Value& result) {
    if (name == "get") {
        const Value* key = args.get(0, "key");
        if (!key) throw RenderError("get() is missing its key");
        const Value* found = key->isString() ? dict.find(key->str()) : nullptr;
        const Value* fallback = args.get(1, "default");
        result = found ? *found : fallback ? *fallback : Value::none();
    } else if (name == "items") {
        std::vector<Value> items;
        for (const auto& [k, v] : dict.entries) items.push_back(Value::makeList({Value(k), v}, true));
        result = Value::makeList(std::move(items));
    } else if (name == "keys") {
        std::vector<Value> keys;
        for (const auto& [k, v] : dict.entries) keys.emplace_back(k);
        result = Value::makeList(std::move(keys));
    } else if (name == "values") {
        std::vector<Value> values;
        for (const auto& [k, v] : dict.entries) values.push_back(v);
        result = Value::makeList(std::move(values));
    } else {
        return false;
    }
    return true;
}


bool isMethodName(const Value& object, std::string_view name) {
    static const char* stringMethods[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith",
                                          "replace", "upper", "lower", "title", "capitalize", "find", "rfind",
                                          "index", "rindex", "count", "format", "join", "splitlines", "isdigit",
                                          "isalpha", "isalnum", "isspace", "isupper", "islower"};
    static const char* listMethods[] = {"append", "extend", "index", "count", "pop"};
    static const char* dictMethods[] = {"get", "items", "keys", "values"};
    auto in = [&](const auto& names) {
        for (const char* n : names)
            if (name == n) return true;
        return false;
    };
    if (object.isString()) return in(stringMethods);
    if (object.isList()) return in(listMethods);
    if (object.isDict()) return !object.dict().isNamespace && in(dictMethods);
    return false;
}

}  // namespace

bool Interpreter::callMethod(const Value& object, const std::string& name, const CallArgs& args, Value& result) {
    if (object.isString()) return stringMethod(object.str(), name, args, result);
    if (object.isList()) return listMethod(object.list(), name, args, result);
    if (object.isDict()) {
        if (object.dict().isNamespace) return false;  // a namespace only has its attributes
        return dictMethod(object.dict(), name, args, result);
    }
    if (object.isUndefined()) throw RenderError(object.undefinedMessage());
    if (object.isNone()) throw RenderError("'NoneType' object has no attribute '" + name + "'");
    return false;
}

}  // namespace hearth::tmpl
