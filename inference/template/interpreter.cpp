#include "inference/template/interpreter.h"

#include <cmath>
#include <cstdio>

#include "inference/template/text.h"

namespace hearth::tmpl {

// ---- frames and the interpreter ----

Value* Frame::find(std::string_view name) {
    for (auto& [k, v] : vars)
        if (k == name) return &v;
    return nullptr;
}

void Frame::set(std::string_view name, Value value) {
    if (Value* existing = find(name)) {
        *existing = std::move(value);
        return;
    }
    vars.emplace_back(std::string(name), std::move(value));
}

Interpreter::Interpreter(size_t maxOutputBytes, size_t maxLoopIterations, int maxRecursion, std::tm now)
    : maxOutputBytes_(maxOutputBytes), maxLoopIterations_(maxLoopIterations), maxRecursion_(maxRecursion),
      now_(now) {}

std::string Interpreter::run(const Program& program, std::shared_ptr<Frame> globals) {
    std::string out;
    out_ = &out;
    frame_ = std::make_shared<Frame>();
    frame_->parent = std::move(globals);
    execBody(program.body);
    flow = Flow::Normal;
    out_ = nullptr;
    frame_.reset();
    return out;
}

Value Interpreter::lookup(std::string_view name) const {
    for (Frame* f = frame_.get(); f; f = f->parent.get())
        if (Value* v = f->find(name)) return *v;
    return Value();
}

void Interpreter::write(std::string_view text) {
    if (out_->size() + text.size() > maxOutputBytes_)
        throw RenderError("the rendered prompt would exceed the limit of " + std::to_string(maxOutputBytes_) +
                          " bytes");
    out_->append(text);
}

void Interpreter::execBody(const Body& body) {
    for (const StmtPtr& stmt : body) {
        try {
            stmt->exec(*this);
        } catch (const TemplateError&) {
            throw;
        } catch (const std::exception& e) {
            throw TemplateError(stmt->pos.line, stmt->pos.column, e.what());
        }
        if (flow != Flow::Normal) return;
    }
}

Interpreter::Scope::Scope(Interpreter& in, std::shared_ptr<Frame> parent) : in_(in), saved_(in.frame_) {
    auto frame = std::make_shared<Frame>();
    frame->parent = parent ? std::move(parent) : in.frame_;
    in.frame_ = std::move(frame);
}

Interpreter::Scope::~Scope() { in_.frame_ = std::move(saved_); }

void Interpreter::countIteration() {
    if (++iterations_ > maxLoopIterations_)
        throw RenderError("the template ran more than " + std::to_string(maxLoopIterations_) +
                          " loop iterations");
}

void Interpreter::checkSize(size_t bytes) const {
    if (bytes > maxOutputBytes_)
        throw RenderError("a string would exceed the limit of " + std::to_string(maxOutputBytes_) + " bytes");
}

void Interpreter::enterCall() {
    if (++callDepth_ > maxRecursion_) {
        --callDepth_;
        throw RenderError("macro calls nested deeper than " + std::to_string(maxRecursion_));
    }
}

// ---- expressions ----

namespace {

std::string opTypes(const char* op, const Value& a, const Value& b) {
    return std::string("unsupported operand type(s) for ") + op + ": '" + a.typeName() + "' and '" +
           b.typeName() + "'";
}

void requireDefined(const Value& v) {
    if (v.isUndefined()) throw RenderError(v.undefinedMessage());
}

bool isWhole(const Value& v) { return v.isInt() || v.isBool(); }
int64_t whole(const Value& v) { return v.isInt() ? v.asInt() : int64_t(v.asBool()); }

// Python's "%s and %d" % (a, b): %s, %r, %d/%i, %f and %%.
Value printfFormat(const std::string& fmt, const Value& args) {
    std::vector<Value> values = args.isList() && args.list().tuple ? args.list().items : std::vector<Value>{args};
    std::string out;
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
        if (next >= values.size()) throw RenderError("not enough arguments for format string");
        const Value& x = values[next++];
        if (c == 's') {
            out += toStr(x);
        } else if (c == 'r') {
            out += toRepr(x);
        } else if ((c == 'd' || c == 'i') && x.isNumber()) {
            out += std::to_string(int64_t(x.number()));
        } else if (c == 'f' && x.isNumber()) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%f", x.number());
            out += buf;
        } else {
            throw RenderError(std::string("unsupported format character '") + c + "' for " + x.typeName());
        }
    }
    if (next < values.size()) throw RenderError("not all arguments converted during string formatting");
    return Value(std::move(out));
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
    requireDefined(a);
    requireDefined(b);
    const char* o = op.c_str();
    if (op == "+") {
        if (a.isString() && b.isString()) return Value(a.str() + b.str());
        if (a.isList() && b.isList()) {
            std::vector<Value> items = a.list().items;
            items.insert(items.end(), b.list().items.begin(), b.list().items.end());
            return Value::makeList(std::move(items), a.list().tuple);
        }
    }
    if (op == "*") {
        const Value* seq = a.isString() || a.isList() ? &a : b.isString() || b.isList() ? &b : nullptr;
        const Value* count = seq == &a ? &b : &a;
        if (seq && isWhole(*count)) {
            int64_t n = whole(*count);
            if (n > 0 && double(length(*seq)) * double(n) > 64.0 * 1024 * 1024)
                throw RenderError("repetition result is too large");
            if (seq->isString()) {
                std::string out;
                for (int64_t i = 0; i < n; ++i) out += seq->str();
                return Value(std::move(out));
            }
            std::vector<Value> items;
            for (int64_t i = 0; i < n; ++i)
                items.insert(items.end(), seq->list().items.begin(), seq->list().items.end());
            return Value::makeList(std::move(items));
        }
    }
    if (op == "%" && a.isString()) return printfFormat(a.str(), b);
    if (!a.isNumber() || !b.isNumber()) throw RenderError(opTypes(o, a, b));
    bool ints = isWhole(a) && isWhole(b);
    if (op == "/") {
        if (b.number() == 0) throw RenderError("division by zero");
        return Value(a.number() / b.number());
    }
    if (ints) {
        int64_t x = whole(a), y = whole(b);
        if (op == "+") return Value(x + y);
        if (op == "-") return Value(x - y);
        if (op == "*") return Value(x * y);
        if (op == "//" || op == "%") {
            if (y == 0) throw RenderError("integer division or modulo by zero");
            int64_t q = x / y, r = x % y;
            if (r != 0 && ((r < 0) != (y < 0))) {  // Python floors toward negative infinity
                --q;
                r += y;
            }
            return Value(op == "//" ? q : r);
        }
        if (op == "**") {
            if (y >= 0) {
                int64_t result = 1;
                for (int64_t i = 0; i < y && i < 64; ++i) result *= x;
                return Value(result);
            }
            return Value(std::pow(double(x), double(y)));
        }
    }
    double x = a.number(), y = b.number();
    if (op == "+") return Value(x + y);
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (op == "//" || op == "%") {
        if (y == 0) throw RenderError("float division or modulo by zero");
        double q = std::floor(x / y);
        return Value(op == "//" ? q : x - q * y);
    }
    if (op == "**") return Value(std::pow(x, y));
    throw RenderError(opTypes(o, a, b));
}

