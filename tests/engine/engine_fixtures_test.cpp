// The engine against Hugging Face transformers on the tiny fixture models (tests/fixtures), and
// the session behaviours: prefix reuse, chunked prefill, context policies, cancellation, stop
// strings, seeds, bad input.
#include <QtTest>

#include <filesystem>

#include "engine_test_support.h"
#include "inference/engine/engine.h"
#include "models/formats/gguf.h"

using namespace hearth;
using namespace enginetest;

namespace {

std::shared_ptr<Model> loadCpu(const QString& path, DType kv = DType::F16, int ctx = 0) {
    LoadOptions o;
    o.device = "cpu";
    o.kvType = kv;
    o.contextSize = ctx;
    return Model::load(path.toStdString(), o);
}

GenerationRequest greedyRequest(std::vector<int32_t> prompt, int maxTokens) {
    GenerationRequest r;
    r.promptIds = std::move(prompt);
    r.sampler.temperature = 0;
    r.maxTokens = maxTokens;
    r.ignoreEos = true;
    return r;
}

const QStringList kArchFixtures = {"llama", "llama3_rope", "mistral", "qwen2", "qwen3"};

}  // namespace

class EngineFixturesTest : public QObject {
    Q_OBJECT
    Converter conv_;

private slots:
    void initTestCase() {
        QVERIFY2(!cliPath().isEmpty(), "HEARTH_CLI is not set (run through ctest)");
    }

    // F32 weights and an F32 KV cache: logits within NMSE 1e-4 of transformers (float64), the
    // same greedy continuation up to the first near-tie of the reference, and the GGUF tokenizer
    // encodes the text prompt as HF does.
    void f32MatchesTransformers_data() {
        QTest::addColumn<QString>("fixture");
        for (const auto& f : kArchFixtures) QTest::newRow(qPrintable(f)) << f;
    }
    void f32MatchesTransformers() {
        QFETCH(QString, fixture);
        QString path = conv_.gguf(fixture, "f32");
        QVERIFY2(!path.isEmpty(), "conversion failed");
        auto ref = reference(fixture);
        auto model = loadCpu(path, DType::F32);
        QCOMPARE(model->spec().vocabSize, ref["vocab_size"].get<uint32_t>());
        Session session(model);
        for (const auto& p : ref["prompts"]) {
            auto prompt = ids(p["ids"]);
            session.reset();
            double e = nmse(session.logits(prompt), p["logits"].get<std::vector<double>>());
            qInfo("%s prompt of %zu: NMSE %.3g", qPrintable(fixture), prompt.size(), e);
            QVERIFY2(e < 1e-4, qPrintable(QString("NMSE %1").arg(e)));

            size_t steps = comparableSteps(p, 1e-3);
            QVERIFY(steps >= 2);
            auto r = session.generate(greedyRequest(prompt, 32), {});
            QCOMPARE(r.ids.size(), size_t(32));
            auto want = ids(p["greedy"]);
            for (size_t i = 0; i < steps; ++i)
                QVERIFY2(r.ids[i] == want[i], qPrintable(QString("greedy step %1: %2 vs %3").arg(i).arg(r.ids[i]).arg(want[i])));
        }
        const auto& tp = ref["text_prompt"];
        auto textIds = model->encode(tp["text"].get<std::string>());
        QCOMPARE(textIds, ids(tp["ids"]));
        session.reset();
        QVERIFY(nmse(session.logits(textIds), tp["logits"].get<std::vector<double>>()) < 1e-4);
    }

    // Lower precision weights (with the default F16 KV cache). Tolerances are 6-15x the worst NMSE
    // measured on these fixtures (f16 3.9e-7, bf16 2.7e-5, q8_0 5.1e-4; docs/performance.md).
    void lowerPrecisionWithinTolerance_data() {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<QString>("type");
        QTest::addColumn<double>("tolerance");
        for (const auto& f : kArchFixtures) {
            QTest::newRow(qPrintable(f + "/f16")) << f << "f16" << 5e-6;
            QTest::newRow(qPrintable(f + "/bf16")) << f << "bf16" << 2e-4;
            QTest::newRow(qPrintable(f + "/q8_0")) << f << "q8_0" << 3e-3;
        }
    }
    void lowerPrecisionWithinTolerance() {
        QFETCH(QString, fixture);
        QFETCH(QString, type);
        QFETCH(double, tolerance);
        QString path = conv_.gguf(fixture, type);
        QVERIFY2(!path.isEmpty(), "conversion failed");
        auto ref = reference(fixture);
        auto model = loadCpu(path);
        Session session(model);
        double worst = 0;
        for (const auto& p : ref["prompts"]) {
            session.reset();
            worst = std::max(worst, nmse(session.logits(ids(p["ids"])), p["logits"].get<std::vector<double>>()));
        }
        qInfo("%s %s: worst NMSE %.3g (tolerance %.0e)", qPrintable(fixture), qPrintable(type), worst, tolerance);
        QVERIFY2(worst < tolerance, qPrintable(QString("NMSE %1").arg(worst)));
    }

