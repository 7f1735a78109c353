// Jinja2's filters and tests, and the globals transformers gives chat templates (range,
// namespace, dict, raise_exception, strftime_now). Semantics follow Jinja 3.1 as run by
// transformers' ImmutableSandboxedEnvironment, including its own `tojson`.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <unordered_map>

#include "inference/template/interpreter.h"
#include "inference/template/text.h"

namespace hearth::tmpl {
namespace {

using Filter = Value (*)(Interpreter&, const Value&, const CallArgs&);

bool flag(const CallArgs& args, size_t i, std::string_view name, bool fallback = false) {
    const Value* v = args.get(i, name);
    return v ? v->truthy() : fallback;
}

const Value* arg(const CallArgs& args, size_t i, std::string_view name) {
    const Value* v = args.get(i, name);
    return v && !v->isNone() ? v : nullptr;
}

// "a.b.0": nested attribute / item lookup as Jinja's make_attrgetter does.
Value attributePath(const Value& v, const std::string& path) {
    Value cur = v;
    size_t start = 0;
    while (start <= path.size()) {
        size_t dot = path.find('.', start);
        std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
        Value next = Interpreter::getItem(cur, Value(part));
        if (next.isUndefined() && numeric) next = Interpreter::getItem(cur, Value(int64_t(std::stoll(part))));
        cur = next;
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return cur;
}

std::string sortKeyString(const Value& v, bool caseSensitive) {
    return caseSensitive ? v.str() : toLower(v.str());
}

bool lessForSort(const Value& a, const Value& b, bool caseSensitive) {
    if (a.isString() && b.isString()) return sortKeyString(a, caseSensitive) < sortKeyString(b, caseSensitive);
    if (a.isNumber() && b.isNumber()) return a.number() < b.number();
    if (a.isList() && b.isList()) {
        const auto& x = a.list().items;
        const auto& y = b.list().items;
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (lessForSort(x[i], y[i], caseSensitive)) return true;
            if (lessForSort(y[i], x[i], caseSensitive)) return false;
        }
        return x.size() < y.size();
    }
    throw RenderError("'<' not supported between instances of '" + a.typeName() + "' and '" + b.typeName() + "'");
}

Value fDefault(Interpreter&, const Value& v, const CallArgs& a) {
    bool boolean = flag(a, 1, "boolean");
    if (v.isUndefined() || (boolean && !v.truthy())) {
        const Value* d = a.get(0, "default_value");
        return d ? *d : Value("");
    }
    return v;
}

Value fTrim(Interpreter&, const Value& v, const CallArgs& a) {
    const Value* chars = arg(a, 0, "chars");
    std::string s = toStr(v);
    return Value(strip(s, chars && chars->isString() ? &chars->str() : nullptr, true, true));
}

Value fUpper(Interpreter&, const Value& v, const CallArgs&) { return Value(toUpper(toStr(v))); }
Value fLower(Interpreter&, const Value& v, const CallArgs&) { return Value(toLower(toStr(v))); }
Value fCapitalize(Interpreter&, const Value& v, const CallArgs&) { return Value(capitalize(toStr(v))); }
Value fTitle(Interpreter&, const Value& v, const CallArgs&) { return Value(jinjaTitle(toStr(v))); }
Value fLength(Interpreter&, const Value& v, const CallArgs&) { return Value(length(v)); }
Value fString(Interpreter&, const Value& v, const CallArgs&) { return Value(toStr(v)); }
Value fSafe(Interpreter&, const Value& v, const CallArgs&) { return v.isString() ? v : Value(toStr(v)); }

Value fFirst(Interpreter&, const Value& v, const CallArgs&) {
    std::vector<Value> items = iterate(v);
    return items.empty() ? Value() : items.front();
}

Value fLast(Interpreter&, const Value& v, const CallArgs&) {
    std::vector<Value> items = iterate(v);
    return items.empty() ? Value() : items.back();
}

Value fJoin(Interpreter&, const Value& v, const CallArgs& a) {
    const Value* sep = a.get(0, "d");
    const Value* attribute = arg(a, 1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : iterate(v)) {
        if (!first) out += sep ? toStr(*sep) : "";
        first = false;
        out += toStr(attribute ? attributePath(item, toStr(*attribute)) : item);
    }
    return Value(std::move(out));
}

Value fReplace(Interpreter& in, const Value& v, const CallArgs& a) {
    CallArgs forward;
    for (size_t i = 0; i < 3; ++i)
        if (const Value* x = a.get(i, i == 0 ? "old" : i == 1 ? "new" : "count")) forward.positional.push_back(*x);
    Value result;
    in.callMethod(Value(toStr(v)), "replace", forward, result);
    return result;
}

Value fList(Interpreter&, const Value& v, const CallArgs&) { return Value::makeList(iterate(v)); }

Value fItems(Interpreter&, const Value& v, const CallArgs&) {
    if (v.isUndefined()) return Value::makeList();
    if (!v.isDict()) throw RenderError("items filter needs a mapping, got '" + v.typeName() + "'");
    std::vector<Value> items;
    for (const auto& [k, val] : v.dict().entries) items.push_back(Value::makeList({Value(k), val}, true));
    return Value::makeList(std::move(items));
}

Value fMap(Interpreter& in, const Value& v, const CallArgs& a) {
    std::vector<Value> out;
    const Value* attribute = nullptr;
    const Value* fallback = nullptr;
    for (const auto& [k, val] : a.named) {
        if (k == "attribute") attribute = &val;
        else if (k == "default") fallback = &val;
    }
    if (attribute) {
        for (const Value& item : iterate(v)) {
            Value x = attributePath(item, toStr(*attribute));
            out.push_back(x.isUndefined() && fallback ? *fallback : x);
        }
        return Value::makeList(std::move(out));
    }
    if (a.positional.empty() || !a.positional[0].isString())
        throw RenderError("map needs a filter name or attribute=");
    CallArgs rest;
    rest.positional.assign(a.positional.begin() + 1, a.positional.end());
    rest.named = a.named;
    for (const Value& item : iterate(v)) out.push_back(in.callFilter(a.positional[0].str(), item, rest));
    return Value::makeList(std::move(out));
}

Value selectImpl(Interpreter& in, const Value& v, const CallArgs& a, bool byAttribute, bool keep) {
    size_t next = 0;
    std::string attribute;
    if (byAttribute) {
        if (a.positional.empty()) throw RenderError("selectattr/rejectattr need an attribute name");
        attribute = toStr(a.positional[next++]);
    }
    std::string test;
    if (next < a.positional.size()) test = toStr(a.positional[next++]);
    std::vector<Value> testArgs(a.positional.begin() + long(std::min(next, a.positional.size())), a.positional.end());
    std::vector<Value> out;
    for (const Value& item : iterate(v)) {
        Value subject = byAttribute ? attributePath(item, attribute) : item;
        bool pass = test.empty() ? subject.truthy() : in.callTest(test, subject, testArgs);
        if (pass == keep) out.push_back(item);
    }
    return Value::makeList(std::move(out));
}

Value fSelect(Interpreter& in, const Value& v, const CallArgs& a) { return selectImpl(in, v, a, false, true); }
Value fReject(Interpreter& in, const Value& v, const CallArgs& a) { return selectImpl(in, v, a, false, false); }
Value fSelectAttr(Interpreter& in, const Value& v, const CallArgs& a) { return selectImpl(in, v, a, true, true); }
Value fRejectAttr(Interpreter& in, const Value& v, const CallArgs& a) { return selectImpl(in, v, a, true, false); }

Value fToJson(Interpreter&, const Value& v, const CallArgs& a) {
    JsonOptions o;
    if (const Value* indent = arg(a, 0, "indent")) {
        if (!indent->isInt()) throw RenderError("tojson indent must be an integer");
        o.indent = int(std::clamp<int64_t>(indent->asInt(), 0, 64));
    }
    o.ensureAscii = flag(a, 1, "ensure_ascii");
    if (const Value* seps = arg(a, 2, "separators")) {
        if (!seps->isList() || seps->list().items.size() != 2 || !seps->list().items[0].isString() ||
            !seps->list().items[1].isString())
            throw RenderError("tojson separators must be a pair of strings");
        o.itemSeparator = seps->list().items[0].str();
        o.keySeparator = seps->list().items[1].str();
    }
    o.sortKeys = flag(a, 3, "sort_keys");
    return Value(toJson(v, o));
}

std::optional<int64_t> parseInt(const std::string& text, int base) {
    std::string s = strip(text, nullptr, true, true);
    s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
    if (s.empty()) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, base);
    if (errno || *end) return std::nullopt;
    return int64_t(v);
}

std::optional<double> parseFloat(const std::string& text) {
    std::string s = strip(text, nullptr, true, true);
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (*end) return std::nullopt;
    return v;
}

Value fInt(Interpreter&, const Value& v, const CallArgs& a) {
    const Value* d = a.get(0, "default");
    Value fallback = d ? *d : Value(int64_t(0));
    int base = int(a.get(1, "base") && a.get(1, "base")->isInt() ? a.get(1, "base")->asInt() : 10);
    if (v.isInt()) return v;
    if (v.isBool()) return Value(int64_t(v.asBool()));
    if (v.isFloat()) return std::isfinite(v.asFloat()) ? Value(int64_t(v.asFloat())) : fallback;
    if (v.isString()) {
        if (auto i = parseInt(v.str(), base)) return Value(*i);
        if (auto f = parseFloat(v.str()); f && std::isfinite(*f)) return Value(int64_t(*f));
    }
    return fallback;
}

Value fFloat(Interpreter&, const Value& v, const CallArgs& a) {
    const Value* d = a.get(0, "default");
    Value fallback = d ? *d : Value(0.0);
    if (v.isNumber()) return Value(v.number());
    if (v.isString())
        if (auto f = parseFloat(v.str())) return Value(*f);
    return fallback;
}

Value fRound(Interpreter&, const Value& v, const CallArgs& a) {
    if (!v.isNumber()) throw RenderError("round needs a number, got '" + v.typeName() + "'");
    const Value* p = arg(a, 0, "precision");
    int64_t precision = p && p->isInt() ? p->asInt() : 0;
    const Value* m = arg(a, 1, "method");
    std::string method = m ? toStr(*m) : "common";
    double scale = std::pow(10.0, double(precision));
    double x = v.number() * scale;
    if (method == "common") {
        if (v.isInt() || v.isBool()) return Value(int64_t(v.number()));
        return Value(std::nearbyint(x) / scale);  // Python rounds half to even
    }
    if (method == "floor") return Value(std::floor(x) / scale);
    if (method == "ceil") return Value(std::ceil(x) / scale);
    throw RenderError("round method must be 'common', 'ceil' or 'floor'");
}

Value fAbs(Interpreter&, const Value& v, const CallArgs&) {
    if (v.isInt()) return Value(v.asInt() < 0 ? -v.asInt() : v.asInt());
    if (v.isBool()) return Value(int64_t(v.asBool()));
    if (v.isFloat()) return Value(std::fabs(v.asFloat()));
    throw RenderError("bad operand type for abs(): '" + v.typeName() + "'");
}

Value fIndent(Interpreter&, const Value& v, const CallArgs& a) {
    const Value* w = a.get(0, "width");
    std::string pad = !w ? "    " : w->isString() ? w->str() : std::string(size_t(std::max<int64_t>(0, w->isInt() ? w->asInt() : 4)), ' ');
    bool first = flag(a, 1, "first"), blank = flag(a, 2, "blank");
    std::string s = toStr(v) + "\n";
    std::vector<std::string> lines;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' || s[i] == '\r') {
            lines.push_back(s.substr(start, i - start));
            if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
            start = i + 1;
        }
    }
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (i > 0) {
            out += '\n';
            if (blank || !lines[i].empty()) out += pad;
        }
        out += lines[i];
    }
    return Value(first ? pad + out : out);
}