bool lessThan(const Value& a, const Value& b, const std::string& op) {
    if (a.isNumber() && b.isNumber()) {
        if (isWhole(a) && isWhole(b)) return whole(a) < whole(b);
        return a.number() < b.number();
    }
    if (a.isString() && b.isString()) return a.str() < b.str();
    if (a.isList() && b.isList()) {
        const auto& x = a.list().items;
        const auto& y = b.list().items;
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (!equals(x[i], y[i])) return lessThan(x[i], y[i], op);
        }
        return x.size() < y.size();
    }
    throw RenderError("'" + op + "' not supported between instances of '" + a.typeName() + "' and '" +
                      b.typeName() + "'");
}

bool contains(const Value& container, const Value& item) {
    if (container.isString()) {
        if (!item.isString())
            throw RenderError("'in <string>' requires string as left operand, not " + item.typeName());
        return container.str().find(item.str()) != std::string::npos;
    }
    if (container.isList()) {
        for (const Value& v : container.list().items)
            if (equals(v, item)) return true;
        return false;
    }
    if (container.isDict()) return item.isString() && container.dict().find(item.str()) != nullptr;
    if (container.isUndefined()) return false;
    throw RenderError("argument of type '" + container.typeName() + "' is not iterable");
}

bool compare(const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return equals(a, b);
    if (op == "!=") return !equals(a, b);
    if (op == "in") return contains(b, a);
    if (op == "not in") return !contains(b, a);
    if (op == "<") return lessThan(a, b, op);
    if (op == ">") return lessThan(b, a, op);
    if (op == "<=") return !lessThan(b, a, op);
    return !lessThan(a, b, op);  // >=
}

