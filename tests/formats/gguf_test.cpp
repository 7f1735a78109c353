// GGUF write -> read round trips (every metadata type, arrays of each, alignment variants), the
// writer's partial-file discipline, and a cross-check with the reference JS parser.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "models/formats/gguf.h"
#include "models/formats/model_spec.h"

using namespace hearth;
using namespace hearth::gguf;

namespace {

std::vector<std::pair<std::string, Value>> everyType() {
    std::vector<std::pair<std::string, Value>> kv = {
        {"test.u8", Value{uint8_t{200}}},
        {"test.i8", Value{int8_t{-100}}},
        {"test.u16", Value{uint16_t{60000}}},
        {"test.i16", Value{int16_t{-30000}}},
        {"test.u32", Value{uint32_t{4000000000u}}},
        {"test.i32", Value{int32_t{-2000000000}}},
        {"test.f32", Value{1.5f}},
        {"test.bool_true", Value{true}},
        {"test.bool_false", Value{false}},
        {"test.string", Value{std::string("héllo, wörld ✓")}},
        {"test.empty_string", Value{std::string()}},
        {"test.u64", Value{uint64_t{18000000000000000000ull}}},
        {"test.i64", Value{int64_t{-9000000000000000000ll}}},
        {"test.f64", Value{3.141592653589793}},
    };
    // One array per scalar type, built from the scalars above.
    std::vector<std::pair<std::string, Value>> arrays;
    for (const auto& [k, v] : kv) {
        Array a;
        a.elementType = v.type();
        a.items = {v, v, v};
        arrays.emplace_back(k + ".array", Value{a});
    }
    Array empty;
    empty.elementType = ValueType::Int32;
    arrays.emplace_back("test.empty_array", Value{empty});
    kv.insert(kv.end(), arrays.begin(), arrays.end());
    return kv;
}

struct PlannedTensor {
    std::string name;
    DType type;
    std::vector<uint64_t> shape;
    std::vector<uint8_t> bytes;
};

std::vector<PlannedTensor> someTensors() {
    std::vector<PlannedTensor> ts = {
        {"token_embd.weight", DType::F32, {8, 3}, {}},
        {"blk.0.attn_q.weight", DType::F16, {16, 2, 1}, {}},
        {"blk.0.ffn_up.weight", DType::Q8_0, {64, 2}, {}},
        {"blk.0.ffn_down.weight", DType::Q4_K, {256, 1, 1, 2}, {}},
        {"output_norm.weight", DType::F32, {5}, {}},  // 20 bytes: needs padding after it
    };
    uint8_t seed = 1;
    for (auto& t : ts) {
        uint64_t rows = 1;
        for (size_t i = 1; i < t.shape.size(); ++i) rows *= t.shape[i];
        t.bytes.resize(*dtypeRowBytes(t.type, t.shape[0]) * rows);
        for (auto& b : t.bytes) b = seed = static_cast<uint8_t>(seed * 31 + 7);
    }
    return ts;
}

void writeFile(const std::string& path, uint32_t alignment, bool setAlignment) {
    GgufWriter w;
    w.set("general.architecture", Value{std::string("llama")});
    for (auto& [k, v] : everyType()) w.set(k, v);
    if (setAlignment) w.setAlignment(alignment);
    auto ts = someTensors();
    for (auto& t : ts) w.addTensor(t.name, t.type, t.shape);
    uint64_t planned = w.plannedFileSize();
    w.begin(path);
    for (auto& t : ts) {
        // Stream in two pieces to exercise partial tensor writes.
        size_t half = t.bytes.size() / 2;
        w.writeTensorData(t.name, std::span<const uint8_t>(t.bytes.data(), half));
        w.writeTensorData(t.name, std::span<const uint8_t>(t.bytes.data() + half, t.bytes.size() - half));
    }
    w.commit();
    QCOMPARE(std::filesystem::file_size(path), planned);
}

nlohmann::json runNode(const char* script, const QString& file) {
    QProcess node;
    node.start("node", {QStringLiteral(HEARTH_TEST_DATA_DIR "/formats/") + script, file});
    if (!node.waitForFinished(60000)) {
        node.kill();
        qFatal("node did not finish");
    }
    if (node.exitCode() != 0) qFatal("%s failed: %s", script, node.readAllStandardError().constData());
    return nlohmann::json::parse(node.readAllStandardOutput().toStdString());
}

// Our Value as the JS parser reports it (64-bit integers as decimal strings).
nlohmann::json asJs(const Value& v) {
    return std::visit(
        [](const auto& x) -> nlohmann::json {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, Array>) {
                nlohmann::json arr = nlohmann::json::array();
                for (const auto& item : x.items) arr.push_back(asJs(item));
                return arr;
            } else if constexpr (std::is_same_v<T, uint64_t> || std::is_same_v<T, int64_t>) {
                return std::to_string(x);
            } else if constexpr (std::is_same_v<T, float>) {
                return static_cast<double>(x);
            } else {
                return x;
            }
        },
        v.v);
}

