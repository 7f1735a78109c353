// The GGUF path: a GGUF file carrying only tokenizer.ggml.* metadata (written with GgufWriter from
// each tokenizer.json) must encode the whole corpus exactly like the tokenizer.json path, and
// decode like it; unknown or missing tokenizer metadata is refused with a clear message.
#include <QTemporaryDir>
#include <QTest>

#include "inference/tokenizer/tokenizer.h"
#include "models/formats/gguf.h"
#include "tests/tokenizer/reference.h"

using hearth::Tokenizer;
namespace gguf = hearth::gguf;

namespace {

std::string join(const std::vector<int32_t>& ids) {
    std::string s;
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
    return s;
}

const Tokenizer& fromJson(const std::string& name) { return hearth::test::hfTokenizer(name); }

void setKey(hearth::test::Metadata& kv, const std::string& key, gguf::Value v) {
    for (auto& [k, value] : kv)
        if (k == key) {
            value = std::move(v);
            return;
        }
    kv.emplace_back(key, std::move(v));
}

QString errorOf(const std::string& path) {
    try {
        Tokenizer::fromGguf(gguf::GgufFile::open(path));
    } catch (const hearth::TokenizerError& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

}  // namespace

class TokenizerGgufTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        if (!QFile::exists(QString::fromStdString(hearth::test::tokenizerDir("llama3") + "/tokenizer.json")))
            QFAIL("the reference tokenizers are not installed: run `npm ci` in tests/");
    }

    void encodesLikeTokenizerJson_data() {
        QTest::addColumn<QString>("name");
        for (const auto& n : hearth::test::tokenizerNames()) QTest::newRow(n.c_str()) << QString::fromStdString(n);
    }

    void encodesLikeTokenizerJson() {
        QFETCH(QString, name);
        const std::string n = name.toStdString();
        const std::string path = dir_.filePath(name + ".gguf").toStdString();
        hearth::test::writeTokenizerGguf(n, path);
        Tokenizer fromGguf = Tokenizer::fromGguf(gguf::GgufFile::open(path));
        const Tokenizer& json = fromJson(n);
        QCOMPARE(fromGguf.vocabSize(), json.vocabSize());
        QCOMPARE(fromGguf.bosId(), json.bosId());
        int failures = 0;
        for (const auto& text : hearth::test::corpus()) {
            auto a = fromGguf.encode(text), b = json.encode(text);
            if (a != b) {
                if (++failures <= 5) qWarning("%s: %s\n  json: %s\n  gguf: %s", n.c_str(), text.c_str(), join(b).c_str(), join(a).c_str());
                continue;
            }
            // llama3's tokenizer_config.json asks for clean_up_tokenization_spaces; GGUF has no such key.
            if (n != "llama3") {
                if (fromGguf.decode(a) != json.decode(a)) ++failures;
                if (fromGguf.decode(a, true) != json.decode(a, true)) ++failures;
            }
        }
        QCOMPARE(failures, 0);
    }

    // SentencePiece GGUF files from llama.cpp carry scores instead of merges.
    void sentencePieceScores() {
        const std::string path = dir_.filePath("llama2-scores.gguf").toStdString();
        hearth::test::writeTokenizerGguf("llama2", path, [](hearth::test::Metadata& kv) {
            std::vector<std::string> merges;
            size_t tokenCount = 0;
            std::vector<std::string> tokens;
            for (auto& [k, v] : kv) {
                if (k == "tokenizer.ggml.merges")
                    for (const auto& m : v.asArray()->items) merges.push_back(*m.asString());
                if (k == "tokenizer.ggml.tokens")
                    for (const auto& t : v.asArray()->items) tokens.push_back(*t.asString());
            }
            tokenCount = tokens.size();
            std::unordered_map<std::string, size_t> ids;
            for (size_t i = 0; i < tokens.size(); ++i) ids[tokens[i]] = i;
            // A token made by an earlier merge scores higher, as in SentencePiece's model.
            std::vector<float> score(tokenCount, -1e9f);
            for (size_t r = 0; r < merges.size(); ++r) {
                size_t space = merges[r].find(' ');
                auto it = ids.find(merges[r].substr(0, space) + merges[r].substr(space + 1));
                if (it != ids.end() && score[it->second] < -static_cast<float>(r)) score[it->second] = -static_cast<float>(r);
            }
            gguf::Array scores{gguf::ValueType::Float32, {}};
            for (float s : score) scores.items.push_back(gguf::Value{s});
            kv.erase(std::remove_if(kv.begin(), kv.end(), [](const auto& e) { return e.first == "tokenizer.ggml.merges"; }),
                     kv.end());
            kv.emplace_back("tokenizer.ggml.scores", gguf::Value{std::move(scores)});
        });
        Tokenizer fromGguf = Tokenizer::fromGguf(gguf::GgufFile::open(path));
        const Tokenizer& json = fromJson("llama2");
        int failures = 0;
        for (const auto& text : hearth::test::corpus()) {
            auto a = fromGguf.encode(text), b = json.encode(text);
            if (a != b && ++failures <= 5)
                qWarning("%s\n  json: %s\n  gguf: %s", text.c_str(), join(b).c_str(), join(a).c_str());
        }
        QCOMPARE(failures, 0);
    }

    void refusesUnknownPreTokenizer() {
        const std::string path = dir_.filePath("unknown-pre.gguf").toStdString();
        hearth::test::writeTokenizerGguf("qwen3", path, [](hearth::test::Metadata& kv) {
            setKey(kv, "tokenizer.ggml.pre", gguf::Value{std::string("jais-2099")});
        });
        QString error = errorOf(path);
        QVERIFY2(error.contains("tokenizer.ggml.pre 'jais-2099' is not supported"), qPrintable(error));
        QVERIFY2(error.contains("qwen2"), qPrintable(error));  // lists what is known
    }

    void refusesOtherModels() {
        const std::string path = dir_.filePath("bert.gguf").toStdString();
        hearth::test::writeTokenizerGguf("llama2", path, [](hearth::test::Metadata& kv) {
            setKey(kv, "tokenizer.ggml.model", gguf::Value{std::string("bert")});
        });
        QVERIFY(errorOf(path).contains("tokenizer.ggml.model 'bert' is not supported"));
    }

    void refusesFileWithoutTokenizer() {
        const std::string path = dir_.filePath("empty.gguf").toStdString();
        gguf::GgufWriter w;
        w.set("general.architecture", gguf::Value{std::string("llama")});
        w.begin(path);
        w.commit();
        QVERIFY(errorOf(path).contains("no tokenizer in this file"));
    }

    void refusesMismatchedArrays() {
        const std::string path = dir_.filePath("short-types.gguf").toStdString();
        hearth::test::writeTokenizerGguf("llama2", path, [](hearth::test::Metadata& kv) {
            setKey(kv, "tokenizer.ggml.token_type", gguf::Value{gguf::Array{gguf::ValueType::Int32, {gguf::Value{int32_t{1}}}}});
        });
        QVERIFY(errorOf(path).contains("differ in length"));
    }

private:
    QTemporaryDir dir_;
};

QTEST_GUILESS_MAIN(TokenizerGgufTest)
#include "tokenizer_gguf_test.moc"
