// `hearth convert` and `hearth quantize` as a user runs them: exit codes, progress lines when
// stderr is not a terminal, the --report table, usage errors, and a disk that fills up mid-write
// (RLIMIT_FSIZE) leaving neither the output nor its .partial file behind.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

#include "models/formats/gguf.h"

namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(HEARTH_TEST_DATA_DIR) / "fixtures";

struct Run {
    int exitCode = -1;
    QString out, err;
};

Run runProcess(const QString& program, const QStringList& args) {
    QProcess p;
    p.start(program, args);
    Run r;
    if (!p.waitForFinished(120000)) {
        p.kill();
        p.waitForFinished();
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

Run cli(const QStringList& args) { return runProcess(qEnvironmentVariable("HEARTH_CLI"), args); }

QString str(const fs::path& p) { return QString::fromStdString(p.string()); }

bool nothingAt(const fs::path& out) { return !fs::exists(out) && !fs::exists(out.string() + ".partial"); }

}  // namespace

class QuantCliTest : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    fs::path dir() const { return tmp_.path().toStdString(); }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        if (!fs::exists(kFixtures / "qwen2" / "config.json")) QSKIP("the HF fixtures are not there yet");
    }

    void convertShowsProgressAndReport() {
        fs::path out = dir() / "qwen2-q8.gguf";
        Run r = cli({"convert", str(kFixtures / "qwen2"), str(out), "--type", "q8_0", "--report"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("100%"), qPrintable(r.err));  // plain progress lines, not a redrawn bar
        QVERIFY(!r.err.contains('\r'));
        QVERIFY(r.err.contains("wrote "));
        QVERIFY(r.out.contains("rmse"));
        QVERIFY(r.out.contains("blk.0.attn_q.weight"));
        QVERIFY(r.out.contains("types: "));
        auto file = hearth::gguf::GgufFile::open(out);
        QCOMPARE(file.tensor("blk.0.attn_q.weight")->type, hearth::DType::Q8_0);
        QCOMPARE(file.tensor("blk.0.attn_q.bias")->type, hearth::DType::F32);
    }

    void quantizeReencodesAGguf() {
        fs::path f16 = dir() / "mistral-f16.gguf", q = dir() / "mistral-q4_k_m.gguf";
        QCOMPARE(cli({"convert", str(kFixtures / "mistral"), str(f16), "--quiet"}).exitCode, 0);
        Run r = cli({"quantize", str(f16), str(q), "q4_k_m", "--report", "--threads", "2"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("note: rows of 96 are not a multiple"));  // the documented fallback is reported
        auto file = hearth::gguf::GgufFile::open(q);
        QCOMPARE(*file.getUInt("general.file_type"), uint64_t{15});
        QCOMPARE(*file.getString("general.architecture"), std::string("llama"));
        // Quantizing a quantized file is refused with a message, exit 1.
        Run again = cli({"quantize", str(q), str(dir() / "x.gguf"), "q4_0"});
        QCOMPARE(again.exitCode, 1);
        QVERIFY(again.err.contains("already"));
    }

    void usageAndInputErrors() {
        QCOMPARE(cli({"convert"}).exitCode, 2);
        QCOMPARE(cli({"convert", str(kFixtures / "llama"), str(dir() / "a.gguf"), "--type", "q9_9"}).exitCode, 2);
        QCOMPARE(cli({"quantize", "in.gguf", "out.gguf"}).exitCode, 2);
        QCOMPARE(cli({"convert", "--help"}).exitCode, 0);
        fs::path out = dir() / "missing.gguf";
        Run r = cli({"convert", str(dir() / "no-such-folder"), str(out)});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains("no-such-folder"));
        QVERIFY(nothingAt(out));
        Run q = cli({"quantize", str(kFixtures / "llama" / "config.json"), str(out), "q8_0"});
        QCOMPARE(q.exitCode, 1);
        QVERIFY(nothingAt(out));
    }

    // A file-size limit makes write() fail with EFBIG part-way, as a full disk does with ENOSPC.
    void fullDiskLeavesNoPartialFile() {
        fs::path out = dir() / "full.gguf";
        QString script = QString("trap '' XFSZ; ulimit -f 64; exec \"$0\" convert \"$1\" \"$2\" --type f32");
        Run r = runProcess("/bin/sh", {"-c", script, qEnvironmentVariable("HEARTH_CLI"), str(kFixtures / "llama"), str(out)});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(!r.err.isEmpty(), "no error message");
        QVERIFY(nothingAt(out));
    }
};

QTEST_GUILESS_MAIN(QuantCliTest)
#include "cli_test.moc"