Value fEscape(Interpreter&, const Value& v, const CallArgs&) {
    std::string out;
    for (char c : toStr(v)) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return Value(std::move(out));
}

std::vector<Value> sortedItems(const Value& v, const CallArgs& a, size_t reverseAt, size_t caseAt, size_t attrAt) {
    std::vector<Value> items = iterate(v);
    bool reverse = flag(a, reverseAt, "reverse"), caseSensitive = flag(a, caseAt, "case_sensitive");
    const Value* attribute = arg(a, attrAt, "attribute");
    auto key = [&](const Value& x) { return attribute ? attributePath(x, toStr(*attribute)) : x; };
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
        return reverse ? lessForSort(key(y), key(x), caseSensitive) : lessForSort(key(x), key(y), caseSensitive);
    });
    return items;
}

Value fSort(Interpreter&, const Value& v, const CallArgs& a) { return Value::makeList(sortedItems(v, a, 0, 1, 2)); }

Value fUnique(Interpreter&, const Value& v, const CallArgs& a) {
    bool caseSensitive = flag(a, 0, "case_sensitive");
    const Value* attribute = arg(a, 1, "attribute");
    std::vector<Value> seen, out;
    for (const Value& item : iterate(v)) {
        Value key = attribute ? attributePath(item, toStr(*attribute)) : item;
        if (key.isString() && !caseSensitive) key = Value(toLower(key.str()));
        bool dup = false;
        for (const Value& s : seen) dup = dup || equals(s, key);
        if (!dup) {
            seen.push_back(key);
            out.push_back(item);
        }
    }
    return Value::makeList(std::move(out));
}

