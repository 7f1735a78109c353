// Kills the app with SIGKILL in the middle of a streamed answer, then checks what a user would
// find on restart: an intact database, their message, and the partial answer — marked as
// interrupted, a prefix of what was shown, and missing at most the last second of it.
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

#include "tests/app/fixture_model.h"
#include "ui/store/conversation_store.h"

namespace {

struct Piece {
    qint64 atMs;
    QString text;
};

}  // namespace

class CrashTest : public QObject {
    Q_OBJECT
    QString model_;

private slots:
    void initTestCase() {
        QString error;
        model_ = hearth::testing::fixtureChatModel(&error);
        QVERIFY2(!model_.isEmpty(), qPrintable(error));
    }

    void killMidStream_data() {
        QTest::addColumn<int>("streamingMs");  // how long answers have streamed when it is killed
        QTest::addRow("after 1.2 s") << 1200;
        QTest::addRow("after 2.5 s") << 2500;
        QTest::addRow("after 4 s") << 4000;
    }
    void killMidStream() {
        QFETCH(int, streamingMs);
        QTemporaryDir home;
        const QString prompt = QStringLiteral("Tell me a long story about a lighthouse — ünïcödé too.");
        QProcess app;
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert("XDG_DATA_HOME", home.filePath("data"));
        env.insert("XDG_CONFIG_HOME", home.filePath("config"));
        env.insert("QT_QPA_PLATFORM", "offscreen");
        app.setProcessEnvironment(env);
        app.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        app.start(QStringLiteral(HEARTH_CRASH_HELPER), {model_, prompt});
        QVERIFY(app.waitForStarted());

        QElapsedTimer clock;
        clock.start();
        qint64 userId = 0, answerId = 0, answerStartedMs = -1, firstPieceMs = -1;
        QList<Piece> pieces;  // of the current answer
        QByteArray buffer;
        while (clock.elapsed() < 60000) {
            // The app regenerates as soon as an answer ends, so this lands inside some answer.
            if (firstPieceMs >= 0 && clock.elapsed() - firstPieceMs >= streamingMs) break;
            QVERIFY2(app.state() == QProcess::Running, "the app exited before it could be killed");
            app.waitForReadyRead(20);
            buffer += app.readAllStandardOutput();
            for (int nl; (nl = buffer.indexOf('\n')) >= 0; buffer.remove(0, nl + 1)) {
                const QByteArray line = buffer.left(nl);
                if (line.startsWith("U ")) userId = line.mid(2).toLongLong();
                if (line.startsWith("A ")) {
                    answerId = line.mid(2).toLongLong();
                    answerStartedMs = clock.elapsed();
                    pieces.clear();
                }
                if (line.startsWith("P ") && firstPieceMs < 0) firstPieceMs = clock.elapsed();
                if (line.startsWith("P "))
                    pieces.push_back({clock.elapsed(), QString::fromUtf8(QByteArray::fromBase64(line.mid(2)))});
            }
        }
        app.kill();  // SIGKILL: no destructor, no flush, no goodbye
        const qint64 killedAt = clock.elapsed();
        QVERIFY(app.waitForFinished(5000));
        QCOMPARE(app.exitStatus(), QProcess::CrashExit);
        QVERIFY(userId > 0 && answerId > 0);

        QString shown, shownUpToOneSecondBefore;
        for (const auto& p : pieces) {
            shown += p.text;
            if (p.atMs <= killedAt - 1000) shownUpToOneSecondBefore += p.text;
        }
        const QString db = home.filePath("data") + "/Hearth/history.sqlite";
        {
            auto raw = QSqlDatabase::addDatabase("QSQLITE", "after-crash");
            raw.setDatabaseName(db);
            QVERIFY(raw.open());
            QSqlQuery q(raw);
            QVERIFY(q.exec("PRAGMA integrity_check") && q.next());
            QCOMPARE(q.value(0).toString(), QString("ok"));
            QVERIFY(q.exec(QStringLiteral("SELECT content FROM messages WHERE id=%1").arg(userId)) && q.next());
            QCOMPARE(q.value(0).toString(), prompt);
            q.finish();
            raw.close();
        }
        QSqlDatabase::removeDatabase("after-crash");

        // Restart: the store that the app opens marks the answer as interrupted and keeps it.
        hearth::store::ConversationStore reopened(db);
        QVERIFY2(reopened.problem().isEmpty(), qPrintable(reopened.problem()));
        const auto answer = reopened.message(answerId);
        QCOMPARE(answer.finishReason, hearth::store::finish::kInterrupted);
        const auto leaf = reopened.branch(answer.conversationId);
        QCOMPARE(leaf.last().id, answerId);
        qInfo() << "killed after" << (killedAt - answerStartedMs) << "ms of streaming:" << shown.size()
                << "characters shown," << answer.content.size() << "saved," << shownUpToOneSecondBefore.size()
                << "shown more than 1 s before the kill";
        QVERIFY2(shown.startsWith(answer.content), "the saved answer is not what was shown");
        QVERIFY2(answer.content.size() >= shownUpToOneSecondBefore.size(), "more than 1 s of the answer was lost");
    }
};

QTEST_GUILESS_MAIN(CrashTest)
#include "crash_test.moc"