    // The F16 chat fixture (real llama-2 tokenizer): its 64 largest logits match.
    void chatFixtureMatchesTransformers() {
        QString path = conv_.gguf("chat_llama", "f16");
        QVERIFY(!path.isEmpty());
        auto ref = reference("chat_llama");
        auto model = loadCpu(path, DType::F32);
        Session session(model);
        for (const auto& p : ref["prompts"]) {
            session.reset();
            auto logits = session.logits(ids(p["ids"]));
            std::vector<float> got;
            std::vector<double> want;
            for (const auto& e : p["logits_top"]) {
                got.push_back(logits[e[0].get<size_t>()]);
                want.push_back(e[1].get<double>());
            }
            QVERIFY(nmse(got, want) < 1e-4);
            auto r = session.generate(greedyRequest(ids(p["ids"]), 16), {});
            auto greedy = ids(p["greedy"]);
            for (size_t i = 0; i < comparableSteps(p, 1e-2) && i < 16; ++i) QCOMPARE(r.ids[i], greedy[i]);
        }
        QCOMPARE(model->encode(ref["text_prompt"]["text"].get<std::string>()), ids(ref["text_prompt"]["ids"]));
    }

    // A second turn evaluates only the new tokens and gives the logits a fresh session gives.
    void prefixReuseMatchesAFreshSession() {
        auto model = loadCpu(conv_.gguf("llama", "f32"), DType::F32);
        auto ref = reference("llama");
        auto a = ids(ref["prompts"][2]["ids"]);  // 45 tokens
        Session chat(model);
        auto first = chat.generate(greedyRequest(a, 5), {});
        QCOMPARE(first.stats.reusedTokens, 0);
        std::vector<int32_t> b = a;
        b.insert(b.end(), first.ids.begin(), first.ids.end());
        b.insert(b.end(), {10, 20, 30});
        auto second = chat.generate(greedyRequest(b, 5), {});
        // The cache held the prompt and the first 4 answer tokens (the 5th was never evaluated).
        QCOMPARE(second.stats.reusedTokens, static_cast<int>(a.size()) + 4);
        QCOMPARE(second.stats.promptTokens, static_cast<int>(b.size()));

        Session fresh(model);
        auto want = fresh.generate(greedyRequest(b, 5), {});
        QCOMPARE(second.ids, want.ids);
        auto reused = chat.logits(b);
        fresh.reset();
        auto direct = fresh.logits(b);
        std::vector<double> d(direct.begin(), direct.end());
        QVERIFY(nmse(reused, d) < 1e-10);
    }

    // Chunked prefill (300 tokens: chunks of 256 + 44) against one token at a time (the decode path).
    void chunkedPrefillMatchesTokenByToken() {
        auto model = loadCpu(conv_.gguf("qwen3", "f32"), DType::F32);
        std::vector<int32_t> prompt(300);
        for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>(5 + (i * 37) % 390);
        Session batch(model);
        auto all = batch.logits(prompt);
        Session single(model);
        std::vector<float> last;
        for (size_t n = 1; n <= prompt.size(); ++n) last = single.logits({prompt.data(), n});
        std::vector<double> want(all.begin(), all.end());
        double e = nmse(last, want);
        qInfo("chunked vs token-by-token NMSE %.3g", e);
        QVERIFY(e < 1e-8);
    }

