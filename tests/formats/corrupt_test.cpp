// The hostile-input corpus (tests/formats/corrupt/, made by make_corrupt.py): every entry must be
// refused for the reason MANIFEST.tsv gives, in process (FormatError) and by `hearth info`
// (exit code 1, a message naming the file, no crash and no hang).
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QtTest>

#include "models/formats/gguf.h"
#include "models/formats/model_info.h"
#include "models/formats/model_spec.h"
#include "models/formats/safetensors.h"

using namespace hearth;

namespace {

const QString kCorpus = QStringLiteral(HEARTH_TEST_DATA_DIR "/formats/corrupt");

struct Entry {
    QString name;
    QString expected;
};

QList<Entry> manifest() {
    QFile f(kCorpus + "/MANIFEST.tsv");
    if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read %s", qPrintable(f.fileName()));
    QList<Entry> entries;
    for (const QByteArray& line : f.readAll().split('\n')) {
        if (line.isEmpty() || line.startsWith('#')) continue;
        auto parts = QString::fromUtf8(line).split('\t');
        entries.push_back({parts.value(0), parts.value(1)});
    }
    return entries;
}

void addRows() {
    QTest::addColumn<QString>("entry");
    QTest::addColumn<QString>("expected");
    for (const auto& e : manifest()) QTest::newRow(qPrintable(e.name)) << e.name << e.expected;
}

}  // namespace

class CorruptTest : public QObject {
    Q_OBJECT
private slots:
    void corpusIsComplete() {
        auto entries = manifest();
        QVERIFY2(entries.size() >= 40, "the corpus needs at least 40 entries");
        QStringList onDisk = QDir(kCorpus).entryList(QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot);
        onDisk.removeAll("MANIFEST.tsv");
        QCOMPARE(onDisk.size(), entries.size());
    }

    void refusedInProcess_data() { addRows(); }
    void refusedInProcess() {
        QFETCH(QString, entry);
        QFETCH(QString, expected);
        std::filesystem::path path = (kCorpus + "/" + entry).toStdString();
        try {
            describeModel(path);
            QFAIL("accepted");
        } catch (const FormatError& e) {
            QString message = QString::fromUtf8(e.what());
            QVERIFY2(message.contains(entry), qPrintable(message));
            QVERIFY2(message.contains(expected), qPrintable("expected '" + expected + "' in: " + message));
        }
        // The parsers on their own refuse them too; a structurally valid GGUF (a model file with
        // impossible hyper-parameters) is refused by specFromGguf.
        if (entry.endsWith(".safetensors")) {
            QVERIFY_THROWS_EXCEPTION(FormatError, safetensors::SafetensorsFile::open(path));
        } else if (entry.endsWith(".gguf")) {
            QVERIFY_THROWS_EXCEPTION(FormatError, specFromGguf(gguf::GgufFile::open(path)));
        }
    }

    void refusedByCli_data() { addRows(); }
    void refusedByCli() {
        QFETCH(QString, entry);
        QFETCH(QString, expected);
        const QString cli = qEnvironmentVariable("HEARTH_CLI");
        QVERIFY2(!cli.isEmpty(), "HEARTH_CLI is not set");
        const QString path = kCorpus + "/" + entry;
        for (const QStringList& args : {QStringList{"info", path}, QStringList{"info", path, "--json"}}) {
            QProcess p;
            p.start(cli, args);
            QVERIFY(p.waitForStarted());
            if (!p.waitForFinished(30000)) {
                p.kill();
                QFAIL("hearth info hung");
            }
            QCOMPARE(p.exitStatus(), QProcess::NormalExit);  // no crash
            const QString err = QString::fromUtf8(p.readAllStandardError());
            QVERIFY2(p.exitCode() == 1, qPrintable(QString("exit %1: %2").arg(p.exitCode()).arg(err)));
            QVERIFY2(err.contains(path), qPrintable(err));
            QVERIFY2(err.contains(expected), qPrintable(err));
            QVERIFY(p.readAllStandardOutput().isEmpty());
        }
    }
};

QTEST_GUILESS_MAIN(CorruptTest)
#include "corrupt_test.moc"
