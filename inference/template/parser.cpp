#include "inference/template/parser.h"

#include <charconv>
#include <cstdlib>
#include <initializer_list>

#include "inference/template/lexer.h"

namespace hearth::tmpl {
namespace {

// Deeper nesting than this is refused rather than risking the stack on a hostile template.
constexpr int kMaxNesting = 200;

template <typename T>
std::unique_ptr<T> node(SourcePos pos) {
    auto n = std::make_unique<T>();
    n->pos = pos;
    return n;
}

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

    std::unique_ptr<Program> run() {
        auto program = std::make_unique<Program>();
        std::string end = parseBody(program->body, {});
        if (!end.empty()) fail(cur(), "unexpected '" + end + "'");
        return program;
    }

private:
    std::vector<Token> toks_;
    size_t i_ = 0;
    int depth_ = 0;

    struct DepthGuard {
        Parser& p;
        explicit DepthGuard(Parser& parser) : p(parser) {
            if (++p.depth_ > kMaxNesting) p.fail(p.cur(), "template nested too deeply");
        }
        ~DepthGuard() { --p.depth_; }
    };

    const Token& cur() const { return toks_[i_]; }
    const Token& peek(size_t k = 1) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
    const Token& advance() { return toks_[i_ < toks_.size() - 1 ? i_++ : i_]; }

    [[noreturn]] void fail(const Token& t, const std::string& problem) const {
        throw TemplateError(t.pos.line, t.pos.column, problem);
    }

    bool isOp(const char* op) const { return cur().type == TokenType::Operator && cur().text == op; }
    bool isName(const char* name) const { return cur().type == TokenType::Name && cur().text == name; }
    bool acceptOp(const char* op) {
        if (!isOp(op)) return false;
        advance();
        return true;
    }
    bool acceptName(const char* name) {
        if (!isName(name)) return false;
        advance();
        return true;
    }
    static std::string describe(const Token& t) {
        switch (t.type) {
        case TokenType::Text: return "text";
        case TokenType::VarBegin: return "'{{'";
        case TokenType::VarEnd: return "'}}'";
        case TokenType::BlockBegin: return "'{%'";
        case TokenType::BlockEnd: return "'%}'";
        case TokenType::End: return "end of template";
        case TokenType::String: return "string";
        default: return "'" + t.text + "'";
        }
    }
    void expectOp(const char* op) {
        if (!acceptOp(op)) fail(cur(), std::string("expected '") + op + "', found " + describe(cur()));
    }
    std::string expectName(const char* what) {
        if (cur().type != TokenType::Name) fail(cur(), std::string("expected ") + what + ", found " + describe(cur()));
        return advance().text;
    }
    void expectBlockEnd() {
        if (cur().type != TokenType::BlockEnd) fail(cur(), "expected '%}', found " + describe(cur()));
        advance();
    }

    // ---- statements ----

    // Parses statements until a block tag whose keyword is in `ends`; returns that keyword with
    // the cursor on it (after the "{%"), or "" at the end of the template.
    std::string parseBody(Body& body, std::initializer_list<const char*> ends) {
        DepthGuard guard(*this);
        for (;;) {
            const Token& t = cur();
            switch (t.type) {
            case TokenType::End:
                return {};
            case TokenType::Text: {
                auto s = node<TextStmt>(t.pos);
                s->text = t.text;
                advance();
                body.push_back(std::move(s));
                break;
            }
            case TokenType::VarBegin: {
                advance();
                auto s = node<OutputStmt>(t.pos);
                s->expr = parseTuple(true);
                if (cur().type != TokenType::VarEnd) fail(cur(), "expected '}}', found " + describe(cur()));
                advance();
                body.push_back(std::move(s));
                break;
            }
            case TokenType::BlockBegin: {
                const Token& kw = peek();
                if (kw.type != TokenType::Name) fail(kw, "expected a tag name after '{%'");
                for (const char* e : ends)
                    if (kw.text == e) {
                        advance();
                        return kw.text;
                    }
                advance();
                parseStatement(body);
                break;
            }
            default:
                fail(t, "unexpected " + describe(t));
            }
        }
    }