    void contextFullWithStopPolicy() {
        auto model = loadCpu(conv_.gguf("llama", "f32"), DType::F16, 16);
        Session s(model, ContextPolicy::Stop);
        std::vector<int32_t> tooLong(20, 7);
        auto r = s.generate(greedyRequest(tooLong, 4), {});
        QCOMPARE(r.finish, FinishReason::ContextFull);
        QVERIFY(r.ids.empty());
        QVERIFY(r.error.find("context") != std::string::npos);
        QVERIFY_THROWS_EXCEPTION(EngineError, s.logits(tooLong));

        std::vector<int32_t> prompt(10, 7);
        r = s.generate(greedyRequest(prompt, 100), {});
        QCOMPARE(r.finish, FinishReason::ContextFull);
        // 16 positions: 10 prompt tokens + 6 answer tokens cached, the 7th sampled from the last.
        QCOMPARE(r.ids.size(), size_t(7));
        QCOMPARE(r.stats.contextUsed, 16);
    }

    // DropOldestTurns removes whole turns from the front but keeps the system prompt; the prompt
    // it then uses is exactly the rendering of the messages that remain.
    void dropOldestTurnsKeepsTheSystemPrompt() {
        const int ctx = 160, maxTokens = 8;
        auto model = loadCpu(conv_.gguf("chat_llama", "f16"), DType::F16, ctx);
        nlohmann::json system = {{"role", "system"}, {"content", "You are a terse assistant."}};
        nlohmann::json turns = nlohmann::json::array();
        for (int i = 0; i < 6; ++i) {
            turns.push_back({{"role", "user"}, {"content", "Question " + std::to_string(i) + ": tell me about the weather in a long sentence please."}});
            turns.push_back({{"role", "assistant"}, {"content", "Answer " + std::to_string(i) + ": it is sunny with some clouds and a light breeze."}});
        }
        nlohmann::json last = {{"role", "user"}, {"content", "And tomorrow?"}};
        auto messages = [&](size_t drop) {
            nlohmann::json m = nlohmann::json::array({system});
            for (size_t i = 2 * drop; i < turns.size(); ++i) m.push_back(turns[i]);
            m.push_back(last);
            return m;
        };
        GenerationRequest req;
        req.messages = messages(0);
        req.maxTokens = maxTokens;
        req.sampler.temperature = 0;
        QVERIFY(static_cast<int>(model->encode(model->renderChat(req.messages), false).size()) > ctx);

        Session strict(model, ContextPolicy::Stop);
        auto refused = strict.generate(req, {});
        QCOMPARE(refused.finish, FinishReason::ContextFull);
        QVERIFY(!refused.error.empty());

        size_t drop = 0;
        while (static_cast<int>(model->encode(model->renderChat(messages(drop)), false).size()) + maxTokens > ctx) ++drop;
        QVERIFY(drop > 0 && drop < 6);
        Session lenient(model, ContextPolicy::DropOldestTurns);
        auto r = lenient.generate(req, {});
        QVERIFY2(r.finish != FinishReason::Error && r.finish != FinishReason::ContextFull, r.error.c_str());
        QCOMPARE(r.stats.droppedTurns, static_cast<int>(drop));
        QCOMPARE(r.stats.promptTokens,
                 static_cast<int>(model->encode(model->renderChat(messages(drop)), false).size()));
    }

    void cancellationStopsBetweenTokens() {
        auto model = loadCpu(conv_.gguf("llama", "f32"));
        Session s(model);
        std::atomic<bool> cancel{true};
        auto r = s.generate(greedyRequest({5, 6, 7}, 32), {}, &cancel);
        QCOMPARE(r.finish, FinishReason::Stopped);
        QVERIFY(r.ids.empty());

        cancel = false;
        int pieces = 0;
        r = s.generate(greedyRequest({5, 6, 7}, 32), [&](std::string_view) {
            ++pieces;
            cancel = true;
        }, &cancel);
        QCOMPARE(r.finish, FinishReason::Stopped);
        QVERIFY(pieces >= 1 && pieces <= 2);  // the piece that cancelled, and perhaps a flushed tail
        QVERIFY(!r.ids.empty() && r.ids.size() < 32);
    }

