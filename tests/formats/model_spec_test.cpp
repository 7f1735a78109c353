// config.json -> ModelSpec for each supported family (fixtures under tests/formats/data/), the
// defaults a config may leave out, and the refusals.
#include <QtTest>

#include "models/formats/model_spec.h"

using namespace hearth;

namespace {

ModelSpec fixture(const char* name) {
    return specFromHfConfig(std::filesystem::path(HEARTH_TEST_DATA_DIR) / "formats/data" / name / "config.json");
}

QString refusal(const std::string& json) {
    try {
        specFromHfConfigText(json, "cfg.json");
    } catch (const FormatError& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

const char* kMinimal = R"({"model_type":"llama","hidden_size":64,"num_hidden_layers":2,
    "num_attention_heads":4,"intermediate_size":128,"vocab_size":100)";

}  // namespace

class ModelSpecTest : public QObject {
    Q_OBJECT
private slots:
    void llama3() {
        ModelSpec s = fixture("llama3");
        QCOMPARE(s.architecture, std::string("llama"));
        QCOMPARE(s.name, std::string("llama3"));
        QCOMPARE(s.hiddenSize, 2048u);
        QCOMPARE(s.numLayers, 16u);
        QCOMPARE(s.numHeads, 32u);
        QCOMPARE(s.numKvHeads, 8u);
        QCOMPARE(s.headDim, 64u);
        QCOMPARE(s.ffnSize, 8192u);
        QCOMPARE(s.vocabSize, 128256u);
        QCOMPARE(s.contextLength, 131072u);
        QCOMPARE(s.ropeTheta, 500000.0f);
        QCOMPARE(s.ropeScaling.type, RopeScalingType::Llama3);
        QCOMPARE(s.ropeScaling.factor, 32.0f);
        QCOMPARE(s.ropeScaling.lowFreqFactor, 1.0f);
        QCOMPARE(s.ropeScaling.highFreqFactor, 4.0f);
        QCOMPARE(s.ropeScaling.originalContextLength, 8192u);
        QCOMPARE(s.normEps, 1e-5f);
        QVERIFY(s.tiedEmbeddings);
        QVERIFY(!s.attentionBias);
        QVERIFY(!s.qkNorm);
        QCOMPARE(s.bosId.value(), 128000);
        QCOMPARE(s.eosIds, (std::vector<int32_t>{128001, 128008, 128009}));
    }

    void mistralIsLlama() {
        ModelSpec s = fixture("mistral");
        QCOMPARE(s.architecture, std::string("llama"));
        QCOMPARE(s.headDim, 128u);  // "head_dim": null -> hidden / heads
        QCOMPARE(s.numKvHeads, 8u);
        QCOMPARE(s.contextLength, 32768u);
        QCOMPARE(s.ropeTheta, 1000000.0f);
        QCOMPARE(s.ropeScaling.type, RopeScalingType::None);
        QVERIFY(!s.tiedEmbeddings);
        QCOMPARE(s.eosIds, (std::vector<int32_t>{2}));
    }

    void qwen2() {
        ModelSpec s = fixture("qwen2");
        QCOMPARE(s.architecture, std::string("qwen2"));
        QCOMPARE(s.headDim, 64u);
        QCOMPARE(s.numKvHeads, 2u);
        QVERIFY(s.attentionBias);  // qwen2 always has q/k/v biases
        QVERIFY(!s.qkNorm);
        QVERIFY(s.tiedEmbeddings);
        QCOMPARE(s.normEps, 1e-6f);
        QCOMPARE(s.ropeScaling.type, RopeScalingType::None);  // "rope_scaling": null
        QCOMPARE(s.vocabSize, 151936u);
    }

    void qwen3() {
        ModelSpec s = fixture("qwen3");
        QCOMPARE(s.architecture, std::string("qwen3"));
        QCOMPARE(s.headDim, 128u);  // explicit, != 1024 / 16
        QVERIFY(s.qkNorm);
        QVERIFY(!s.attentionBias);
        QCOMPARE(s.ropeTheta, 1000000.0f);  // an integer in the JSON
        QCOMPARE(s.ropeScaling.type, RopeScalingType::Yarn);
        QCOMPARE(s.ropeScaling.factor, 4.0f);
        QCOMPARE(s.ropeScaling.originalContextLength, 32768u);
        QCOMPARE(s.contextLength, 40960u);
    }

