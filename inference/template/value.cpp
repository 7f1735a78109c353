#include "inference/template/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace hearth::tmpl {

const Value* DictData::find(std::string_view key) const {
    for (const auto& [k, v] : entries)
        if (k == key) return &v;
    return nullptr;
}

Value* DictData::find(std::string_view key) {
    for (auto& [k, v] : entries)
        if (k == key) return &v;
    return nullptr;
}

void DictData::set(std::string key, Value value) {
    if (Value* existing = find(key)) {
        *existing = std::move(value);
        return;
    }
    entries.emplace_back(std::move(key), std::move(value));
}

const Value* CallArgs::get(size_t index, std::string_view name) const {
    if (index < positional.size()) return &positional[index];
    for (const auto& [k, v] : named)
        if (k == name) return &v;
    return nullptr;
}

Value Value::makeList(std::vector<Value> items, bool tuple) {
    auto l = std::make_shared<ListData>();
    l->items = std::move(items);
    l->tuple = tuple;
    return Value(std::move(l));
}

Value Value::makeDict() { return Value(std::make_shared<DictData>()); }

Value Value::function(std::string name, std::function<Value(Interpreter&, const CallArgs&)> fn) {
    return Value(std::make_shared<Function>(Function{std::move(name), std::move(fn)}));
}

std::string Value::undefinedMessage() const {
    const UndefinedT& u = std::get<UndefinedT>(v);
    if (!u.name) return "undefined value used";
    if (u.isMember) return "'" + *u.name + "' is undefined (no such attribute or item)";
    return "'" + *u.name + "' is undefined";
}

double Value::number() const {
    if (isInt()) return double(asInt());
    if (isFloat()) return asFloat();
    if (isBool()) return asBool() ? 1.0 : 0.0;
    return 0.0;
}

bool Value::truthy() const {
    switch (v.index()) {
    case 0: case 1: return false;
    case 2: return asBool();
    case 3: return asInt() != 0;
    case 4: return asFloat() != 0.0;
    case 5: return !str().empty();
    case 6: return !list().items.empty();
    case 7: return !dict().entries.empty();
    default: return true;
    }
}

std::string Value::typeName() const {
    switch (v.index()) {
    case 0: return "undefined";
    case 1: return "NoneType";
    case 2: return "bool";
    case 3: return "int";
    case 4: return "float";
    case 5: return "str";
    case 6: return list().tuple ? "tuple" : "list";
    case 7: return dict().isNamespace ? "Namespace" : "dict";
    case 8: return "function";
    default: return object().typeName();
    }
}

namespace {

// Lists and dicts are shared, so a template can make one contain itself (`a.append(a)`); printing
// or comparing such a value must fail cleanly instead of recursing until the stack runs out.
thread_local int nesting = 0;
constexpr int kMaxNesting = 200;

struct NestingGuard {
    NestingGuard() {
        if (++nesting > kMaxNesting) {
            nesting = 0;
            throw std::runtime_error("value nested too deeply (does a list or dict contain itself?)");
        }
    }
    ~NestingGuard() {
        if (nesting > 0) --nesting;
    }
};

}  // namespace

bool equals(const Value& a, const Value& b) {
    if (a.isNumber() && b.isNumber()) {
        auto whole = [](const Value& x) { return x.isInt() ? x.asInt() : int64_t(x.asBool()); };
        if (!a.isFloat() && !b.isFloat()) return whole(a) == whole(b);
        return a.number() == b.number();
    }
    if (a.v.index() != b.v.index()) return false;
    if (a.isString()) return a.str() == b.str();
    if (a.isUndefined() || a.isNone()) return true;
    NestingGuard guard;
    if (a.isList()) {
        if (&a.list() == &b.list()) return true;  // Python compares a list with itself by identity
        const auto& x = a.list().items;
        const auto& y = b.list().items;
        if (x.size() != y.size()) return false;
        for (size_t i = 0; i < x.size(); ++i)
            if (!equals(x[i], y[i])) return false;
        return true;
    }
    if (a.isDict()) {
        if (&a.dict() == &b.dict()) return true;
        const auto& x = a.dict().entries;
        const auto& y = b.dict();
        if (x.size() != y.entries.size()) return false;
        for (const auto& [k, v] : x) {
            const Value* other = y.find(k);
            if (!other || !equals(v, *other)) return false;
        }
        return true;
    }
    if (a.isFunction()) return &a.function() == &b.function();
    return &a.object() == &b.object();
}