    // A stop string ends generation before it, and neither it nor its start is ever streamed.
    void stopStringsNeverLeak() {
        auto model = loadCpu(conv_.gguf("llama", "f32"), DType::F32);
        auto prompt = ids(reference("llama")["prompts"][1]["ids"]);
        Session s(model);
        auto full = s.generate(greedyRequest(prompt, 32), {});
        const std::string& t = full.text;
        QVERIFY(t.size() > 12);
        size_t start = t.size() / 2, end = start + 4;
        while (start > 0 && (static_cast<unsigned char>(t[start]) & 0xC0) == 0x80) --start;
        while (end < t.size() && (static_cast<unsigned char>(t[end]) & 0xC0) == 0x80) ++end;
        std::string stop = t.substr(start, end - start);
        std::string expected = t.substr(0, t.find(stop));

        auto req = greedyRequest(prompt, 32);
        req.stopStrings = {stop, "never appears \x01"};
        std::string streamed;
        auto r = s.generate(req, [&](std::string_view piece) { streamed += piece; });
        QCOMPARE(r.finish, FinishReason::StopString);
        QCOMPARE(r.text, expected);
        QCOMPARE(streamed, expected);
    }

    void seedsAreDeterministic() {
        auto model = loadCpu(conv_.gguf("qwen3", "f32"));
        auto run = [&](uint64_t seed) {
            Session s(model);
            GenerationRequest r = greedyRequest({1, 2, 3, 4}, 24);
            r.sampler.temperature = 1.5f;
            r.sampler.topK = 0;
            r.sampler.topP = 1.0f;
            r.sampler.minP = 0.0f;
            r.sampler.seed = seed;
            return s.generate(r, {}).ids;
        };
        QCOMPARE(run(7), run(7));
        QVERIFY(run(7) != run(8));
    }

    void loadReportsProgressAndCanBeCancelled() {
        QString path = conv_.gguf("llama", "f32");
        std::vector<double> seen;
        LoadOptions o;
        o.device = "cpu";
        o.onProgress = [&](double f) {
            seen.push_back(f);
            return true;
        };
        auto model = Model::load(path.toStdString(), o);
        QVERIFY(seen.size() >= 2);
        QCOMPARE(seen.front(), 0.0);
        QCOMPARE(seen.back(), 1.0);
        QVERIFY(std::is_sorted(seen.begin(), seen.end()));
        QCOMPARE(model->contextSize(), 512);  // min(model's 512, 4096)

        o.onProgress = [](double f) { return f < 0.5; };
        try {
            Model::load(path.toStdString(), o);
            QFAIL("a cancelled load returned a model");
        } catch (const EngineError& e) {
            QVERIFY2(std::string(e.what()).find("cancel") != std::string::npos, e.what());
        }
    }

    void badInputIsRefusedWithAMessage() {
        auto model = loadCpu(conv_.gguf("llama", "f32"));
        Session s(model);
        auto r = s.generate(greedyRequest({}, 4), {});
        QCOMPARE(r.finish, FinishReason::Error);
        QVERIFY(!r.error.empty());
        r = s.generate(greedyRequest({1, 100000}, 4), {});
        QCOMPARE(r.finish, FinishReason::Error);
        QVERIFY(r.error.find("100000") != std::string::npos);

        QVERIFY_THROWS_EXCEPTION(EngineError, Model::load("/nonexistent/model.gguf"));
        LoadOptions badDevice;
        badDevice.device = "nosuch:3";
        QVERIFY_THROWS_EXCEPTION(EngineError, Model::load(conv_.gguf("llama", "f32").toStdString(), badDevice));

        // Truncated file.
        QString truncated = conv_.tempPath("truncated.gguf");
        QFile::copy(conv_.gguf("llama", "f32"), truncated);
        std::filesystem::resize_file(truncated.toStdString(), std::filesystem::file_size(truncated.toStdString()) / 2);
        QVERIFY_THROWS_EXCEPTION(EngineError, Model::load(truncated.toStdString()));

        // Unsupported architecture.
        QString other = conv_.tempPath("gpt2.gguf");
        {
            gguf::GgufWriter w;
            w.set("general.architecture", gguf::Value{std::string("gpt2")});
            w.addTensor("token_embd.weight", DType::F32, {4, 4});
            w.begin(other.toStdString());
            std::vector<uint8_t> zeros(64);
            w.writeTensorData("token_embd.weight", zeros);
            w.commit();
        }
        try {
            Model::load(other.toStdString());
            QFAIL("a gpt2 model was accepted");
        } catch (const EngineError& e) {
            QVERIFY2(std::string(e.what()).find("gpt2") != std::string::npos, e.what());
        }
    }
};

QTEST_GUILESS_MAIN(EngineFixturesTest)
#include "engine_fixtures_test.moc"