Value fReverse(Interpreter&, const Value& v, const CallArgs&) {
    if (v.isString()) return slice(v, std::nullopt, std::nullopt, -1);
    std::vector<Value> items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::makeList(std::move(items));
}

Value fBatch(Interpreter&, const Value& v, const CallArgs& a) {
    const Value* n = a.get(0, "linecount");
    if (!n || !n->isInt() || n->asInt() <= 0) throw RenderError("batch needs a positive line count");
    const Value* fill = arg(a, 1, "fill_with");
    std::vector<Value> out, cur;
    for (const Value& item : iterate(v)) {
        cur.push_back(item);
        if (int64_t(cur.size()) == n->asInt()) {
            out.push_back(Value::makeList(std::move(cur)));
            cur.clear();
        }
    }
    if (!cur.empty()) {
        while (fill && int64_t(cur.size()) < n->asInt()) cur.push_back(*fill);
        out.push_back(Value::makeList(std::move(cur)));
    }
    return Value::makeList(std::move(out));
}

Value fDictSort(Interpreter&, const Value& v, const CallArgs& a) {
    if (!v.isDict()) throw RenderError("dictsort needs a mapping, got '" + v.typeName() + "'");
    bool caseSensitive = flag(a, 0, "case_sensitive");
    const Value* by = arg(a, 1, "by");
    bool byValue = by && toStr(*by) == "value";
    bool reverse = flag(a, 2, "reverse");
    std::vector<Value> items;
    for (const auto& [k, val] : v.dict().entries) items.push_back(Value::makeList({Value(k), val}, true));
    size_t at = byValue ? 1 : 0;
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
        const Value& kx = x.list().items[at];
        const Value& ky = y.list().items[at];
        return reverse ? lessForSort(ky, kx, caseSensitive) : lessForSort(kx, ky, caseSensitive);
    });
    return Value::makeList(std::move(items));
}

