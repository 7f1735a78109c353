// Unit tests of the tokenizer's parts: lossy UTF-8, the Oniguruma -> PCRE2 rewrite, Split
// behaviours, byte-fallback streaming, lookups, errors on bad input, and concurrent use.
#include <QTemporaryDir>
#include <QTest>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "inference/tokenizer/pre_tokenizer.h"
#include "inference/tokenizer/split_regex.h"
#include "inference/tokenizer/tokenizer.h"
#include "inference/tokenizer/utf8.h"
#include "tests/tokenizer/reference.h"

using hearth::Tokenizer;

namespace {

std::string lossy(std::string_view bytes) { return hearth::utf8::sanitize(bytes); }

std::vector<std::string> matches(const std::string& pattern, const std::string& text) {
    auto rx = hearth::SplitRegex::fromOniguruma(pattern);
    std::vector<std::string> out;
    rx.forEachMatch(text, [&](size_t b, size_t e) { out.push_back(text.substr(b, e - b)); });
    return out;
}

std::vector<std::string> split(const nlohmann::json& pre, const std::string& text) {
    auto p = hearth::PreTokenizer::fromJson(pre);
    std::deque<std::string> arena;
    std::vector<std::string> out;
    p.split(text, 0, arena, [&](std::string_view w) { out.emplace_back(w); });
    return out;
}

const Tokenizer& load(const std::string& name) { return hearth::test::hfTokenizer(name); }

QString errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const hearth::TokenizerError& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

}  // namespace

class TokenizerUnitsTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        if (!QFile::exists(QString::fromStdString(hearth::test::tokenizerDir("llama2") + "/tokenizer.json")))
            QFAIL("the reference tokenizers are not installed: run `npm ci` in tests/");
    }

    // One U+FFFD per maximal invalid subpart, as TextDecoder and from_utf8_lossy do.
    void lossyUtf8() {
        const std::string r = "\xEF\xBF\xBD";
        QCOMPARE(lossy("\xE2\x82" "A"), r + "A");
        QCOMPARE(lossy("\xF0\x9F\x98"), r);
        QCOMPARE(lossy("\xED\xA0\x80"), r + r + r);  // an encoded surrogate
        QCOMPARE(lossy("\xC0\xAF"), r + r);
        QCOMPARE(lossy("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
        QCOMPARE(lossy("a\xFF" "b"), "a" + r + "b");
        QCOMPARE(lossy("\xE2\x82\xAC"), std::string("\xE2\x82\xAC"));
        QVERIFY(!hearth::utf8::isValid("\xE2\x82"));
        QVERIFY(hearth::utf8::isValid("\xF0\x9F\x98\x80"));
    }

    void regexSemantics() {
        // (?i:...) folds ASCII only: U+017F (long s) is not 's' here, as in the reference.
        QCOMPARE(matches("(?i:'s|'t)", "'S 't '\u017f").size(), size_t(2));
        // \s is White_Space: U+0085 is, U+180E (Mongolian vowel separator) is not.
        QCOMPARE(matches("\\s+", "a\u0085b\u180Ec"), std::vector<std::string>{"\u0085"});
        QCOMPARE(matches("\\p{N}{1,3}", "12345"), (std::vector<std::string>{"123", "45"}));
        QCOMPARE(matches("\\s+(?!\\S)|\\s+", "a   b"), (std::vector<std::string>{"  ", " "}));
        // Possessive and {n}+ follow Oniguruma as the reference reads it.
        QCOMPARE(matches("a{2}+", "aaaaa"), std::vector<std::string>{"aaaa"});
        QVERIFY(!errorOf([] { hearth::SplitRegex::fromOniguruma("(unclosed"); }).isEmpty());
    }

    // The examples of the Rust crate's SplitDelimiterBehavior documentation.
    void splitBehaviours() {
        auto pre = [](const char* behavior) {
            return nlohmann::json{{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", false}};
        };
        const std::string text = "the-final--countdown";
        using V = std::vector<std::string>;
        QCOMPARE(split(pre("Removed"), text), (V{"the", "final", "countdown"}));
        QCOMPARE(split(pre("Isolated"), text), (V{"the", "-", "final", "-", "-", "countdown"}));
        QCOMPARE(split(pre("MergedWithPrevious"), text), (V{"the-", "final-", "-", "countdown"}));
        QCOMPARE(split(pre("MergedWithNext"), text), (V{"the", "-final", "-", "-countdown"}));
        QCOMPARE(split(pre("Contiguous"), text), (V{"the", "-", "final", "--", "countdown"}));
        QVERIFY(!errorOf([&] { split(pre("Sideways"), text); }).isEmpty());
    }

    // Byte-fallback tokens of one character: nothing is shown until the character is complete.
    void streamingByteFallback() {
        const Tokenizer& tok = load("llama2");
        auto ids = tok.encode("a🫨b", false);  // U+1FAE8 is not in the vocabulary: four <0xXX> tokens
        std::vector<std::string> pieces;
        hearth::StreamingDecoder stream(tok);
        std::string all;
        for (int32_t id : ids) {
            pieces.push_back(stream.push(id));
            all += pieces.back();
        }
        all += stream.flush();
        QCOMPARE(all, std::string("a🫨b"));
        int empty = 0;
        for (const auto& p : pieces) empty += p.empty() ? 1 : 0;
        QVERIFY2(empty >= 3, "the four byte tokens of 🫨 must not produce text one by one");
        // A stream cut inside a character ends with one U+FFFD, like decode().
        hearth::StreamingDecoder cut(tok);
        std::string text;
        for (size_t i = 0; i + 2 < ids.size(); ++i) text += cut.push(ids[i]);
        text += cut.flush();
        QCOMPARE(text, tok.decode(std::vector<int32_t>(ids.begin(), ids.end() - 2)));
        QVERIFY(text.find("\xEF\xBF\xBD") != std::string::npos);
    }

    void lookups() {
        const Tokenizer& tok = load("llama3");
        QCOMPARE(tok.vocabSize(), size_t(128256));
        QCOMPARE(tok.tokenId("<|begin_of_text|>"), std::optional<int32_t>(128000));
        QCOMPARE(tok.tokenText(9906), std::string_view("Hello"));
        QCOMPARE(tok.tokenId("\u0120world"), std::optional<int32_t>(1917));
        QCOMPARE(tok.bosToken(), std::string("<|begin_of_text|>"));
        QCOMPARE(tok.bosId(), std::optional<int32_t>(128000));
        auto eos = tok.eosIds();
        QVERIFY(std::find(eos.begin(), eos.end(), 128001) != eos.end());  // <|end_of_text|>
        QVERIFY(std::find(eos.begin(), eos.end(), 128009) != eos.end());  // <|eot_id|>
        QVERIFY(tok.isSpecial(128009));
        QVERIFY(!tok.isSpecial(9906));
        QCOMPARE(tok.tokenText(-1), std::string_view());
    }

    void badInput() {
        const Tokenizer& tok = load("qwen3");
        // Invalid UTF-8 reads as U+FFFD, the way a JavaScript string would hold it.
        QCOMPARE(tok.encode("a\xFF" "b"), tok.encode("a\uFFFD" "b"));
        QVERIFY(errorOf([&] { tok.decode(std::vector<int32_t>{1, 999999}); }).contains("999999"));
        QVERIFY(errorOf([&] { tok.decode(std::vector<int32_t>{-5}); }).contains("-5"));

        QTemporaryDir dir;
        QVERIFY(errorOf([&] { Tokenizer::fromModelPath(dir.filePath("missing").toStdString()); }).contains("no such file"));
        QVERIFY(errorOf([&] { Tokenizer::fromModelPath(dir.path().toStdString()); }).contains("no tokenizer.json"));
        const std::string bad = dir.filePath("tokenizer.json").toStdString();
        std::ofstream(bad) << "{\"model\": ";
        QVERIFY(errorOf([&] { Tokenizer::fromModelPath(dir.path().toStdString()); }).contains("not valid JSON"));
        std::ofstream(bad) << R"({"model": {"type": "WordPiece", "vocab": {}}, "added_tokens": [], "normalizer": null,
                               "pre_tokenizer": null, "post_processor": null, "decoder": null})";
        QVERIFY(errorOf([&] { Tokenizer::fromModelPath(bad); }).contains("WordPiece"));
        std::ofstream(bad) << R"({"model": {"type": "BPE", "vocab": "x"}})";
        QVERIFY(!errorOf([&] { Tokenizer::fromModelPath(bad); }).isEmpty());
    }

    // single_word (as the Rust crate reads it): the token is matched only where no word character
    // touches it; elsewhere its text is tokenized like any other.
    void singleWordAddedToken() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("tokenizer.json").toStdString();
        std::ofstream(path) << R"({"model": {"type": "BPE", "vocab": {"<unk>": 0, "a": 1, "b": 2, " ": 3, "<": 5, "x": 6, ">": 7},
            "merges": [], "unk_token": "<unk>"},
            "added_tokens": [{"id": 4, "content": "<x>", "single_word": true, "lstrip": false, "rstrip": false,
                              "normalized": false, "special": false}],
            "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": {"type": "Fuse"}})";
        Tokenizer tok = Tokenizer::fromHfFiles(path, dir.filePath("absent.json").toStdString());
        QCOMPARE(tok.encode("a <x> b"), (std::vector<int32_t>{1, 3, 4, 3, 2}));
        QCOMPARE(tok.encode("<x>"), (std::vector<int32_t>{4}));
        QCOMPARE(tok.encode("a<x> b"), (std::vector<int32_t>{1, 5, 6, 7, 3, 2}));
        QCOMPARE(tok.encode("a <x>b"), (std::vector<int32_t>{1, 3, 5, 6, 7, 2}));
        QCOMPARE(tok.decode(std::vector<int32_t>{1, 3, 4}), std::string("a <x>"));
    }

    // encode/decode are const and share the word cache: several threads at once get the
    // same answers as one.
    void concurrentUse() {
        const Tokenizer& tok = load("qwen3");
        const auto texts = hearth::test::corpus();
        std::vector<std::vector<int32_t>> expected;
        for (const auto& t : texts) expected.push_back(Tokenizer(tok).encode(t));
        std::atomic<int> mismatches{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (int round = 0; round < 20; ++round)
                    for (size_t i = 0; i < texts.size(); ++i) {
                        size_t k = (i + static_cast<size_t>(t) * 7 + static_cast<size_t>(round)) % texts.size();
                        if (tok.encode(texts[k]) != expected[k]) ++mismatches;
                    }
            });
        for (auto& th : threads) th.join();
        QCOMPARE(mismatches.load(), 0);
    }
};

QTEST_GUILESS_MAIN(TokenizerUnitsTest)
#include "tokenizer_units_test.moc"