    std::string parseBodyUntil(Body& body, std::initializer_list<const char*> ends, const Token& opener) {
        std::string end = parseBody(body, ends);
        if (end.empty()) {
            std::string want;
            for (const char* e : ends) want += (want.empty() ? "'" : " or '") + std::string(e) + "'";
            fail(opener, "'" + opener.text + "' is never closed: expected " + want);
        }
        return end;
    }

    void parseStatement(Body& body) {
        const Token& kw = advance();
        const std::string& k = kw.text;
        if (k == "if") return body.push_back(parseIf(kw));
        if (k == "for") return body.push_back(parseFor(kw));
        if (k == "set") return body.push_back(parseSet(kw));
        if (k == "macro") return body.push_back(parseMacro(kw));
        if (k == "call") return body.push_back(parseCallBlock(kw));
        if (k == "filter") return body.push_back(parseFilterBlock(kw));
        if (k == "break" || k == "continue") {
            auto s = node<LoopControlStmt>(kw.pos);
            s->isBreak = k == "break";
            expectBlockEnd();
            return body.push_back(std::move(s));
        }
        if (k == "generation") {  // transformers' assistant-mask marker: renders its body as is
            expectBlockEnd();
            parseBodyUntil(body, {"endgeneration"}, kw);
            advance();
            expectBlockEnd();
            return;
        }
        fail(kw, "unsupported tag '" + k + "'");
    }

    StmtPtr parseIf(const Token& kw) {
        auto s = node<IfStmt>(kw.pos);
        ExprPtr cond = parseTuple(true);
        expectBlockEnd();
        for (;;) {
            Body branch;
            std::string end = parseBodyUntil(branch, {"elif", "else", "endif"}, kw);
            s->branches.emplace_back(std::move(cond), std::move(branch));
            advance();
            if (end == "elif") {
                cond = parseTuple(true);
                expectBlockEnd();
                continue;
            }
            if (end == "else") {
                expectBlockEnd();
                parseBodyUntil(s->otherwise, {"endif"}, kw);
                advance();
            }
            expectBlockEnd();
            return s;
        }
    }

    StmtPtr parseFor(const Token& kw) {
        auto s = node<ForStmt>(kw.pos);
        do {
            s->targets.push_back(expectName("a loop variable"));
        } while (acceptOp(","));
        if (!acceptName("in")) fail(cur(), "expected 'in' in the for loop, found " + describe(cur()));
        s->iterable = parseTuple(false);
        if (acceptName("if")) s->filter = parseExpression(true);
        if (isName("recursive")) fail(cur(), "recursive loops are not supported");
        expectBlockEnd();
        std::string end = parseBodyUntil(s->body, {"else", "endfor"}, kw);
        advance();
        if (end == "else") {
            expectBlockEnd();
            parseBodyUntil(s->otherwise, {"endfor"}, kw);
            advance();
        }
        expectBlockEnd();
        return s;
    }

    StmtPtr parseSet(const Token& kw) {
        auto s = node<SetStmt>(kw.pos);
        s->targets.push_back(expectName("a variable name"));
        if (acceptOp(".")) {
            s->attribute = expectName("an attribute name");
        } else {
            while (acceptOp(",")) s->targets.push_back(expectName("a variable name"));
        }
        if (acceptOp("=")) {
            s->value = parseTuple(true);
            expectBlockEnd();
            return s;
        }
        if (!s->attribute.empty() || s->targets.size() != 1) fail(cur(), "expected '='");
        while (acceptOp("|")) s->blockFilters.push_back(parseFilter(nullptr));
        expectBlockEnd();
        parseBodyUntil(s->block, {"endset"}, kw);
        advance();
        expectBlockEnd();
        return s;
    }

    std::vector<MacroParam> parseParams() {
        std::vector<MacroParam> params;
        expectOp("(");
        while (!acceptOp(")")) {
            if (!params.empty()) expectOp(",");
            if (acceptOp(")")) break;
            MacroParam p;
            p.name = expectName("a parameter name");
            if (acceptOp("=")) p.defaultValue = parseExpression(true);
            params.push_back(std::move(p));
        }
        return params;
    }

    StmtPtr parseMacro(const Token& kw) {
        auto s = node<MacroStmt>(kw.pos);
        s->name = expectName("a macro name");
        s->params = parseParams();
        expectBlockEnd();
        parseBodyUntil(s->body, {"endmacro"}, kw);
        advance();
        if (cur().type == TokenType::Name) advance();  // {% endmacro name %}
        expectBlockEnd();
        return s;
    }