Value fSum(Interpreter&, const Value& v, const CallArgs& a) {
    const Value* attribute = arg(a, 0, "attribute");
    const Value* start = a.get(1, "start");
    Value total = start ? *start : Value(int64_t(0));
    for (const Value& item : iterate(v)) {
        Value x = attribute ? attributePath(item, toStr(*attribute)) : item;
        if (!x.isNumber() || !total.isNumber()) throw RenderError("sum needs numbers");
        total = (total.isFloat() || x.isFloat()) ? Value(total.number() + x.number())
                                                 : Value(int64_t(total.number()) + int64_t(x.number()));
    }
    return total;
}

Value minMax(const Value& v, const CallArgs& a, bool wantMax) {
    std::vector<Value> items = sortedItems(v, a, 99, 0, 1);
    if (items.empty()) return Value();
    return wantMax ? items.back() : items.front();
}
Value fMin(Interpreter&, const Value& v, const CallArgs& a) { return minMax(v, a, false); }
Value fMax(Interpreter&, const Value& v, const CallArgs& a) { return minMax(v, a, true); }

Value fAttr(Interpreter&, const Value& v, const CallArgs& a) {
    const Value* name = a.get(0, "name");
    return name ? Interpreter::getAttribute(v, toStr(*name)) : Value();
}

// printf-style "%s"|format(x) as Python's % operator.
Value fFormat(Interpreter&, const Value& v, const CallArgs& a) {
    std::string fmt = toStr(v), out;
    size_t next = 0;
    for (size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%') {
            out += fmt[i];
            continue;
        }
        if (++i >= fmt.size()) throw RenderError("incomplete format");
        char c = fmt[i];
        if (c == '%') {
            out += '%';
            continue;
        }
        if (next >= a.positional.size()) throw RenderError("not enough arguments for format string");
        const Value& x = a.positional[next++];
        if (c == 's') out += toStr(x);
        else if (c == 'r') out += toRepr(x);
        else if (c == 'd' || c == 'i') out += std::to_string(int64_t(x.number()));
        else if (c == 'f') {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%f", x.number());
            out += buf;
        } else {
            throw RenderError(std::string("unsupported format character '") + c + "'");
        }
    }
    return Value(std::move(out));
}

