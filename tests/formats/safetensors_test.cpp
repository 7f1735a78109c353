// safetensors: files written here and by the Python library (tests/fixtures), sharded checkpoints,
// and the header checks.
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>

#include "models/formats/model_spec.h"
#include "models/formats/safetensors.h"

using namespace hearth;
using namespace hearth::safetensors;

namespace {

std::vector<uint8_t> image(const std::string& header, size_t dataBytes, uint8_t fill = 0x5a) {
    std::vector<uint8_t> out(8 + header.size() + dataBytes, fill);
    uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
    return out;
}

void writeBytes(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                             static_cast<std::streamsize>(bytes.size()));
}

QString refusal(const std::vector<uint8_t>& bytes) {
    try {
        SafetensorsFile::fromMemory(bytes, "w.safetensors");
    } catch (const FormatError& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

const char* kTwo = R"({"__metadata__":{"format":"pt"},)"
                   R"("b":{"dtype":"F16","shape":[2,3],"data_offsets":[16,28]},)"
                   R"("a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";

}  // namespace

class SafetensorsTest : public QObject {
    Q_OBJECT
private slots:
    void singleFile() {
        auto bytes = image(std::string(kTwo) + "    ", 28);  // trailing spaces pad headers
        for (int i = 0; i < 28; ++i) bytes[bytes.size() - 28 + i] = static_cast<uint8_t>(i);
        auto f = SafetensorsFile::fromMemory(bytes);
        QCOMPARE(f.tensors().size(), size_t{2});
        QCOMPARE(f.tensors()[0].name, std::string("a"));  // data order, not header order
        const TensorView* b = f.tensor("b");
        QVERIFY(b);
        QCOMPARE(b->dtype, Dtype::F16);
        QCOMPARE(b->shape, (std::vector<uint64_t>{2, 3}));
        QCOMPARE(b->elements(), uint64_t{6});
        QCOMPARE(b->bytes, uint64_t{12});
        QCOMPARE(b->data[0], uint8_t{16});
        QCOMPARE(f.metadata().at("format"), std::string("pt"));
        QVERIFY(!f.tensor("c"));
        QCOMPARE(dtypeName(Dtype::BF16), std::string_view("BF16"));
        QCOMPARE(dtypeSize(Dtype::F64), size_t{8});
    }

    void scalarsAndEmptyTensors() {
        auto f = SafetensorsFile::fromMemory(image(
            R"({"s":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"e":{"dtype":"U8","shape":[0,5],"data_offsets":[8,8]}})",
            8));
        QCOMPARE(f.tensor("s")->elements(), uint64_t{1});
        QCOMPARE(f.tensor("e")->bytes, uint64_t{0});
    }

    void refusals_data() {
        QTest::addColumn<QByteArray>("header");
        QTest::addColumn<int>("dataBytes");
        QTest::addColumn<QString>("expected");
        auto row = [](const char* name, const char* header, int data, const char* expected) {
            QTest::newRow(name) << QByteArray(header) << data << QString(expected);
        };
        row("not json", "{\"a\":", 0, "not valid JSON");
        row("not object", "[1]", 0, "does not start with '{'");
        row("unknown dtype", R"({"a":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}})", 1, "unknown dtype 'F7'");
        row("no shape", R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4, "has no \"shape\"");
        row("size mismatch", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4, "shape and dtype need 8");
        row("reversed", R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", 4, "end is before begin");
        row("past end", R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", 4, "runs past the end");
        row("overlap", R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
            6, "overlaps");
        row("gap", R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", 4, "gap of 2 bytes");
        row("trailing", R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 4, "belong to no tensor");
        row("duplicate", R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
            2, "duplicate tensor name 'a'");
        row("negative dim", R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", 1, "non-negative");
        row("overflow", R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,1]}})", 1, "overflows");
        row("metadata", R"({"__metadata__":{"k":1}})", 0, "is not a string");
        row("deep", R"({"a":{"dtype":"U8","shape":[[[1]]],"data_offsets":[0,1]}})", 1, "nested deeper");
        row("bad utf8", "{\"\xff\":1}", 0, "not valid JSON");
    }

    void refusals() {
        QFETCH(QByteArray, header);
        QFETCH(int, dataBytes);
        QFETCH(QString, expected);
        QString message = refusal(image(header.toStdString(), static_cast<size_t>(dataBytes)));
        QVERIFY2(message.startsWith("w.safetensors: "), qPrintable(message));
        QVERIFY2(message.contains(expected), qPrintable(message));
    }

    void headerLengthChecks() {
        std::vector<uint8_t> huge(16, 0);
        uint64_t n = 1ull << 40;
        std::memcpy(huge.data(), &n, 8);
        QVERIFY(refusal(huge).contains("exceeds"));
        n = 100;
        std::memcpy(huge.data(), &n, 8);
        QVERIFY(refusal(huge).contains("runs past the end"));
        QVERIFY(refusal({1, 2, 3}).contains("too short"));
    }

    void shardedCheckpoint() {
        QTemporaryDir dir;
        std::filesystem::path folder = dir.path().toStdString();
        writeBytes(folder / "model-00001-of-00002.safetensors",
                   image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8));
        writeBytes(folder / "model-00002-of-00002.safetensors",
                   image(R"({"y":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},"z":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})", 8));
        std::ofstream(folder / "model.safetensors.index.json")
            << R"({"metadata":{"total_size":22},"weight_map":{"x":"model-00001-of-00002.safetensors",)"
               R"("y":"model-00002-of-00002.safetensors","z":"model-00002-of-00002.safetensors"}})";
        auto ck = SafetensorsCheckpoint::open(folder);
        QCOMPARE(ck.tensorNames(), (std::vector<std::string>{"x", "y", "z"}));
        QCOMPARE(ck.tensor("y")->dtype, Dtype::BF16);
        QCOMPARE(ck.totalBytes(), uint64_t{16});

        std::ofstream(folder / "model.safetensors.index.json")
            << R"({"weight_map":{"x":"model-00001-of-00002.safetensors","w":"model-00001-of-00002.safetensors"}})";
        QVERIFY_THROWS_EXCEPTION(FormatError, SafetensorsCheckpoint::open(folder));  // w is missing
        std::ofstream(folder / "model.safetensors.index.json") << R"({"weight_map":{"x":"../../etc/passwd"}})";
        QVERIFY_THROWS_EXCEPTION(FormatError, SafetensorsCheckpoint::open(folder));
        std::ofstream(folder / "model.safetensors.index.json") << R"({"weight_map":{"x":"gone.safetensors"}})";
        QVERIFY_THROWS_EXCEPTION(FormatError, SafetensorsCheckpoint::open(folder));
    }

    void emptyFolderIsRefused() {
        QTemporaryDir dir;
        try {
            SafetensorsCheckpoint::open(dir.path().toStdString());
            QFAIL("accepted an empty folder");
        } catch (const FormatError& e) {
            QVERIFY(QString(e.what()).contains("no model.safetensors"));
        }
    }

    // Files written by the Python safetensors library and configs written by transformers 5.
    void pythonFixtures_data() {
        QTest::addColumn<QString>("folder");
        QTest::addColumn<QString>("arch");
        for (const char* f : {"llama", "llama3_rope", "mistral", "qwen2", "qwen3", "chat_llama"})
            QTest::newRow(f) << QString(f) << QString(std::strcmp(f, "qwen2") == 0   ? "qwen2"
                                                      : std::strcmp(f, "qwen3") == 0 ? "qwen3"
                                                                                     : "llama");
    }
    void pythonFixtures() {
        QFETCH(QString, folder);
        QFETCH(QString, arch);
        std::filesystem::path dir = std::filesystem::path(HEARTH_TEST_DATA_DIR) / "fixtures" / folder.toStdString();
        if (!std::filesystem::exists(dir / "config.json")) QSKIP("fixture folder not present");
        auto ck = SafetensorsCheckpoint::open(dir);
        ModelSpec s = specFromHfConfig(dir / "config.json");
        QCOMPARE(QString::fromStdString(s.architecture), arch);
        const TensorView* embd = ck.tensor("model.embed_tokens.weight");
        QVERIFY(embd);
        QCOMPARE(embd->shape, (std::vector<uint64_t>{s.vocabSize, s.hiddenSize}));
        const TensorView* q = ck.tensor("model.layers.0.self_attn.q_proj.weight");
        QVERIFY(q);
        QCOMPARE(q->shape, (std::vector<uint64_t>{uint64_t{s.numHeads} * s.headDim, s.hiddenSize}));
        QCOMPARE(ck.tensor("model.layers.0.self_attn.q_proj.bias") != nullptr, s.attentionBias);
        QCOMPARE(ck.tensor("model.layers.0.self_attn.q_norm.weight") != nullptr, s.qkNorm);
        if (folder == "llama3_rope") {
            QCOMPARE(s.ropeScaling.type, RopeScalingType::Llama3);
            QCOMPARE(s.ropeScaling.factor, 8.0f);
            QCOMPARE(s.ropeScaling.originalContextLength, 64u);
            QCOMPARE(s.ropeTheta, 500000.0f);
        }
    }
};

QTEST_GUILESS_MAIN(SafetensorsTest)
#include "safetensors_test.moc"