    StmtPtr parseCallBlock(const Token& kw) {
        auto s = node<CallBlockStmt>(kw.pos);
        if (isOp("(")) s->params = parseParams();
        ExprPtr call = parseExpression(true);
        auto* asCall = dynamic_cast<CallExpr*>(call.get());
        if (!asCall) fail(kw, "'call' needs a macro call, like {% call m() %}");
        call.release();
        s->call.reset(asCall);
        expectBlockEnd();
        parseBodyUntil(s->body, {"endcall"}, kw);
        advance();
        expectBlockEnd();
        return s;
    }

    StmtPtr parseFilterBlock(const Token& kw) {
        auto s = node<FilterBlockStmt>(kw.pos);
        do {
            s->filters.push_back(parseFilter(nullptr));
        } while (acceptOp("|"));
        expectBlockEnd();
        parseBodyUntil(s->body, {"endfilter"}, kw);
        advance();
        expectBlockEnd();
        return s;
    }

    // ---- expressions ----

    // expr [, expr]* -> a tuple when there is a comma.
    ExprPtr parseTuple(bool withCondExpr) {
        SourcePos pos = cur().pos;
        ExprPtr first = parseExpression(withCondExpr);
        if (!isOp(",")) return first;
        auto list = node<ListExpr>(pos);
        list->tuple = true;
        list->items.push_back(std::move(first));
        while (acceptOp(",")) {
            if (cur().type == TokenType::BlockEnd || cur().type == TokenType::VarEnd || isOp(")")) break;
            list->items.push_back(parseExpression(withCondExpr));
        }
        return list;
    }

    ExprPtr parseExpression(bool withCondExpr) {
        DepthGuard guard(*this);
        return withCondExpr ? parseCondExpr() : parseOr();
    }

    ExprPtr parseCondExpr() {
        ExprPtr expr = parseOr();
        while (isName("if")) {
            auto c = node<CondExpr>(advance().pos);
            c->cond = parseOr();
            if (acceptName("else")) c->otherwise = parseCondExpr();
            c->then = std::move(expr);
            expr = std::move(c);
        }
        return expr;
    }

    ExprPtr parseOr() {
        ExprPtr left = parseAnd();
        while (isName("or")) {
            auto l = node<LogicExpr>(advance().pos);
            l->isAnd = false;
            l->left = std::move(left);
            l->right = parseAnd();
            left = std::move(l);
        }
        return left;
    }

    ExprPtr parseAnd() {
        ExprPtr left = parseNot();
        while (isName("and")) {
            auto l = node<LogicExpr>(advance().pos);
            l->left = std::move(left);
            l->right = parseNot();
            left = std::move(l);
        }
        return left;
    }

    ExprPtr parseNot() {
        if (isName("not")) {
            DepthGuard guard(*this);
            auto u = node<UnaryExpr>(advance().pos);
            u->op = '!';
            u->operand = parseNot();
            return u;
        }
        return parseCompare();
    }

    ExprPtr parseCompare() {
        SourcePos pos = cur().pos;
        ExprPtr first = parseMath1();
        std::unique_ptr<CompareExpr> cmp;
        for (;;) {
            std::string op;
            if (cur().type == TokenType::Operator &&
                (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == ">" ||
                 cur().text == "<=" || cur().text == ">=")) {
                op = advance().text;
            } else if (isName("in")) {
                advance();
                op = "in";
            } else if (isName("not") && peek().type == TokenType::Name && peek().text == "in") {
                advance();
                advance();
                op = "not in";
            } else {
                break;
            }
            if (!cmp) {
                cmp = node<CompareExpr>(pos);
                cmp->first = std::move(first);
            }
            cmp->rest.emplace_back(op, parseMath1());
        }
        if (cmp) return cmp;
        return first;
    }

    ExprPtr binary(const std::string& op, SourcePos pos, ExprPtr left, ExprPtr right) {
        auto b = node<BinaryExpr>(pos);
        b->op = op;
        b->left = std::move(left);
        b->right = std::move(right);
        return b;
    }

    ExprPtr parseMath1() {
        ExprPtr left = parseConcat();
        while (isOp("+") || isOp("-")) {
            const Token& t = advance();
            left = binary(t.text, t.pos, std::move(left), parseConcat());
        }
        return left;
    }