CallArgs evalArgs(Interpreter& in, const std::vector<ExprPtr>& args, const NamedArgs& named) {
    CallArgs out;
    out.positional.reserve(args.size());
    for (const auto& a : args) out.positional.push_back(a->eval(in));
    for (const auto& [k, e] : named) out.named.emplace_back(k, e->eval(in));
    return out;
}

}  // namespace

Value LiteralExpr::eval(Interpreter&) const { return value; }

Value NameExpr::eval(Interpreter& in) const {
    Value v = in.lookup(name);
    if (v.isUndefined()) return Value(UndefinedT{&name, false});
    return v;
}

// Jinja2's default Undefined: a missing variable or attribute is fine to print, test or iterate,
// but looking something up on it is an error.
Value AttrExpr::eval(Interpreter& in) const {
    Value obj = object->eval(in);
    requireDefined(obj);
    Value v = Interpreter::getAttribute(obj, name);
    if (v.isUndefined()) return Value(UndefinedT{&name, true});
    return v;
}

Value ItemExpr::eval(Interpreter& in) const {
    Value obj = object->eval(in);
    requireDefined(obj);
    return Interpreter::getItem(obj, key->eval(in));
}

Value SliceExpr::eval(Interpreter& in) const {
    Value obj = object->eval(in);
    requireDefined(obj);
    auto bound = [&](const ExprPtr& e) -> std::optional<int64_t> {
        if (!e) return std::nullopt;
        Value v = e->eval(in);
        if (v.isNone()) return std::nullopt;
        if (!isWhole(v)) throw RenderError("slice indices must be integers or None");
        return whole(v);
    };
    auto s = bound(start), e = bound(stop), st = bound(step);
    return slice(obj, s, e, st);
}

Value CallExpr::eval(Interpreter& in) const {
    if (auto* attr = dynamic_cast<const AttrExpr*>(callee.get())) {
        Value obj = attr->object->eval(in);
        requireDefined(obj);
        CallArgs args = evalArgs(in, this->args, named);
        Value result;
        if (in.callMethod(obj, attr->name, args, result)) return result;
        Value fn = Interpreter::getAttribute(obj, attr->name);
        if (!fn.isFunction())
            throw RenderError("'" + obj.typeName() + "' object has no method '" + attr->name + "'");
        return fn.function().call(in, args);
    }
    Value fn = callee->eval(in);
    if (!fn.isFunction()) {
        requireDefined(fn);
        throw RenderError("'" + fn.typeName() + "' object is not callable");
    }
    CallArgs args = evalArgs(in, this->args, named);
    return fn.function().call(in, args);
}

Value FilterExpr::eval(Interpreter& in) const { return apply(in, object->eval(in)); }

Value FilterExpr::apply(Interpreter& in, Value subject) const {
    return in.callFilter(name, subject, evalArgs(in, args, named));
}

Value TestExpr::eval(Interpreter& in) const {
    Value subject = object->eval(in);
    std::vector<Value> values;
    for (const auto& a : args) values.push_back(a->eval(in));
    return Value(in.callTest(name, subject, values) != negated);
}

Value UnaryExpr::eval(Interpreter& in) const {
    Value v = operand->eval(in);
    if (op == '!') return Value(!v.truthy());
    if (!v.isNumber()) throw RenderError(std::string("bad operand type for unary ") + op + ": '" + v.typeName() + "'");
    if (op == '+') return isWhole(v) ? Value(whole(v)) : v;
    return isWhole(v) ? Value(-whole(v)) : Value(-v.asFloat());
}

Value BinaryExpr::eval(Interpreter& in) const {
    Value a = left->eval(in);
    Value b = right->eval(in);
    if (op == "~") {
        std::string x = toStr(a), y = toStr(b);
        in.checkSize(x.size() + y.size());
        return Value(x + y);
    }
    if (op == "+" && a.isString() && b.isString()) in.checkSize(a.str().size() + b.str().size());
    if (op == "*" && (a.isString() || b.isString()) && a.isNumber() != b.isNumber()) {
        const Value& s = a.isString() ? a : b;
        const Value& n = a.isString() ? b : a;
        if (n.isInt() && n.asInt() > 0) in.checkSize(s.str().size() * size_t(std::min<int64_t>(n.asInt(), 1 << 30)));
    }
    return arithmetic(op, a, b);
}