std::string floatRepr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
    if (d == 0.0) return std::signbit(d) ? "-0.0" : "0.0";
    // Shortest round-trip digits, then laid out the way Python's repr does: positional for
    // exponents in [-4, 16), scientific otherwise.
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    bool negative = sci[0] == '-';
    if (negative) sci.erase(0, 1);
    size_t e = sci.find('e');
    int exponent = std::stoi(sci.substr(e + 1));
    std::string digits;
    for (size_t i = 0; i < e; ++i)
        if (sci[i] != '.') digits += sci[i];
    std::string out;
    if (exponent >= -4 && exponent < 16) {
        if (exponent < 0) {
            out = "0." + std::string(size_t(-exponent - 1), '0') + digits;
        } else if (size_t(exponent) + 1 >= digits.size()) {
            out = digits + std::string(size_t(exponent) + 1 - digits.size(), '0') + ".0";
        } else {
            out = digits.substr(0, size_t(exponent) + 1) + "." + digits.substr(size_t(exponent) + 1);
        }
    } else {
        out = digits.substr(0, 1);
        if (digits.size() > 1) out += "." + digits.substr(1);
        char ebuf[16];
        std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
        out += ebuf;
    }
    return negative ? "-" + out : out;
}

std::string toRepr(const Value& v) {
    if (v.isString()) {
        const std::string& s = v.str();
        // Python picks double quotes only when the text holds a ' and no ".
        char quote = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
        std::string out(1, quote);
        for (unsigned char c : s) {
            switch (c) {
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c == quote) {
                    out += '\\';
                    out += char(c);
                } else if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\x%02x", c);
                    out += buf;
                } else {
                    out += char(c);
                }
            }
        }
        out += quote;
        return out;
    }
    if (v.isUndefined()) return "Undefined";
    return toStr(v);
}

std::string toStr(const Value& v) {
    switch (v.v.index()) {
    case 0: return {};
    case 1: return "None";
    case 2: return v.asBool() ? "True" : "False";
    case 3: return std::to_string(v.asInt());
    case 4: return floatRepr(v.asFloat());
    case 5: return v.str();
    case 6: {
        NestingGuard guard;
        const ListData& l = v.list();
        std::string out = l.tuple ? "(" : "[";
        for (size_t i = 0; i < l.items.size(); ++i) {
            if (i) out += ", ";
            out += toRepr(l.items[i]);
        }
        if (l.tuple && l.items.size() == 1) out += ",";
        out += l.tuple ? ")" : "]";
        return out;
    }
    case 7: {
        NestingGuard guard;
        const DictData& d = v.dict();
        std::string out = d.isNamespace ? "<Namespace {" : "{";
        bool first = true;
        for (const auto& [k, val] : d.entries) {
            if (!first) out += ", ";
            first = false;
            out += toRepr(Value(k)) + ": " + toRepr(val);
        }
        out += d.isNamespace ? "}>" : "}";
        return out;
    }
    case 8: return "<function " + v.function().name + ">";
    default: return "<" + v.object().typeName() + " object>";
    }
}

namespace {

void jsonString(std::string& out, const std::string& s, bool ensureAscii) {
    out += '"';
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else if (c >= 0x80 && ensureAscii) {
                // Decode one UTF-8 sequence and write it as \uXXXX (a surrogate pair above U+FFFF).
                int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
                uint32_t cp = len == 1 ? c : c & (0x7F >> len);
                for (int k = 1; k < len && i + 1 < s.size(); ++k)
                    cp = (cp << 6) | (static_cast<unsigned char>(s[++i]) & 0x3F);
                char buf[16];
                if (cp >= 0x10000) {
                    cp -= 0x10000;
                    std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
                } else {
                    std::snprintf(buf, sizeof buf, "\\u%04x", cp);
                }
                out += buf;
            } else {
                out += char(c);
            }
        }
    }
    out += '"';
}