Value fWordcount(Interpreter& in, const Value& v, const CallArgs&) {
    Value parts;
    in.callMethod(Value(toStr(v)), "split", CallArgs{}, parts);
    return Value(int64_t(parts.list().items.size()));
}

const std::unordered_map<std::string, Filter>& filters() {
    static const std::unordered_map<std::string, Filter> table = {
        {"default", fDefault}, {"d", fDefault}, {"trim", fTrim}, {"upper", fUpper}, {"lower", fLower},
        {"capitalize", fCapitalize}, {"title", fTitle}, {"length", fLength}, {"count", fLength},
        {"first", fFirst}, {"last", fLast}, {"join", fJoin}, {"replace", fReplace}, {"list", fList},
        {"items", fItems}, {"map", fMap}, {"select", fSelect}, {"reject", fReject},
        {"selectattr", fSelectAttr}, {"rejectattr", fRejectAttr}, {"tojson", fToJson}, {"string", fString},
        {"int", fInt}, {"float", fFloat}, {"round", fRound}, {"abs", fAbs}, {"indent", fIndent},
        {"safe", fSafe}, {"escape", fEscape}, {"e", fEscape}, {"forceescape", fEscape}, {"unique", fUnique},
        {"sort", fSort}, {"reverse", fReverse}, {"batch", fBatch}, {"dictsort", fDictSort}, {"sum", fSum},
        {"min", fMin}, {"max", fMax}, {"attr", fAttr}, {"format", fFormat}, {"wordcount", fWordcount},
    };
    return table;
}

bool testValue(const std::string& name, const Value& v, const std::vector<Value>& args, bool& known) {
    known = true;
    auto need = [&](size_t n) {
        if (args.size() < n) throw RenderError("test '" + name + "' needs an argument");
    };
    if (name == "defined") return !v.isUndefined();
    if (name == "undefined") return v.isUndefined();
    if (name == "none") return v.isNone();
    if (name == "string") return v.isString();
    if (name == "number") return v.isNumber();
    if (name == "integer") return v.isInt();
    if (name == "float") return v.isFloat();
    if (name == "boolean") return v.isBool();
    if (name == "true") return v.isBool() && v.asBool();
    if (name == "false") return v.isBool() && !v.asBool();
    if (name == "mapping") return v.isDict();
    if (name == "iterable") return v.isString() || v.isList() || v.isDict() || v.isUndefined();
    if (name == "sequence") return v.isString() || v.isList() || v.isDict();
    if (name == "callable") return v.isFunction();
    if (name == "odd" || name == "even") {
        if (!v.isInt()) throw RenderError("test '" + name + "' needs an integer");
        return (v.asInt() % 2 != 0) == (name == "odd");
    }
    if (name == "divisibleby") {
        need(1);
        if (!v.isInt() || !args[0].isInt() || args[0].asInt() == 0) throw RenderError("divisibleby needs non-zero integers");
        return v.asInt() % args[0].asInt() == 0;
    }
    if (name == "lower") return v.isString() && toLower(v.str()) == v.str();
    if (name == "upper") return v.isString() && toUpper(v.str()) == v.str();
    if (name == "escaped") return false;
    if (name == "sameas") {
        need(1);
        if (v.v.index() != args[0].v.index()) return false;
        if (v.isList() || v.isDict() || v.isFunction() || v.isObject()) return equals(v, args[0]) && toStr(v) == toStr(args[0]);
        return equals(v, args[0]);
    }
    if (name == "in") {
        need(1);
        const Value& c = args[0];
        if (c.isString()) return v.isString() && c.str().find(v.str()) != std::string::npos;
        if (c.isDict()) return v.isString() && c.dict().find(v.str());
        for (const Value& x : iterate(c))
            if (equals(x, v)) return true;
        return false;
    }
    static const std::pair<const char*, const char*> comparisons[] = {
        {"eq", "=="}, {"equalto", "=="}, {"==", "=="}, {"ne", "!="}, {"!=", "!="}, {"lt", "<"},
        {"lessthan", "<"}, {"<", "<"}, {"le", "<="}, {"<=", "<="}, {"gt", ">"}, {"greaterthan", ">"},
        {">", ">"}, {"ge", ">="}, {">=", ">="},
    };
    for (const auto& [alias, op] : comparisons) {
        if (name != alias) continue;
        need(1);
        std::string o = op;
        if (o == "==") return equals(v, args[0]);
        if (o == "!=") return !equals(v, args[0]);
        if (!((v.isNumber() && args[0].isNumber()) || (v.isString() && args[0].isString())))
            throw RenderError("'" + o + "' not supported between '" + v.typeName() + "' and '" + args[0].typeName() + "'");
        bool less = v.isString() ? v.str() < args[0].str() : v.number() < args[0].number();
        bool greater = v.isString() ? args[0].str() < v.str() : args[0].number() < v.number();
        if (o == "<") return less;
        if (o == "<=") return !greater;
        if (o == ">") return greater;
        return !less;
    }
    known = false;
    return false;
}