void compareMetadata(const GgufFile& f, const nlohmann::json& js) {
    QCOMPARE(js["metadata"].size(), f.metadata().size());
    for (const auto& [key, value] : f.metadata()) {
        QVERIFY2(js["metadata"].contains(key), key.c_str());
        const auto& entry = js["metadata"][key];
        QCOMPARE(entry["type"].get<uint32_t>(), static_cast<uint32_t>(value.type()));
        if (const Array* a = value.asArray())
            QCOMPARE(entry["subType"].get<uint32_t>(), static_cast<uint32_t>(a->elementType));
        QVERIFY2(entry["value"] == asJs(value), (key + ": " + entry["value"].dump()).c_str());
    }
}

void compareWithReferenceParser(const QString& path) {
    GgufFile f = GgufFile::open(path.toStdString());
    nlohmann::json js = runNode("gguf_oracle.mjs", path);
    QCOMPARE(js["version"].get<uint32_t>(), f.version());
    QCOMPARE(js["tensorDataOffset"].get<std::string>(), std::to_string(f.dataOffset()));
    compareMetadata(f, js);
    QCOMPARE(js["tensors"].size(), f.tensors().size());
    for (size_t i = 0; i < f.tensors().size(); ++i) {
        const auto& jt = js["tensors"][i];
        const auto& t = f.tensors()[i];
        QCOMPARE(jt["name"].get<std::string>(), t.name);
        QCOMPARE(jt["dtype"].get<uint32_t>(), static_cast<uint32_t>(t.type));
        QCOMPARE(jt["offset"].get<std::string>(), std::to_string(t.offset));
        QCOMPARE(jt["shape"].size(), t.shape.size());
        for (size_t k = 0; k < t.shape.size(); ++k)
            QCOMPARE(jt["shape"][k].get<std::string>(), std::to_string(t.shape[k]));
    }
}

}  // namespace

class GgufTest : public QObject {
    Q_OBJECT
private slots:
    void roundTrip_data() {
        QTest::addColumn<uint>("alignment");
        QTest::addColumn<bool>("explicitAlignment");
        QTest::newRow("default 32") << 32u << false;
        QTest::newRow("1") << 1u << true;
        QTest::newRow("8") << 8u << true;
        QTest::newRow("64") << 64u << true;
        QTest::newRow("4096") << 4096u << true;
    }

