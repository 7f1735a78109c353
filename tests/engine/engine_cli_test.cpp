// The engine's CLI commands (generate, logits, chat, bench) run as a user would, on the fixtures.
#include <QtTest>

#include <cmath>
#include <csignal>

#include "engine_test_support.h"

using namespace enginetest;

class EngineCliTest : public QObject {
    Q_OBJECT
    Converter conv_;
    QString llama_, chat_;
    nlohmann::json ref_;

private slots:
    void initTestCase() {
        QVERIFY2(!cliPath().isEmpty(), "HEARTH_CLI is not set (run through ctest)");
        llama_ = conv_.gguf("llama", "f32");
        chat_ = conv_.gguf("chat_llama", "f16");
        QVERIFY(!llama_.isEmpty() && !chat_.isEmpty());
        ref_ = reference("llama");
    }

    void generateJsonIsGreedyAtTemperatureZero() {
        const auto& p = ref_["prompts"][1];
        QStringList idList;
        for (int id : p["ids"]) idList << QString::number(id);
        auto r = runCli({"generate", "--model", llama_, "--prompt-ids", idList.join(','), "--temperature", "0",
                         "--max-tokens", "8", "--ignore-eos", "--json", "--device", "cpu", "--kv-type", "f32"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        auto j = nlohmann::json::parse(r.out.toStdString());
        for (const char* key : {"ids", "text", "prompt_tokens", "prefill_tps", "decode_tps", "finish_reason"})
            QVERIFY2(j.contains(key), key);
        QCOMPARE(j["prompt_tokens"].get<int>(), static_cast<int>(p["ids"].size()));
        QCOMPARE(j["finish_reason"].get<std::string>(), std::string("length"));
        auto got = j["ids"].get<std::vector<int>>();
        auto want = p["greedy"].get<std::vector<int>>();
        QCOMPARE(got.size(), size_t(8));
        for (size_t i = 0; i < std::min<size_t>(8, comparableSteps(p, 1e-3)); ++i) QCOMPARE(got[i], want[i]);
    }

    void generatePlainStreamsText() {
        auto r = runCli({"generate", "--model", chat_, "--prompt", "Hello", "--max-tokens", "6", "--seed", "3"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(!r.out.trimmed().isEmpty());
        QVERIFY(r.err.contains("tok/s"));
    }

    void generateWithMessagesUsesTheTemplate() {
        QTemporaryDir dir;
        QFile f(dir.filePath("m.json"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi!"}])");
        f.close();
        auto r = runCli({"generate", "--model", chat_, "--messages", f.fileName(), "--max-tokens", "4",
                         "--temperature", "0", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        auto j = nlohmann::json::parse(r.out.toStdString());
        QVERIFY(j["prompt_tokens"].get<int>() > 8);
    }

    void logitsTopAndAll() {
        const auto& p = ref_["prompts"][0];
        QString idList = QString::number(p["ids"][0].get<int>());
        auto r = runCli({"logits", "--model", llama_, "--prompt-ids", idList, "--top", "5", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["top"].size(), size_t(5));
        auto want = p["logits"].get<std::vector<double>>();
        size_t best = static_cast<size_t>(std::max_element(want.begin(), want.end()) - want.begin());
        QCOMPARE(j["top"][0][0].get<size_t>(), best);
        QVERIFY(std::abs(j["top"][0][1].get<double>() - want[best]) < 1e-2 * std::abs(want[best]) + 1e-2);

        r = runCli({"logits", "--model", llama_, "--prompt-ids", idList, "--top", "0", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["logits"].size(), want.size());
    }

    void badInputGivesAClearErrorAndNonZeroExit_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        QTest::newRow("missing model") << QStringList{"generate", "--model", "/nonexistent.gguf", "--prompt-ids", "1"} << 1 << "no such model";
        QTest::newRow("empty prompt") << QStringList{"generate", "--model", "@llama", "--prompt", ""} << 1 << "empty";
        QTest::newRow("prompt longer than context") << QStringList{"generate", "--model", "@llama", "--prompt-ids", "1,2,3,4,5,6,7,8", "--ctx-size", "4"} << 1 << "context";
        QTest::newRow("unknown device") << QStringList{"generate", "--model", "@llama", "--prompt-ids", "1", "--device", "quantum:0"} << 1 << "quantum";
        QTest::newRow("bad id list") << QStringList{"generate", "--model", "@llama", "--prompt-ids", "1,x"} << 2 << "token id";
        QTest::newRow("id outside vocabulary") << QStringList{"logits", "--model", "@llama", "--prompt-ids", "1,99999"} << 1 << "99999";
        QTest::newRow("truncated model") << QStringList{"logits", "--model", "@truncated", "--prompt-ids", "1"} << 1 << "truncated.gguf";
        QTest::newRow("no prompt") << QStringList{"generate", "--model", "@llama"} << 2 << "exactly one";
    }
    void badInputGivesAClearErrorAndNonZeroExit() {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        QString truncated = conv_.tempPath("truncated.gguf");
        if (!QFile::exists(truncated)) {
            QFile::copy(llama_, truncated);
            QFile::resize(truncated, QFileInfo(llama_).size() / 3);
        }
        for (auto& a : args) {
            if (a == "@llama") a = llama_;
            if (a == "@truncated") a = truncated;
        }
        auto r = runCli(args);
        QCOMPARE(r.exitCode, exitCode);
        QVERIFY2(QString::fromUtf8(r.err).contains(message, Qt::CaseInsensitive), r.err.constData());
    }

    // Scripted chat: answers, commands, multi-line input, EOF ends it.
    void chatWorksFromAScript() {
        QByteArray input = "Hello there\n/stats\n/regen\n\"\"\"\nline one\nline two\n\"\"\"\ncontinued \\\nline\n"
                           "/system Be brief.\n/reset\n/stats\nBye\n";
        auto r = runCli({"chat", chat_, "--max-tokens", "5", "--temperature", "0", "--system", "You are helpful."}, input);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QString out = QString::fromUtf8(r.out);
        QVERIFY2(out.contains("tok/s"), qPrintable(out));
        QVERIFY(out.contains("system prompt set"));
        QVERIFY(out.contains("conversation cleared"));
        QVERIFY(out.contains("no answer yet"));
    }

    // Ctrl-C stops a long answer and the chat goes on; Ctrl-C at the prompt leaves.
    void chatInterruptStopsTheAnswerThenExits() {
        QProcess p;
        p.start(cliPath(), {"chat", chat_, "--max-tokens", "1000000", "--ctx-size", "65536", "--seed", "1"});
        QVERIFY(p.waitForStarted(10000));
        p.write("Tell me a very long story.\n");
        QByteArray out, err;
        auto waitFor = [&](auto done, int ms) {
            QElapsedTimer t;
            t.start();
            while (!done() && t.elapsed() < ms) {
                p.waitForReadyRead(100);
                out += p.readAllStandardOutput();
                err += p.readAllStandardError();
            }
            return done();
        };
        QVERIFY2(waitFor([&] { return out.size() > 200; }, 60000), err.constData());
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY2(waitFor([&] { return err.contains("[stopped]"); }, 30000), err.constData());
        QCOMPARE(p.state(), QProcess::Running);
        p.write("/stats\n");
        QVERIFY2(waitFor([&] { return out.contains("finish: stopped"); }, 30000), out.right(300).constData());
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(15000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    }

    void benchReportsSpeedAndMemory() {
        auto r = runCli(
            {"bench", "--model", llama_, "-p", "32", "-n", "8", "-r", "2", "--json", "--threads", "1"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        auto j = nlohmann::json::parse(r.out.toStdString());
        for (const char* key : {"prefill_tps", "decode_tps", "bytes_per_token", "achieved_gbs", "membw_copy_gbs",
                                "membw_read_gbs", "weights_read_gbs", "weights_bytes", "kv_cache_bytes", "scratch_bytes"})
            QVERIFY2(j.contains(key) && j[key].get<double>() > 0, key);
        // -r 2: two runs, each against the bandwidth measured after it; the reported figures are
        // their medians (of two: the means).
        QCOMPARE(j["repetitions"].get<int>(), 2);
        const auto& runs = j["runs"];
        QCOMPARE(runs.size(), size_t{2});
        double tps = 0, fraction = 0;
        for (const auto& run : runs) {
            QVERIFY(run["decode_tps"].get<double>() > 0 && run["membw_read_gbs"].get<double>() > 0);
            tps += run["decode_tps"].get<double>() / 2;
            fraction += run["fraction_of_read_membw"].get<double>() / 2;
        }
        QVERIFY(std::abs(j["decode_tps"].get<double>() - tps) < 1e-6 * tps);
        QVERIFY(std::abs(j["fraction_of_read_membw"].get<double>() - fraction) < 1e-6 * fraction);
        // The bandwidth probe's two buffers (up to 1 GiB each) are freed before the resident
        // memory is read: what is reported is the model's, not the probe's.
        QVERIFY2(j["resident_bytes"].get<double>() < 768.0 * (1 << 20), j["resident_bytes"].dump().c_str());

        auto bad = runCli({"bench", "--model", llama_, "-r", "0"});
        QVERIFY(bad.exitCode != 0);
        QVERIFY2(bad.err.contains("-r must be"), bad.err.constData());
    }
};

QTEST_GUILESS_MAIN(EngineCliTest)
#include "engine_cli_test.moc"