Value LogicExpr::eval(Interpreter& in) const {
    Value a = left->eval(in);
    if (isAnd ? !a.truthy() : a.truthy()) return a;
    return right->eval(in);
}

Value CompareExpr::eval(Interpreter& in) const {
    Value a = first->eval(in);
    for (const auto& [op, expr] : rest) {
        Value b = expr->eval(in);
        if (!compare(op, a, b)) return Value(false);
        a = std::move(b);
    }
    return Value(true);
}

Value CondExpr::eval(Interpreter& in) const {
    if (cond->eval(in).truthy()) return then->eval(in);
    return otherwise ? otherwise->eval(in) : Value();
}

Value ListExpr::eval(Interpreter& in) const {
    std::vector<Value> values;
    values.reserve(items.size());
    for (const auto& e : items) values.push_back(e->eval(in));
    return Value::makeList(std::move(values), tuple);
}

Value DictExpr::eval(Interpreter& in) const {
    Value d = Value::makeDict();
    for (const auto& [k, v] : items) {
        Value key = k->eval(in);
        d.dict().set(key.isString() ? key.str() : toStr(key), v->eval(in));
    }
    return d;
}

// ---- statements ----

namespace {

// The `loop` variable of a for loop.
class LoopObject : public Object {
public:
    explicit LoopObject(const std::vector<Value>& items) : items_(items) {}
    size_t index = 0;

    Value attribute(std::string_view name) const override {
        int64_t n = int64_t(items_.size()), i = int64_t(index);
        if (name == "index") return Value(i + 1);
        if (name == "index0") return Value(i);
        if (name == "revindex") return Value(n - i);
        if (name == "revindex0") return Value(n - i - 1);
        if (name == "first") return Value(i == 0);
        if (name == "last") return Value(i == n - 1);
        if (name == "length") return Value(n);
        if (name == "depth") return Value(1);
        if (name == "depth0") return Value(0);
        if (name == "previtem") return i > 0 ? items_[size_t(i - 1)] : Value();
        if (name == "nextitem") return i + 1 < n ? items_[size_t(i + 1)] : Value();
        if (name == "cycle") {
            return Value::function("loop.cycle", [i](Interpreter&, const CallArgs& args) -> Value {
                if (args.positional.empty()) throw RenderError("loop.cycle() needs at least one value");
                return args.positional[size_t(i) % args.positional.size()];
            });
        }
        return Value();
    }
    std::string typeName() const override { return "LoopContext"; }

private:
    const std::vector<Value>& items_;
};

void bindTargets(Interpreter& in, const std::vector<std::string>& targets, const Value& value) {
    if (targets.size() == 1) {
        in.assign(targets[0], value);
        return;
    }
    std::vector<Value> parts = iterate(value);
    if (parts.size() != targets.size())
        throw RenderError("cannot unpack " + std::to_string(parts.size()) + " values into " +
                          std::to_string(targets.size()) + " names");
    for (size_t i = 0; i < targets.size(); ++i) in.assign(targets[i], parts[i]);
}

// Binds a macro's (or a call block's caller's) parameters and runs its body in a fresh scope.
Value callMacro(Interpreter& in, const std::vector<MacroParam>& params, const Body& body,
                std::shared_ptr<Frame> closure, const CallArgs& args, const std::string& name) {
    in.enterCall();
    struct Leave {
        Interpreter& in;
        ~Leave() { in.leaveCall(); }
    } leave{in};
    Interpreter::Scope scope(in, std::move(closure));
    std::vector<Value> varargs;
    for (size_t i = 0; i < args.positional.size(); ++i) {
        if (i < params.size()) in.assign(params[i].name, args.positional[i]);
        else varargs.push_back(args.positional[i]);
    }
    Value kwargs = Value::makeDict();
    for (const auto& [k, v] : args.named) {
        bool isParam = false;
        for (const auto& p : params) isParam = isParam || p.name == k;
        if (isParam || k == "caller") in.assign(k, v);
        else kwargs.dict().set(k, v);
    }
    for (size_t i = args.positional.size(); i < params.size(); ++i) {
        bool given = false;
        for (const auto& [k, v] : args.named) given = given || k == params[i].name;
        if (!given) in.assign(params[i].name, params[i].defaultValue ? params[i].defaultValue->eval(in) : Value());
    }
    in.assign("varargs", Value::makeList(std::move(varargs), true));
    in.assign("kwargs", kwargs);
    (void)name;
    std::string text = in.capture([&] { in.execBody(body); });
    in.flow = Interpreter::Flow::Normal;
    return Value(std::move(text));
}

}  // namespace