    void defaultsWhereTheConfigIsSilent() {
        ModelSpec s = fixture("tinyllama");
        QCOMPARE(s.ropeTheta, 10000.0f);
        QCOMPARE(s.contextLength, 2048u);  // LlamaConfig's default
        QCOMPARE(s.normEps, 1e-6f);
        QVERIFY(!s.tiedEmbeddings);
        QCOMPARE(s.ropeScaling.type, RopeScalingType::Linear);  // old "type" key
        QCOMPARE(s.ropeScaling.factor, 2.0f);

        ModelSpec m = specFromHfConfigText(std::string(kMinimal) + "}", "m");
        QCOMPARE(m.numKvHeads, 4u);
        QCOMPARE(m.headDim, 16u);
        QVERIFY(!m.bosId);
        QVERIFY(m.eosIds.empty());
    }

    void ropeParametersOfNewerTransformers() {
        ModelSpec s = specFromHfConfigText(std::string(kMinimal) +
                                               R"(,"rope_parameters":{"rope_type":"default","rope_theta":250000.0}})",
                                           "m");
        QCOMPARE(s.ropeTheta, 250000.0f);
        QCOMPARE(s.ropeScaling.type, RopeScalingType::None);
    }

    void modelTypeFromArchitectures() {
        ModelSpec s = specFromHfConfigText(R"({"architectures":["Qwen2ForCausalLM"],"hidden_size":64,
            "num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":128,"vocab_size":100})",
                                           "m");
        QCOMPARE(s.architecture, std::string("qwen2"));
    }

    void refusals_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not json") << "{\"model_type\": " << "not valid JSON";
        QTest::newRow("array") << "[1,2]" << "expected a JSON object";
        QTest::newRow("unsupported") << R"({"model_type":"gpt_neox"})" << "unsupported architecture 'gpt_neox'";
        QTest::newRow("no type") << R"({"hidden_size":1})" << "model_type";
        QTest::newRow("missing layers")
            << R"({"model_type":"qwen2","hidden_size":64,"num_attention_heads":4,"intermediate_size":8,"vocab_size":9})"
            << "num_hidden_layers: missing";
        QTest::newRow("string size") << QString(kMinimal).replace("\"hidden_size\":64", "\"hidden_size\":\"64\"") + "}"
                                     << "hidden_size: expected a whole number";
        QTest::newRow("negative") << QString(kMinimal).replace("\"vocab_size\":100", "\"vocab_size\":-5") + "}"
                                  << "vocab_size: must be positive";
        QTest::newRow("huge") << QString(kMinimal).replace("\"vocab_size\":100", "\"vocab_size\":99999999999") + "}"
                              << "out of range";
        QTest::newRow("kv heads") << QString(kMinimal) + ",\"num_key_value_heads\":3}" << "must divide";
        QTest::newRow("rope type") << QString(kMinimal) + ",\"rope_scaling\":{\"rope_type\":\"dynamic\"}}"
                                   << "unsupported rope scaling 'dynamic'";
        QTest::newRow("mlp bias") << QString(kMinimal) + ",\"mlp_bias\":true}" << "mlp_bias";
        QTest::newRow("rope theta") << QString(kMinimal) + ",\"rope_theta\":-1}" << "rope_theta";
        QTest::newRow("eos") << QString(kMinimal) + ",\"eos_token_id\":[1,\"x\"]}" << "eos_token_id";
        QTest::newRow("uneven heads") << QString(kMinimal).replace("\"hidden_size\":64", "\"hidden_size\":66") + "}"
                                      << "not a multiple of num_attention_heads";
    }

    void refusals() {
        QFETCH(QString, json);
        QFETCH(QString, expected);
        QString message = refusal(json.toStdString());
        QVERIFY2(message.startsWith("cfg.json: "), qPrintable(message));
        QVERIFY2(message.contains(expected), qPrintable(message));
    }

    void missingFile() {
        try {
            specFromHfConfig("/nonexistent/config.json");
            QFAIL("accepted a missing file");
        } catch (const FormatError& e) {
            QVERIFY(QString(e.what()).contains("/nonexistent/config.json"));
        }
    }
};

QTEST_GUILESS_MAIN(ModelSpecTest)
#include "model_spec_test.moc"
