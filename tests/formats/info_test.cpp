// `hearth info` and describeModel on valid models: a GGUF written by the independent Python writer
// in make_corrupt.py, and the Hugging Face fixture folders written by transformers.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include "models/formats/gguf.h"
#include "models/formats/model_info.h"

using namespace hearth;

namespace {

struct Run {
    int exitCode = -1;
    QString out, err;
};

Run runCli(const QStringList& args) {
    QProcess p;
    p.start(qEnvironmentVariable("HEARTH_CLI"), args);
    Run r;
    if (!p.waitForFinished(30000)) {
        p.kill();
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

const QString kTinyGguf = QStringLiteral(HEARTH_TEST_DATA_DIR "/formats/data/tiny_llama.gguf");

}  // namespace

class InfoTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QVERIFY2(!qEnvironmentVariable("HEARTH_CLI").isEmpty(), "HEARTH_CLI is not set"); }

    void ggufJson() {
        Run r = runCli({"info", kTinyGguf, "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["architecture"].get<std::string>(), std::string("llama"));
        // f16 32x16 + q8_0 32x32 + q4_k 256x2 + f32 32 + q8_0 32x16
        QCOMPARE(j["parameters"].get<uint64_t>(), uint64_t{512 + 1024 + 512 + 32 + 512});
        QCOMPARE(j["tensor_count"].get<int>(), 5);
        QCOMPARE(j["quantization"].get<std::string>(), std::string("q8_0"));  // 1632 bytes of q8_0
        QCOMPARE(j["types"]["q8_0"].get<int>(), 2);
        QCOMPARE(j["types"]["q4_k"].get<int>(), 1);
        QCOMPARE(j["types"]["f16"].get<int>(), 1);
        QCOMPARE(j["types"]["f32"].get<int>(), 1);
        QCOMPARE(j["context_length"].get<int>(), 2048);
        QCOMPARE(j["vocab_size"].get<int>(), 16);
        QCOMPARE(j["has_chat_template"].get<bool>(), true);
        QCOMPARE(j["file_size"].get<uint64_t>(), uint64_t(QFileInfo(kTinyGguf).size()));
        QCOMPARE(j["supported"].get<bool>(), true);
    }

    // The reference library's own parameter count agrees with ours.
    void parameterCountMatchesReferenceLibrary() {
        QProcess node;
        node.start("node", {QStringLiteral(HEARTH_TEST_DATA_DIR "/formats/gguf_oracle.mjs"), kTinyGguf});
        QVERIFY(node.waitForFinished(60000));
        QVERIFY2(node.exitCode() == 0, node.readAllStandardError().constData());
        auto js = nlohmann::json::parse(node.readAllStandardOutput().toStdString());
        QCOMPARE(js["parameterCount"].get<uint64_t>(), describeModel(kTinyGguf.toStdString()).parameters);
    }

    void ggufHuman() {
        Run r = runCli({"info", kTinyGguf});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.out.contains(QRegularExpression("architecture\\s+llama")));
        QVERIFY(r.out.contains(QRegularExpression("parameters\\s+2.6 K")));
        QVERIFY(r.out.contains(QRegularExpression("quantization\\s+q8_0")));
        QVERIFY(r.out.contains(QString::fromUtf8("q4_k ×1")));
        QVERIFY(r.out.contains(QRegularExpression("context length\\s+2048")));
        QVERIFY(r.out.contains(QRegularExpression("vocab size\\s+16")));
        QVERIFY(r.out.contains(QRegularExpression("chat template\\s+yes")));
    }

    void hfFolders_data() {
        QTest::addColumn<QString>("folder");
        QTest::addColumn<QString>("arch");
        QTest::addColumn<QString>("type");
        QTest::newRow("qwen2") << "qwen2" << "qwen2" << "f32";
        QTest::newRow("qwen3") << "qwen3" << "qwen3" << "f32";
        QTest::newRow("mistral") << "mistral" << "llama" << "f32";
        QTest::newRow("chat_llama") << "chat_llama" << "llama" << "f16";
    }
    void hfFolders() {
        QFETCH(QString, folder);
        QFETCH(QString, arch);
        QFETCH(QString, type);
        QString path = QStringLiteral(HEARTH_TEST_DATA_DIR "/fixtures/") + folder;
        if (!QFileInfo::exists(path + "/config.json")) QSKIP("fixture folder not present");
        Run r = runCli({"info", path, "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(QString::fromStdString(j["architecture"].get<std::string>()), arch);
        QCOMPARE(QString::fromStdString(j["quantization"].get<std::string>()), type);
        QCOMPARE(j["file_size"].get<uint64_t>(), uint64_t(QFileInfo(path + "/model.safetensors").size()));
        QVERIFY(j["has_chat_template"].is_boolean());

        ModelInfo info = describeModel(path.toStdString());
        QCOMPARE(info.parameters, j["parameters"].get<uint64_t>());
        QCOMPARE(info.tensorCount, j["tensor_count"].get<uint64_t>());
        QCOMPARE(info.vocabSize, j["vocab_size"].get<uint64_t>());
    }

    // qwen2's fixture stores lm_head.weight although the embeddings are tied: counted once, as
    // transformers' num_parameters() does.
    void tiedOutputCountedOnce() {
        QString path = QStringLiteral(HEARTH_TEST_DATA_DIR "/fixtures/qwen2");
        if (!QFileInfo::exists(path + "/config.json")) QSKIP("fixture folder not present");
        ModelInfo info = describeModel(path.toStdString());
        // 2 layers, hidden 64, 4 heads of 16, 1 kv head, ffn 128, vocab 400, q/k/v biases, tied.
        uint64_t layer = 64 * 64 + 64 + 2 * (16 * 64 + 16) + 64 * 64 + 3 * 64 * 128 + 2 * 64;
        QCOMPARE(info.parameters, uint64_t{400 * 64 + 2 * layer + 64});
    }

    void splitGgufIsDescribedAsAWhole() {
        QTemporaryDir dir;
        std::filesystem::path folder = dir.path().toStdString();
        auto writeShard = [&](int no, const char* tensor) {
            gguf::GgufWriter w;
            w.set("general.architecture", gguf::Value{std::string("test")});
            w.set("split.no", gguf::Value{uint16_t(no)});
            w.set("split.count", gguf::Value{uint16_t{2}});
            w.addTensor(tensor, DType::Q8_0, {64, 3});
            w.begin(folder / ("m-0000" + std::to_string(no + 1) + "-of-00002.gguf"));
            w.writeTensorData(tensor, std::vector<uint8_t>(3 * 2 * 34));
            w.commit();
        };
        writeShard(0, "a");
        writeShard(1, "b");
        auto first = folder / "m-00001-of-00002.gguf";
        ModelInfo info = describeModel(first);
        QCOMPARE(info.splitCount, 2u);
        QCOMPARE(info.tensorCount, uint64_t{2});
        QCOMPARE(info.parameters, uint64_t{2 * 64 * 3});
        QCOMPARE(info.fileSize, std::filesystem::file_size(first) + std::filesystem::file_size(folder / "m-00002-of-00002.gguf"));
        QVERIFY(!info.supported);

        std::filesystem::remove(folder / "m-00002-of-00002.gguf");
        Run r = runCli({"info", QString::fromStdString(first.string())});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("m-00002-of-00002.gguf: missing"), qPrintable(r.err));
    }

    void usageErrors() {
        QCOMPARE(runCli({"info"}).exitCode, 2);
        QCOMPARE(runCli({"info", kTinyGguf, "--bogus"}).exitCode, 2);
        Run r = runCli({"info", "--help"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("--json"));
        Run missing = runCli({"info", "/nonexistent/model.gguf"});
        QCOMPARE(missing.exitCode, 1);
        QVERIFY(missing.err.contains("/nonexistent/model.gguf: no such file or folder"));
    }

    void formatting() {
        QCOMPARE(formatParameterCount(1235814400), std::string("1.24 B"));
        QCOMPARE(formatParameterCount(135000000), std::string("135.0 M"));
        QCOMPARE(formatParameterCount(999), std::string("999"));
        QCOMPARE(formatFileSize(807700000), std::string("807.7 MB"));
    }
};

QTEST_GUILESS_MAIN(InfoTest)
#include "info_test.moc"