std::string strftime(const std::tm& t, const std::string& format) {
    if (format.empty()) return {};
    std::vector<char> buf(format.size() * 8 + 64);
    size_t n = std::strftime(buf.data(), buf.size(), format.c_str(), &t);
    if (n == 0) throw RenderError("strftime_now: cannot format '" + format + "'");
    return std::string(buf.data(), n);
}

}  // namespace

Value Interpreter::callFilter(const std::string& name, const Value& subject, const CallArgs& args) {
    auto it = filters().find(name);
    if (it == filters().end()) throw RenderError("unknown filter '" + name + "'");
    return it->second(*this, subject, args);
}

bool Interpreter::callTest(const std::string& name, const Value& subject, const std::vector<Value>& args) {
    bool known = false;
    bool result = testValue(name, subject, args, known);
    if (!known) throw RenderError("unknown test '" + name + "'");
    return result;
}

void Interpreter::installGlobals(Frame& g) {
    g.set("range", Value::function("range", [](Interpreter&, const CallArgs& a) {
        std::vector<int64_t> n;
        for (const Value& v : a.positional) {
            if (!v.isInt() && !v.isBool()) throw RenderError("range() needs integers");
            n.push_back(v.isInt() ? v.asInt() : int64_t(v.asBool()));
        }
        if (n.empty() || n.size() > 3) throw RenderError("range() takes 1 to 3 arguments");
        int64_t start = n.size() > 1 ? n[0] : 0, stop = n.size() > 1 ? n[1] : n[0], step = n.size() > 2 ? n[2] : 1;
        if (step == 0) throw RenderError("range() step must not be zero");
        double count = std::max(0.0, std::ceil((double(stop) - double(start)) / double(step)));
        if (count > 1e6) throw RenderError("range() too large for the sandbox");
        std::vector<Value> out;
        for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.emplace_back(i);
        return Value::makeList(std::move(out));
    }));
    g.set("namespace", Value::function("namespace", [](Interpreter&, const CallArgs& a) {
        Value ns = Value::makeDict();
        ns.dict().isNamespace = true;
        for (const Value& p : a.positional)
            if (p.isDict())
                for (const auto& [k, v] : p.dict().entries) ns.dict().set(k, v);
        for (const auto& [k, v] : a.named) ns.dict().set(k, v);
        return ns;
    }));
    g.set("dict", Value::function("dict", [](Interpreter&, const CallArgs& a) {
        Value d = Value::makeDict();
        for (const Value& p : a.positional)
            if (p.isDict())
                for (const auto& [k, v] : p.dict().entries) d.dict().set(k, v);
        for (const auto& [k, v] : a.named) d.dict().set(k, v);
        return d;
    }));
    g.set("raise_exception", Value::function("raise_exception", [](Interpreter&, const CallArgs& a) -> Value {
        throw RenderError(a.positional.empty() ? std::string("raise_exception() called") : toStr(a.positional[0]));
    }));
    g.set("strftime_now", Value::function("strftime_now", [](Interpreter& in, const CallArgs& a) {
        const Value* f = a.get(0, "format");
        if (!f || !f->isString()) throw RenderError("strftime_now needs a format string");
        return Value(strftime(in.now(), f->str()));
    }));
}

}  // namespace hearth::tmpl