    ExprPtr parseConcat() {
        ExprPtr left = parseMath2();
        while (isOp("~")) {
            const Token& t = advance();
            left = binary("~", t.pos, std::move(left), parseMath2());
        }
        return left;
    }

    ExprPtr parseMath2() {
        ExprPtr left = parsePow();
        while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
            const Token& t = advance();
            left = binary(t.text, t.pos, std::move(left), parsePow());
        }
        return left;
    }

    ExprPtr parsePow() {
        ExprPtr left = parseUnary(true);
        while (isOp("**")) {
            const Token& t = advance();
            left = binary("**", t.pos, std::move(left), parseUnary(true));
        }
        return left;
    }

    ExprPtr parseUnary(bool withFilter) {
        DepthGuard guard(*this);
        ExprPtr expr;
        if (isOp("-") || isOp("+")) {
            const Token& t = advance();
            auto u = node<UnaryExpr>(t.pos);
            u->op = t.text[0];
            u->operand = parseUnary(false);
            expr = std::move(u);
        } else {
            expr = parsePrimary();
        }
        expr = parsePostfix(std::move(expr));
        if (withFilter) expr = parseFilterExpr(std::move(expr));
        return expr;
    }

    ExprPtr literal(SourcePos pos, Value v) {
        auto l = node<LiteralExpr>(pos);
        l->value = std::move(v);
        return l;
    }

    ExprPtr parsePrimary() {
        const Token& t = cur();
        switch (t.type) {
        case TokenType::Name: {
            advance();
            if (t.text == "true" || t.text == "True") return literal(t.pos, Value(true));
            if (t.text == "false" || t.text == "False") return literal(t.pos, Value(false));
            if (t.text == "none" || t.text == "None") return literal(t.pos, Value::none());
            auto n = node<NameExpr>(t.pos);
            n->name = t.text;
            return n;
        }
        case TokenType::String: {
            std::string s = advance().text;
            while (cur().type == TokenType::String) s += advance().text;  // "a" "b" -> "ab"
            return literal(t.pos, Value(std::move(s)));
        }
        case TokenType::Integer: {
            advance();
            int64_t v = 0;
            auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
            if (ec != std::errc()) return literal(t.pos, Value(std::strtod(t.text.c_str(), nullptr)));
            return literal(t.pos, Value(v));
        }
        case TokenType::Float:
            advance();
            return literal(t.pos, Value(std::strtod(t.text.c_str(), nullptr)));
        case TokenType::Operator:
            if (t.text == "(") return parseParenthesized();
            if (t.text == "[") return parseList();
            if (t.text == "{") return parseDict();
            break;
        default:
            break;
        }
        fail(t, "unexpected " + describe(t) + " in an expression");
    }

    ExprPtr parseParenthesized() {
        SourcePos pos = advance().pos;
        if (acceptOp(")")) {
            auto l = node<ListExpr>(pos);
            l->tuple = true;
            return l;
        }
        ExprPtr first = parseExpression(true);
        if (acceptOp(")")) return first;
        auto l = node<ListExpr>(pos);
        l->tuple = true;
        l->items.push_back(std::move(first));
        while (acceptOp(",")) {
            if (isOp(")")) break;
            l->items.push_back(parseExpression(true));
        }
        expectOp(")");
        return l;
    }

    ExprPtr parseList() {
        auto l = node<ListExpr>(advance().pos);
        while (!acceptOp("]")) {
            if (!l->items.empty()) {
                expectOp(",");
                if (acceptOp("]")) break;
            }
            l->items.push_back(parseExpression(true));
        }
        return l;
    }

    ExprPtr parseDict() {
        auto d = node<DictExpr>(advance().pos);
        while (!acceptOp("}")) {
            if (!d->items.empty()) {
                expectOp(",");
                if (acceptOp("}")) break;
            }
            ExprPtr key = parseExpression(true);
            expectOp(":");
            d->items.emplace_back(std::move(key), parseExpression(true));
        }
        return d;
    }

