// Runs a parsed template: variable scopes (a frame per loop and macro call, as Jinja2 scopes
// them), the output buffer, loop controls, and the sandbox limits. Builtins (filters, tests,
// methods, global functions) live in builtins.cpp.
#pragma once

#include <cstddef>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "inference/template/ast.h"
#include "inference/template/value.h"

namespace hearth {
struct TemplateLimits;
}

namespace hearth::tmpl {

struct Frame {
    std::vector<std::pair<std::string, Value>> vars;
    std::shared_ptr<Frame> parent;

    Value* find(std::string_view name);
    void set(std::string_view name, Value value);
};

// Errors from builtins; the statement that ran them adds its line and column.
class RenderError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Interpreter {
public:
    Interpreter(size_t maxOutputBytes, size_t maxLoopIterations, int maxRecursion, std::tm now);

    std::string run(const Program& program, std::shared_ptr<Frame> globals);

    // ---- used by the AST nodes and builtins ----
    Value lookup(std::string_view name) const;
    void assign(std::string_view name, Value value) { frame_->set(name, std::move(value)); }
    void write(std::string_view text);
    void execBody(const Body& body);

    enum class Flow { Normal, Break, Continue };
    Flow flow = Flow::Normal;

    // Runs `fn` with output going to a fresh buffer; returns what it wrote.
    template <typename Fn>
    std::string capture(Fn&& fn) {
        std::string buffer;
        std::string* saved = out_;
        out_ = &buffer;
        try {
            fn();
        } catch (...) {
            out_ = saved;
            throw;
        }
        out_ = saved;
        return buffer;
    }

    // A new scope whose parent is `parent` (the current frame when null) for the guard's lifetime.
    class Scope {
    public:
        Scope(Interpreter& in, std::shared_ptr<Frame> parent = nullptr);
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        Interpreter& in_;
        std::shared_ptr<Frame> saved_;
    };
    std::shared_ptr<Frame> currentFrame() const { return frame_; }

    void countIteration();
    // Refuses to build a string longer than the output limit (`s ~ s` doubling in a loop).
    void checkSize(size_t bytes) const;
    void enterCall();
    void leaveCall() { --callDepth_; }
    const std::tm& now() const { return now_; }

    // Builtins (builtins.cpp).
    Value callFilter(const std::string& name, const Value& subject, const CallArgs& args);
    bool callTest(const std::string& name, const Value& subject, const std::vector<Value>& args);
    // `obj.name(args)` for str, list and dict methods; returns false when `name` is no method.
    bool callMethod(const Value& object, const std::string& name, const CallArgs& args, Value& result);
    static Value getAttribute(const Value& object, std::string_view name);
    static Value getItem(const Value& object, const Value& key);
    static void installGlobals(Frame& globals);

private:
    std::string* out_ = nullptr;
    std::shared_ptr<Frame> frame_;
    size_t maxOutputBytes_;
    size_t maxLoopIterations_;
    int maxRecursion_;
    size_t iterations_ = 0;
    int callDepth_ = 0;
    std::tm now_;
};

// Python-style iteration: a string yields its characters (code points), a dict its keys,
// Undefined nothing. Throws RenderError for values that are not iterable.
std::vector<Value> iterate(const Value& v);
// Python's len().
int64_t length(const Value& v);

}  // namespace hearth::tmpl
