// The syntax tree of a parsed template. Expressions evaluate to a Value, statements write to the
// interpreter's current output; both are implemented in interpreter.cpp.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "inference/template/template_error.h"
#include "inference/template/value.h"

namespace hearth::tmpl {

class Interpreter;

struct Expr {
    SourcePos pos;
    virtual ~Expr() = default;
    virtual Value eval(Interpreter& in) const = 0;
};
using ExprPtr = std::unique_ptr<Expr>;
using NamedArgs = std::vector<std::pair<std::string, ExprPtr>>;

struct Stmt {
    SourcePos pos;
    virtual ~Stmt() = default;
    virtual void exec(Interpreter& in) const = 0;
};
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// ---- expressions ----

struct LiteralExpr : Expr {  // scalars only: a list literal must build a fresh list each time
    Value value;
    Value eval(Interpreter&) const override;
};
struct NameExpr : Expr {
    std::string name;
    Value eval(Interpreter& in) const override;
};
struct AttrExpr : Expr {  // x.name
    ExprPtr object;
    std::string name;
    Value eval(Interpreter& in) const override;
};
struct ItemExpr : Expr {  // x[key]
    ExprPtr object;
    ExprPtr key;
    Value eval(Interpreter& in) const override;
};
struct SliceExpr : Expr {  // x[start:stop:step], each part optional
    ExprPtr object, start, stop, step;
    Value eval(Interpreter& in) const override;
};
struct CallExpr : Expr {
    ExprPtr callee;
    std::vector<ExprPtr> args;
    NamedArgs named;
    Value eval(Interpreter& in) const override;
};
struct FilterExpr : Expr {  // x | name(args); `object` is null inside {% filter %} blocks
    ExprPtr object;
    std::string name;
    std::vector<ExprPtr> args;
    NamedArgs named;
    Value eval(Interpreter& in) const override;
    Value apply(Interpreter& in, Value subject) const;
};
struct TestExpr : Expr {  // x is [not] name(args)
    ExprPtr object;
    std::string name;
    std::vector<ExprPtr> args;
    bool negated = false;
    Value eval(Interpreter& in) const override;
};
struct UnaryExpr : Expr {  // -x, +x, not x
    char op = '-';  // '-', '+', '!'
    ExprPtr operand;
    Value eval(Interpreter& in) const override;
};
struct BinaryExpr : Expr {  // + - * / // % ** ~
    std::string op;
    ExprPtr left, right;
    Value eval(Interpreter& in) const override;
};
struct LogicExpr : Expr {  // and / or, short-circuit, returning an operand as Python does
    bool isAnd = true;
    ExprPtr left, right;
    Value eval(Interpreter& in) const override;
};
struct CompareExpr : Expr {  // a < b <= c, a in b, a not in b
    ExprPtr first;
    std::vector<std::pair<std::string, ExprPtr>> rest;
    Value eval(Interpreter& in) const override;
};
struct CondExpr : Expr {  // a if cond else b
    ExprPtr cond, then, otherwise;  // otherwise may be null (-> undefined)
    Value eval(Interpreter& in) const override;
};
struct ListExpr : Expr {
    std::vector<ExprPtr> items;
    bool tuple = false;
    Value eval(Interpreter& in) const override;
};
struct DictExpr : Expr {
    std::vector<std::pair<ExprPtr, ExprPtr>> items;
    Value eval(Interpreter& in) const override;
};

// ---- statements ----

struct TextStmt : Stmt {
    std::string text;
    void exec(Interpreter& in) const override;
};
struct OutputStmt : Stmt {
    ExprPtr expr;
    void exec(Interpreter& in) const override;
};
struct IfStmt : Stmt {
    std::vector<std::pair<ExprPtr, Body>> branches;
    Body otherwise;
    void exec(Interpreter& in) const override;
};
struct ForStmt : Stmt {
    std::vector<std::string> targets;  // `for k, v in ...` unpacks
    ExprPtr iterable;
    ExprPtr filter;  // `for x in xs if cond`; may be null
    Body body;
    Body otherwise;  // {% else %}: runs when nothing was iterated
    void exec(Interpreter& in) const override;
};
struct SetStmt : Stmt {
    std::vector<std::string> targets;  // `set a, b = ...` unpacks
    std::string attribute;             // `set ns.attr = ...`: targets[0] is the namespace
    ExprPtr value;                     // null for a block set
    Body block;                        // {% set x %}...{% endset %}
    std::vector<std::unique_ptr<FilterExpr>> blockFilters;
    void exec(Interpreter& in) const override;
};
struct MacroParam {
    std::string name;
    ExprPtr defaultValue;  // may be null
};
struct MacroStmt : Stmt {
    std::string name;
    std::vector<MacroParam> params;
    Body body;
    void exec(Interpreter& in) const override;
};
struct CallBlockStmt : Stmt {  // {% call(params) macro(args) %}body{% endcall %}
    std::vector<MacroParam> params;
    std::unique_ptr<CallExpr> call;
    Body body;
    void exec(Interpreter& in) const override;
};
struct FilterBlockStmt : Stmt {
    std::vector<std::unique_ptr<FilterExpr>> filters;
    Body body;
    void exec(Interpreter& in) const override;
};
struct LoopControlStmt : Stmt {
    bool isBreak = true;
    void exec(Interpreter& in) const override;
};

struct Program {
    Body body;
};

}  // namespace hearth::tmpl