    ExprPtr parsePostfix(ExprPtr expr) {
        for (;;) {
            if (isOp(".")) {
                const Token& dot = advance();
                if (cur().type == TokenType::Integer) {  // x.0 is x[0]
                    auto item = node<ItemExpr>(dot.pos);
                    item->object = std::move(expr);
                    const Token& index = advance();
                    int64_t value = 0;
                    auto [end, ec] = std::from_chars(index.text.data(), index.text.data() + index.text.size(), value);
                    if (ec != std::errc()) fail(index, "index " + index.text + " is too large");
                    item->key = literal(index.pos, Value(value));
                    expr = std::move(item);
                    continue;
                }
                auto a = node<AttrExpr>(dot.pos);
                a->object = std::move(expr);
                a->name = expectName("an attribute name");
                expr = std::move(a);
            } else if (isOp("[")) {
                expr = parseSubscript(std::move(expr));
            } else if (isOp("(")) {
                expr = parseCall(std::move(expr));
            } else {
                return expr;
            }
        }
    }

    ExprPtr parseSubscript(ExprPtr object) {
        SourcePos pos = advance().pos;
        ExprPtr start;
        if (!isOp(":")) {
            start = parseExpression(true);
            if (acceptOp("]")) {
                auto item = node<ItemExpr>(pos);
                item->object = std::move(object);
                item->key = std::move(start);
                return item;
            }
        }
        auto s = node<SliceExpr>(pos);
        s->object = std::move(object);
        s->start = std::move(start);
        expectOp(":");
        if (!isOp(":") && !isOp("]")) s->stop = parseExpression(true);
        if (acceptOp(":") && !isOp("]")) s->step = parseExpression(true);
        expectOp("]");
        return s;
    }

    void parseArgs(std::vector<ExprPtr>& args, NamedArgs& named) {
        expectOp("(");
        while (!acceptOp(")")) {
            if (!args.empty() || !named.empty()) {
                expectOp(",");
                if (acceptOp(")")) break;
            }
            if (isOp("*") || isOp("**")) fail(cur(), "*args and **kwargs are not supported");
            if (cur().type == TokenType::Name && peek().type == TokenType::Operator && peek().text == "=") {
                std::string name = advance().text;
                advance();
                named.emplace_back(std::move(name), parseExpression(true));
            } else {
                if (!named.empty()) fail(cur(), "positional argument after a keyword argument");
                args.push_back(parseExpression(true));
            }
        }
    }

    ExprPtr parseCall(ExprPtr callee) {
        auto c = node<CallExpr>(cur().pos);
        c->callee = std::move(callee);
        parseArgs(c->args, c->named);
        return c;
    }

    std::unique_ptr<FilterExpr> parseFilter(ExprPtr subject) {
        auto f = node<FilterExpr>(cur().pos);
        f->object = std::move(subject);
        f->name = expectName("a filter name");
        while (acceptOp(".")) f->name += "." + expectName("a filter name");
        if (isOp("(")) parseArgs(f->args, f->named);
        return f;
    }

    ExprPtr parseFilterExpr(ExprPtr expr) {
        for (;;) {
            if (acceptOp("|")) {
                expr = parseFilter(std::move(expr));
            } else if (isName("is")) {
                expr = parseTest(std::move(expr));
            } else if (isOp("(")) {
                expr = parseCall(std::move(expr));
            } else {
                return expr;
            }
        }
    }

    ExprPtr parseTest(ExprPtr subject) {
        auto t = node<TestExpr>(advance().pos);
        t->object = std::move(subject);
        if (acceptName("not")) t->negated = true;
        t->name = expectName("a test name");
        while (acceptOp(".")) t->name += "." + expectName("a test name");
        if (isOp("(")) {
            NamedArgs named;
            parseArgs(t->args, named);
            if (!named.empty()) fail(cur(), "tests take no keyword arguments");
        } else if ((cur().type == TokenType::Name || cur().type == TokenType::String ||
                    cur().type == TokenType::Integer || cur().type == TokenType::Float || isOp("[") ||
                    isOp("{")) &&
                   !isName("else") && !isName("or") && !isName("and") && !isName("if") && !isName("in") &&
                   !isName("not") && !isName("is")) {
            // `x is divisibleby 3`, `x is sameas none`: one argument without parentheses.
            t->args.push_back(parsePostfix(parsePrimary()));
        }
        return t;
    }
};

}  // namespace

std::unique_ptr<Program> parse(std::string_view source) { return Parser(lex(source)).run(); }

}  // namespace hearth::tmpl
