// The runtime values of the chat-template interpreter, modelled on what Python Jinja2 sees when
// transformers renders a chat template: None, bool, int, float, str, list/tuple, dict (insertion
// ordered), callables, and Jinja's Undefined. Lists and dicts are shared by reference, as in
// Python, so `ns.x = ...` on a namespace() and `list.append` are visible through every name.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::tmpl {

struct Value;
class Interpreter;

struct ListData {
    std::vector<Value> items;
    bool tuple = false;  // prints as (a, b) and is immutable in Python; otherwise a list
};

struct DictData {
    std::vector<std::pair<std::string, Value>> entries;  // insertion order, unique keys
    bool isNamespace = false;                           // namespace(): the only dict `set x.y` may change

    const Value* find(std::string_view key) const;
    Value* find(std::string_view key);
    void set(std::string key, Value value);
};

struct CallArgs {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> named;

    // The argument at `index`, or the keyword `name`, or nullptr.
    const Value* get(size_t index, std::string_view name) const;
};

struct Function {
    std::string name;
    std::function<Value(Interpreter&, const CallArgs&)> call;
};

// Attribute-only objects that the interpreter makes itself (the `loop` variable).
class Object {
public:
    virtual ~Object() = default;
    virtual Value attribute(std::string_view name) const = 0;
    virtual std::string typeName() const = 0;
};

// Jinja's Undefined. It remembers the name it stands for (owned by the template's syntax tree) so
// that using it wrongly can say "'x' is undefined" as Jinja2 does.
struct UndefinedT {
    const std::string* name = nullptr;
    bool isMember = false;  // a missing attribute or item rather than a missing variable
    bool operator==(const UndefinedT&) const { return true; }
};
struct NoneT {
    bool operator==(const NoneT&) const = default;
};

struct Value {
    using Storage = std::variant<UndefinedT, NoneT, bool, int64_t, double, std::string,
                                 std::shared_ptr<ListData>, std::shared_ptr<DictData>,
                                 std::shared_ptr<Function>, std::shared_ptr<Object>>;
    Storage v;

    Value() = default;
    Value(NoneT n) : v(n) {}
    Value(bool b) : v(b) {}
    Value(int64_t i) : v(i) {}
    Value(int i) : v(int64_t(i)) {}
    Value(double d) : v(d) {}
    Value(std::string s) : v(std::move(s)) {}
    Value(const char* s) : v(std::string(s)) {}
    Value(std::shared_ptr<ListData> l) : v(std::move(l)) {}
    Value(std::shared_ptr<DictData> d) : v(std::move(d)) {}
    Value(std::shared_ptr<Function> f) : v(std::move(f)) {}
    Value(std::shared_ptr<Object> o) : v(std::move(o)) {}

    Value(UndefinedT u) : v(u) {}
    static Value none() { return Value(NoneT{}); }
    static Value makeList(std::vector<Value> items = {}, bool tuple = false);
    static Value makeDict();
    static Value function(std::string name, std::function<Value(Interpreter&, const CallArgs&)> fn);

    bool isUndefined() const { return std::holds_alternative<UndefinedT>(v); }
    bool isNone() const { return std::holds_alternative<NoneT>(v); }
    bool isBool() const { return std::holds_alternative<bool>(v); }
    bool isInt() const { return std::holds_alternative<int64_t>(v); }
    bool isFloat() const { return std::holds_alternative<double>(v); }
    bool isNumber() const { return isInt() || isFloat() || isBool(); }
    bool isString() const { return std::holds_alternative<std::string>(v); }
    bool isList() const { return std::holds_alternative<std::shared_ptr<ListData>>(v); }
    bool isDict() const { return std::holds_alternative<std::shared_ptr<DictData>>(v); }
    bool isFunction() const { return std::holds_alternative<std::shared_ptr<Function>>(v); }
    bool isObject() const { return std::holds_alternative<std::shared_ptr<Object>>(v); }
    // Jinja2's UndefinedError message for using this undefined value.
    std::string undefinedMessage() const;

    bool asBool() const { return std::get<bool>(v); }
    int64_t asInt() const { return std::get<int64_t>(v); }
    double asFloat() const { return std::get<double>(v); }
    // int, float or bool as a double (Python's numeric tower).
    double number() const;
    const std::string& str() const { return std::get<std::string>(v); }
    ListData& list() const { return *std::get<std::shared_ptr<ListData>>(v); }
    DictData& dict() const { return *std::get<std::shared_ptr<DictData>>(v); }
    const Function& function() const { return *std::get<std::shared_ptr<Function>>(v); }
    const Object& object() const { return *std::get<std::shared_ptr<Object>>(v); }

    // Python truthiness (Undefined is false).
    bool truthy() const;
    // Python's type name, for error messages: 'str', 'list', 'NoneType', ...
    std::string typeName() const;
};

// Python's == (1 == 1.0 == True; lists and dicts element-wise).
bool equals(const Value& a, const Value& b);
// Python's str(): what {{ x }} prints. Undefined prints as nothing.
std::string toStr(const Value& v);
// Python's repr(), used inside printed lists and dicts: 'text', None, True, 1.5.
std::string toRepr(const Value& v);
// Python's float repr: 1.0, 0.1, 1e+16, inf.
std::string floatRepr(double d);

struct JsonOptions {
    int indent = -1;  // < 0: no indent
    std::string itemSeparator;  // empty: Python's default (", " or "," with an indent)
    std::string keySeparator;   // empty: ": "
    bool sortKeys = false;
    bool ensureAscii = false;
};
// json.dumps(x, ensure_ascii=False, ...) as transformers' tojson filter calls it.
std::string toJson(const Value& v, const JsonOptions& options);

// JSON documents become values with their key order kept; nlohmann::json (a sorted map) gives
// keys in sorted order, nlohmann::ordered_json in document order.
Value fromJson(const nlohmann::json& j);
Value fromJson(const nlohmann::ordered_json& j);

}  // namespace hearth::tmpl