void TextStmt::exec(Interpreter& in) const { in.write(text); }

void OutputStmt::exec(Interpreter& in) const {
    Value v = expr->eval(in);
    if (v.isString()) in.write(v.str());
    else in.write(toStr(v));
}

void IfStmt::exec(Interpreter& in) const {
    for (const auto& [cond, body] : branches) {
        if (cond->eval(in).truthy()) {
            in.execBody(body);
            return;
        }
    }
    in.execBody(otherwise);
}

void ForStmt::exec(Interpreter& in) const {
    std::vector<Value> all = iterate(iterable->eval(in));
    Interpreter::Scope scope(in);
    std::vector<Value> items;
    if (filter) {
        for (Value& v : all) {
            in.countIteration();
            bindTargets(in, targets, v);
            if (filter->eval(in).truthy()) items.push_back(std::move(v));
        }
    } else {
        items = std::move(all);
    }
    auto loop = std::make_shared<LoopObject>(items);
    Value loopValue{std::shared_ptr<Object>(loop)};
    for (size_t i = 0; i < items.size(); ++i) {
        in.countIteration();
        loop->index = i;
        // Jinja2 starts every iteration from the enclosing scope: a `set` in the body does not
        // carry over to the next iteration (hence namespace()).
        Interpreter::Scope iteration(in);
        in.assign("loop", loopValue);
        bindTargets(in, targets, items[i]);
        in.execBody(body);
        if (in.flow == Interpreter::Flow::Break) {
            in.flow = Interpreter::Flow::Normal;
            break;
        }
        in.flow = Interpreter::Flow::Normal;
    }
    if (items.empty()) in.execBody(otherwise);
}

void SetStmt::exec(Interpreter& in) const {
    Value v;
    if (value) {
        v = value->eval(in);
    } else {
        v = Value(in.capture([&] { in.execBody(block); }));
        for (const auto& f : blockFilters) v = f->apply(in, std::move(v));
    }
    if (!attribute.empty()) {
        Value target = in.lookup(targets[0]);
        if (!target.isDict() || !target.dict().isNamespace)
            throw RenderError("cannot assign attribute on non-namespace object '" + targets[0] + "'");
        target.dict().set(attribute, std::move(v));
        return;
    }
    bindTargets(in, targets, v);
}

void MacroStmt::exec(Interpreter& in) const {
    // The macro sees the scope it was defined in; a weak reference keeps a macro stored in its
    // own scope from keeping that scope alive forever.
    std::weak_ptr<Frame> defined = in.currentFrame();
    const MacroStmt* self = this;
    in.assign(name, Value::function(name, [self, defined](Interpreter& inner, const CallArgs& args) {
        std::shared_ptr<Frame> closure = defined.lock();
        if (!closure) closure = inner.currentFrame();
        return callMacro(inner, self->params, self->body, closure, args, self->name);
    }));
}

void CallBlockStmt::exec(Interpreter& in) const {
    std::shared_ptr<Frame> here = in.currentFrame();
    const CallBlockStmt* self = this;
    Value caller = Value::function("caller", [self, here](Interpreter& inner, const CallArgs& args) {
        return callMacro(inner, self->params, self->body, here, args, "caller");
    });
    Value fn = call->callee->eval(in);
    if (!fn.isFunction()) throw RenderError("'call' needs a macro, not '" + fn.typeName() + "'");
    CallArgs args = evalArgs(in, call->args, call->named);
    args.named.emplace_back("caller", caller);
    in.write(toStr(fn.function().call(in, args)));
}

void FilterBlockStmt::exec(Interpreter& in) const {
    Value v(in.capture([&] { in.execBody(body); }));
    for (const auto& f : filters) v = f->apply(in, std::move(v));
    in.write(toStr(v));
}

void LoopControlStmt::exec(Interpreter& in) const {
    in.flow = isBreak ? Interpreter::Flow::Break : Interpreter::Flow::Continue;
}

}  // namespace hearth::tmpl