    void roundTrip() {
        QFETCH(uint, alignment);
        QFETCH(bool, explicitAlignment);
        QTemporaryDir dir;
        std::string path = dir.filePath("model.gguf").toStdString();
        writeFile(path, alignment, explicitAlignment);
        QVERIFY(!std::filesystem::exists(path + ".partial"));

        GgufFile f = GgufFile::open(path);
        QCOMPARE(f.version(), 3u);
        QCOMPARE(f.alignment(), uint64_t{alignment});
        QCOMPARE(f.dataOffset() % alignment, uint64_t{0});
        auto expected = everyType();
        expected.insert(expected.begin(), {"general.architecture", Value{std::string("llama")}});
        if (explicitAlignment) expected.emplace_back("general.alignment", Value{uint32_t{alignment}});
        QCOMPARE(f.metadata().size(), expected.size());
        for (size_t i = 0; i < expected.size(); ++i) {
            QCOMPARE(f.metadata()[i].first, expected[i].first);
            QVERIFY2(f.metadata()[i].second == expected[i].second, expected[i].first.c_str());
            QCOMPARE(f.metadata()[i].second.type(), expected[i].second.type());
        }
        auto ts = someTensors();
        QCOMPARE(f.tensors().size(), ts.size());
        for (size_t i = 0; i < ts.size(); ++i) {
            const TensorInfo& t = f.tensors()[i];
            QCOMPARE(t.name, ts[i].name);
            QCOMPARE(t.type, ts[i].type);
            QCOMPARE(t.shape, ts[i].shape);
            QCOMPARE(t.offset % alignment, uint64_t{0});
            QCOMPARE(t.bytes, uint64_t{ts[i].bytes.size()});
            QVERIFY(std::memcmp(t.data, ts[i].bytes.data(), t.bytes) == 0);
            QCOMPARE(f.tensor(t.name), &t);
        }
        QCOMPARE(f.getString("test.string").value(), std::string("héllo, wörld ✓"));
        QCOMPARE(f.getUInt("test.u64").value(), uint64_t{18000000000000000000ull});
        QVERIFY(!f.getUInt("test.i64"));  // negative: no unsigned view
        QCOMPARE(f.find("test.i8")->asInt().value(), int64_t{-100});
        QCOMPARE(f.getFloat("test.u16").value(), 60000.0);
        QCOMPARE(f.getBool("test.bool_true").value(), true);
        QCOMPARE(f.getArray("test.string.array")->items.size(), size_t{3});
        QVERIFY(!f.find("missing.key"));

        // The same bytes through fromMemory.
        std::ifstream in(path, std::ios::binary);
        std::vector<uint8_t> image((std::istreambuf_iterator<char>(in)), {});
        GgufFile m = GgufFile::fromMemory(image, "copy");
        QCOMPARE(m.metadata().size(), f.metadata().size());
        QCOMPARE(m.dataOffset(), f.dataOffset());
    }

    void referenceParserReadsOurFiles_data() { roundTrip_data(); }
    void referenceParserReadsOurFiles() {
        QFETCH(uint, alignment);
        QFETCH(bool, explicitAlignment);
        QTemporaryDir dir;
        QString path = dir.filePath("model.gguf");
        writeFile(path.toStdString(), alignment, explicitAlignment);
        compareWithReferenceParser(path);
    }

    // A file written by the independent Python writer of make_corrupt.py.
    void referenceParserAgreesOnPythonFile() {
        compareWithReferenceParser(QStringLiteral(HEARTH_TEST_DATA_DIR "/formats/data/tiny_llama.gguf"));
    }

    // A file written by the reference library itself.
    void readsFileWrittenByReferenceLibrary() {
        QTemporaryDir dir;
        QString path = dir.filePath("js.gguf");
        nlohmann::json written = runNode("gguf_js_writer.mjs", path);
        GgufFile f = GgufFile::open(path.toStdString());
        QCOMPARE(f.version(), 3u);
        QVERIFY(f.tensors().empty());
        compareMetadata(f, written);
        QCOMPARE(f.getString("js.string").value(), std::string("¿ünïcödé? 🦙"));
        QCOMPARE(f.find("js.i64")->asInt().value(), int64_t{-1234567890123456789ll});
    }

    void partialFileRemovedWithoutCommit() {
        QTemporaryDir dir;
        std::string path = dir.filePath("x.gguf").toStdString();
        {
            GgufWriter w;
            w.addTensor("a", DType::F32, {4});
            w.begin(path);
            QVERIFY(std::filesystem::exists(path + ".partial"));
            QVERIFY(!std::filesystem::exists(path));
            std::vector<uint8_t> half(8);
            w.writeTensorData("a", half);
            QVERIFY_THROWS_EXCEPTION(FormatError, w.commit());  // 8 of 16 bytes
        }
        QVERIFY(!std::filesystem::exists(path + ".partial"));
        QVERIFY(!std::filesystem::exists(path));

        GgufWriter w;
        w.addTensor("a", DType::F32, {4});
        w.begin(path);
        w.abort();
        QVERIFY(!std::filesystem::exists(path + ".partial"));
    }