void jsonValue(std::string& out, const Value& v, const JsonOptions& o, int depth) {
    auto newline = [&](int level) {
        out += '\n';
        out.append(size_t(o.indent) * size_t(level), ' ');
    };
    const std::string itemSep = !o.itemSeparator.empty() ? o.itemSeparator : (o.indent >= 0 ? "," : ", ");
    const std::string keySep = !o.keySeparator.empty() ? o.keySeparator : ": ";
    if (depth > 256) throw std::runtime_error("tojson: value nested too deeply");
    switch (v.v.index()) {
    case 0: throw std::runtime_error("Object of type Undefined is not JSON serializable");
    case 1: out += "null"; return;
    case 2: out += v.asBool() ? "true" : "false"; return;
    case 3: out += std::to_string(v.asInt()); return;
    case 4: {
        double d = v.asFloat();
        if (std::isnan(d)) out += "NaN";
        else if (std::isinf(d)) out += d < 0 ? "-Infinity" : "Infinity";
        else out += floatRepr(d);
        return;
    }
    case 5: jsonString(out, v.str(), o.ensureAscii); return;
    case 6: {
        const auto& items = v.list().items;
        if (items.empty()) {
            out += "[]";
            return;
        }
        out += '[';
        for (size_t i = 0; i < items.size(); ++i) {
            if (i) out += itemSep;
            if (o.indent >= 0) newline(depth + 1);
            jsonValue(out, items[i], o, depth + 1);
        }
        if (o.indent >= 0) newline(depth);
        out += ']';
        return;
    }
    case 7: {
        std::vector<const std::pair<std::string, Value>*> entries;
        for (const auto& e : v.dict().entries) entries.push_back(&e);
        if (o.sortKeys)
            std::stable_sort(entries.begin(), entries.end(),
                             [](auto* a, auto* b) { return a->first < b->first; });
        if (entries.empty()) {
            out += "{}";
            return;
        }
        out += '{';
        for (size_t i = 0; i < entries.size(); ++i) {
            if (i) out += itemSep;
            if (o.indent >= 0) newline(depth + 1);
            jsonString(out, entries[i]->first, o.ensureAscii);
            out += keySep;
            jsonValue(out, entries[i]->second, o, depth + 1);
        }
        if (o.indent >= 0) newline(depth);
        out += '}';
        return;
    }
    default:
        throw std::runtime_error("Object of type " + v.typeName() + " is not JSON serializable");
    }
}

template <typename Json>
Value convert(const Json& j) {
    switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
        uint64_t u = j.template get<uint64_t>();
        return u > uint64_t(INT64_MAX) ? Value(double(u)) : Value(int64_t(u));
    }
    case nlohmann::json::value_t::number_float: return Value(j.template get<double>());
    case nlohmann::json::value_t::string: return Value(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
        std::vector<Value> items;
        items.reserve(j.size());
        for (const auto& e : j) items.push_back(convert(e));
        return Value::makeList(std::move(items));
    }
    case nlohmann::json::value_t::object: {
        auto d = std::make_shared<DictData>();
        d->entries.reserve(j.size());
        for (auto it = j.begin(); it != j.end(); ++it) d->entries.emplace_back(it.key(), convert(it.value()));
        return Value(std::move(d));
    }
    default: return Value::none();  // binary / discarded: never produced by a JSON parser
    }
}

}  // namespace

std::string toJson(const Value& v, const JsonOptions& options) {
    std::string out;
    jsonValue(out, v, options, 0);
    return out;
}

Value fromJson(const nlohmann::json& j) { return convert(j); }
Value fromJson(const nlohmann::ordered_json& j) { return convert(j); }

}  // namespace hearth::tmpl