    void writerRefusesMistakes() {
        GgufWriter w;
        w.addTensor("a", DType::F32, {4});
        QVERIFY_THROWS_EXCEPTION(FormatError, w.addTensor("a", DType::F32, {4}));       // duplicate
        QVERIFY_THROWS_EXCEPTION(FormatError, w.addTensor("b", DType::Q4_0, {31}));     // partial block
        QVERIFY_THROWS_EXCEPTION(FormatError, w.addTensor("c", DType::F32, {1, 0}));    // zero dim
        QVERIFY_THROWS_EXCEPTION(FormatError, w.addTensor("d", DType::F32, {1, 1, 1, 1, 1}));
        QVERIFY_THROWS_EXCEPTION(FormatError, w.addTensor("", DType::F32, {1}));
        QVERIFY_THROWS_EXCEPTION(FormatError, w.setAlignment(48));
        QVERIFY_THROWS_EXCEPTION(FormatError, w.set("general.alignment", Value{uint32_t{64}}));  // after addTensor
        GgufWriter fresh;
        QVERIFY_THROWS_EXCEPTION(FormatError, fresh.set("general.alignment", Value{uint64_t{64}}));  // not u32
        Array nested;
        nested.elementType = ValueType::Array;
        QVERIFY_THROWS_EXCEPTION(FormatError, w.set("k", Value{nested}));
        Array mixed;
        mixed.elementType = ValueType::UInt8;
        mixed.items = {Value{uint8_t{1}}, Value{int8_t{1}}};
        QVERIFY_THROWS_EXCEPTION(FormatError, w.set("k", Value{mixed}));

        QTemporaryDir dir;
        GgufWriter w2;
        w2.addTensor("a", DType::F32, {1});
        w2.addTensor("b", DType::F32, {1});
        w2.begin(dir.filePath("y.gguf").toStdString());
        std::vector<uint8_t> four(4), five(5);
        QVERIFY_THROWS_EXCEPTION(FormatError, w2.writeTensorData("b", four));  // out of order
        QVERIFY_THROWS_EXCEPTION(FormatError, w2.writeTensorData("a", five));  // too many bytes
    }

    void setReplacesEarlierValue() {
        QTemporaryDir dir;
        std::string path = dir.filePath("z.gguf").toStdString();
        GgufWriter w;
        w.set("k", Value{uint32_t{1}});
        w.set("j", Value{uint32_t{2}});
        w.set("k", Value{std::string("two")});
        w.begin(path);
        w.commit();
        GgufFile f = GgufFile::open(path);
        QCOMPARE(f.metadata().size(), size_t{2});
        QCOMPARE(f.metadata()[0].first, std::string("k"));
        QCOMPARE(f.getString("k").value(), std::string("two"));
        QVERIFY(f.tensors().empty());
    }

    // general.alignment copied in as plain metadata (as a converter might) takes effect too.
    void alignmentSetAsMetadata() {
        QTemporaryDir dir;
        std::string path = dir.filePath("a.gguf").toStdString();
        GgufWriter w;
        w.set("general.alignment", Value{uint32_t{128}});
        w.addTensor("a", DType::F32, {3});
        w.addTensor("b", DType::F32, {3});
        w.begin(path);
        w.writeTensorData("a", std::vector<uint8_t>(12, 1));
        w.writeTensorData("b", std::vector<uint8_t>(12, 2));
        w.commit();
        GgufFile f = GgufFile::open(path);
        QCOMPARE(f.alignment(), uint64_t{128});
        QCOMPARE(f.tensor("b")->offset, uint64_t{128});
        QCOMPARE(f.tensor("b")->data[0], uint8_t{2});
    }

    void openErrorsNameTheFile() {
        try {
            GgufFile::open("/nonexistent/x.gguf");
            QFAIL("opened a missing file");
        } catch (const FormatError& e) {
            QVERIFY(QString(e.what()).startsWith("/nonexistent/x.gguf: cannot open"));
        }
        QTemporaryDir dir;
        try {
            GgufFile::open(dir.path().toStdString());
            QFAIL("opened a folder");
        } catch (const FormatError& e) {
            QVERIFY(QString(e.what()).contains("is a directory"));
        }
    }

    void readsVersion2() {
        QTemporaryDir dir;
        std::string path = dir.filePath("v2.gguf").toStdString();
        writeFile(path, 32, false);
        std::vector<uint8_t> image;
        {
            std::ifstream in(path, std::ios::binary);
            image.assign(std::istreambuf_iterator<char>(in), {});
        }
        image[4] = 2;  // v2 and v3 share the layout on little-endian machines
        GgufFile f = GgufFile::fromMemory(image);
        QCOMPARE(f.version(), 2u);
        image[4] = 1;
        try {
            GgufFile::fromMemory(image, "old.gguf");
            QFAIL("version 1 accepted");
        } catch (const FormatError& e) {
            QVERIFY(QString(e.what()).contains("version 1"));
            QVERIFY(QString(e.what()).startsWith("old.gguf: version at byte 4"));
        }
    }

    void specFromGgufReadsStandardKeys() {
        QTemporaryDir dir;
        std::string path = dir.filePath("spec.gguf").toStdString();
        GgufWriter w;
        w.set("general.architecture", Value{std::string("qwen3")});
        w.set("general.name", Value{std::string("Tiny Qwen3")});
        w.set("qwen3.embedding_length", Value{uint32_t{64}});
        w.set("qwen3.block_count", Value{uint32_t{2}});
        w.set("qwen3.attention.head_count", Value{uint32_t{4}});
        w.set("qwen3.attention.head_count_kv", Value{uint32_t{2}});
        w.set("qwen3.attention.key_length", Value{uint32_t{32}});
        w.set("qwen3.attention.value_length", Value{uint32_t{32}});
        w.set("qwen3.rope.dimension_count", Value{uint32_t{32}});
        w.set("qwen3.feed_forward_length", Value{uint32_t{128}});
        w.set("qwen3.context_length", Value{uint32_t{4096}});
        w.set("qwen3.rope.freq_base", Value{1000000.0f});
        w.set("qwen3.attention.layer_norm_rms_epsilon", Value{1e-6f});
        w.set("qwen3.rope.scaling.type", Value{std::string("yarn")});
        w.set("qwen3.rope.scaling.factor", Value{4.0f});
        w.set("qwen3.rope.scaling.original_context_length", Value{uint32_t{1024}});
        w.set("tokenizer.ggml.bos_token_id", Value{uint32_t{1}});
        w.set("tokenizer.ggml.eos_token_id", Value{uint32_t{2}});
        w.set("tokenizer.ggml.eot_token_id", Value{uint32_t{3}});
        Array tokens;
        tokens.elementType = ValueType::String;
        for (int i = 0; i < 10; ++i) tokens.items.push_back(Value{"t" + std::to_string(i)});
        w.set("tokenizer.ggml.tokens", Value{tokens});
        w.addTensor("token_embd.weight", DType::F32, {64, 10});
        w.addTensor("blk.0.attn_q_norm.weight", DType::F32, {32});
        w.begin(path);
        w.writeTensorData("token_embd.weight", std::vector<uint8_t>(64 * 10 * 4));
        w.writeTensorData("blk.0.attn_q_norm.weight", std::vector<uint8_t>(32 * 4));
        w.commit();

        ModelSpec s = specFromGguf(GgufFile::open(path));
        QCOMPARE(s.architecture, std::string("qwen3"));
        QCOMPARE(s.name, std::string("Tiny Qwen3"));
        QCOMPARE(s.hiddenSize, 64u);
        QCOMPARE(s.numLayers, 2u);
        QCOMPARE(s.numHeads, 4u);
        QCOMPARE(s.numKvHeads, 2u);
        QCOMPARE(s.headDim, 32u);
        QCOMPARE(s.ffnSize, 128u);
        QCOMPARE(s.contextLength, 4096u);
        QCOMPARE(s.vocabSize, 10u);
        QCOMPARE(s.ropeTheta, 1000000.0f);
        QCOMPARE(s.normEps, 1e-6f);
        QCOMPARE(s.ropeScaling.type, RopeScalingType::Yarn);
        QCOMPARE(s.ropeScaling.factor, 4.0f);
        QCOMPARE(s.ropeScaling.originalContextLength, 1024u);
        QVERIFY(s.tiedEmbeddings);  // no output.weight
        QVERIFY(s.qkNorm);
        QVERIFY(!s.attentionBias);
        QVERIFY(!s.ropeFreqsTensor);
        QCOMPARE(s.bosId.value(), 1);
        QCOMPARE(s.eosIds, (std::vector<int32_t>{2, 3}));
    }

    void specFromGgufRefusesOtherArchitectures() {
        QTemporaryDir dir;
        std::string path = dir.filePath("neox.gguf").toStdString();
        GgufWriter w;
        w.set("general.architecture", Value{std::string("gptneox")});
        w.begin(path);
        w.commit();
        try {
            specFromGguf(GgufFile::open(path));
            QFAIL("gptneox accepted");
        } catch (const FormatError& e) {
            QVERIFY(QString(e.what()).contains("unsupported architecture 'gptneox'"));
        }
    }
};

QTEST_GUILESS_MAIN(GgufTest)
#include "gguf_test.moc"
