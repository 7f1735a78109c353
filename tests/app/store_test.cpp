// The history store: schema, branches, migrations from every earlier version, crash recovery
// marks, export/import, and the files it must never overwrite (locked, damaged, newer).
#include <QCryptographicHash>
#include <QFile>
#include <QJsonArray>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

#include "ui/store/app_settings.h"
#include "ui/store/conversation_store.h"
#include "ui/store/schema.h"

using namespace hearth::store;

namespace {

QVariant pragma(const QString& path, const QString& name) {
    QVariant out;
    {
        auto db = QSqlDatabase::addDatabase("QSQLITE", "probe");
        db.setDatabaseName(path);
        db.open();
        QSqlQuery q(db);
        if (q.exec("PRAGMA " + name) && q.next()) out = q.value(0);
        db.close();
    }
    QSqlDatabase::removeDatabase("probe");
    return out;
}

QByteArray sha(const QString& path) {
    QFile f(path);
    f.open(QIODevice::ReadOnly);
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}

// Builds a database at `version` by running the first `version` migration steps, then fills it
// with one two-turn conversation the way that version of Hearth wrote it.
void buildOldDatabase(const QString& path, int version) {
    {
        auto db = QSqlDatabase::addDatabase("QSQLITE", "old");
        db.setDatabaseName(path);
        QVERIFY(db.open());
        QSqlQuery q(db);
        for (int v = 0; v < version; ++v)
            for (const auto& s : schema::migrations()[v]) QVERIFY2(q.exec(s), qPrintable(q.lastError().text()));
        QVERIFY(q.exec(QStringLiteral("PRAGMA user_version=%1").arg(version)));
        QVERIFY(q.exec("INSERT INTO conversations(id, title, created_at, updated_at) VALUES(1, 'Old chat', 1000, 2000)"));
        const QStringList rows = {"(1, 1, 'user', 'What is 2+2?', 1100)", "(2, 1, 'assistant', '4', 1200)",
                                  "(3, 1, 'user', 'And 3+3?', 1300)", "(4, 1, 'assistant', '6', 1400)"};
        for (const auto& r : rows)
            QVERIFY(q.exec("INSERT INTO messages(id, conversation_id, role, content, created_at) VALUES" + r));
        if (version >= 2) {
            QVERIFY(q.exec("UPDATE messages SET parent_id=id-1 WHERE id>1"));
            QVERIFY(q.exec("UPDATE conversations SET current_leaf_id=4"));
        }
        db.close();
    }
    QSqlDatabase::removeDatabase("old");
}

}  // namespace

class StoreTest : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString db() const { return dir_.filePath("history.sqlite"); }

private slots:
    void init() { QFile::remove(db()); QFile::remove(db() + "-wal"); QFile::remove(db() + "-shm"); }

    void newDatabaseHasCurrentSchemaAndPragmas() {
        {
            ConversationStore store(db());
            QVERIFY2(store.problem().isEmpty(), qPrintable(store.problem()));
            QVERIFY(!store.isReadOnly());
            QCOMPARE(store.schemaVersion(), ConversationStore::kSchemaVersion);
            QVERIFY(store.backupPath().isEmpty());
        }
        QCOMPARE(pragma(db(), "journal_mode").toString(), QString("wal"));
        QCOMPARE(pragma(db(), "integrity_check").toString(), QString("ok"));
    }

    void branchesKeepEveryAnswer() {
        ConversationStore store(db());
        const qint64 c = store.createConversation("Branches", "Be brief");
        const qint64 u1 = store.addMessage({.conversationId = c, .role = "user", .content = "Hi"});
        const qint64 a1 = store.addMessage({.conversationId = c, .parentId = u1, .role = "assistant",
                                            .content = "Hello", .finishReason = finish::kComplete});
        // Regenerate: a second answer to the same question.
        const qint64 a2 = store.addMessage({.conversationId = c, .parentId = u1, .role = "assistant",
                                            .content = "Hey", .finishReason = finish::kComplete});
        QCOMPARE(store.siblings(a1), (QList<qint64>{a1, a2}));
        QCOMPARE(store.conversation(c).currentLeafId, a2);
        auto path = store.branch(c);
        QCOMPARE(path.size(), 2);
        QCOMPARE(path[1].content, QString("Hey"));
        // Switching back to the first answer shows it again, and the second is still stored.
        store.setCurrentLeaf(c, a1);
        QCOMPARE(store.branch(c)[1].content, QString("Hello"));
        QCOMPARE(store.messages(c).size(), 3);
        // Edit-and-resend of the first question: a sibling user message at the root.
        const qint64 u2 = store.addMessage({.conversationId = c, .role = "user", .content = "Hi there"});
        QCOMPARE(store.siblings(u1), (QList<qint64>{u1, u2}));
        QCOMPARE(store.newestLeafUnder(u1), a2);
        QCOMPARE(store.newestLeafUnder(u2), u2);
    }

    void streamingAnswerSurvivesAsInterrupted() {
        qint64 c = 0, a = 0;
        {
            ConversationStore store(db());
            c = store.createConversation("Crash");
            const qint64 u = store.addMessage({.conversationId = c, .role = "user", .content = "Tell a story"});
            a = store.addMessage({.conversationId = c, .parentId = u, .role = "assistant"});
            store.updateContent(a, "Once upon a");
            QCOMPARE(store.message(a).finishReason, finish::kStreaming);
        }
        ConversationStore reopened(db());
        const auto m = reopened.message(a);
        QCOMPARE(m.content, QString("Once upon a"));
        QCOMPARE(m.finishReason, finish::kInterrupted);
    }

    void finishRecordsStats() {
        ConversationStore store(db());
        const qint64 c = store.createConversation("Stats");
        const qint64 u = store.addMessage({.conversationId = c, .role = "user", .content = "q"});
        const qint64 a = store.addMessage({.conversationId = c, .parentId = u, .role = "assistant",
                                           .modelFile = "/m/x.gguf", .modelHash = "abc", .backend = "cpu",
                                           .samplerJson = R"({"temperature":0.5})", .seed = 42});
        store.finishMessage(a, {.content = "answer", .promptTokens = 12, .generatedTokens = 3,
                                .tokensPerSecond = 25.5, .finishReason = finish::kStopped});
        const auto m = store.message(a);
        QCOMPARE(m.content, QString("answer"));
        QCOMPARE(m.finishReason, finish::kStopped);
        QCOMPARE(m.generatedTokens, 3);
        QCOMPARE(m.promptTokens, 12);
        QCOMPARE(m.tokensPerSecond, 25.5);
        QCOMPARE(m.seed, qint64(42));
        QCOMPARE(m.modelHash, QString("abc"));
    }

    void searchMatchesTitlesAndContents() {
        ConversationStore store(db());
        const qint64 a = store.createConversation("Pasta recipes");
        const qint64 b = store.createConversation("Linux help");
        store.addMessage({.conversationId = b, .role = "user", .content = "How do I use grep with 100% speed?"});
        store.createConversation("Empty");
        QCOMPARE(store.conversations().size(), 3);
        auto hits = store.conversations("pasta");
        QCOMPARE(hits.size(), 1);
        QCOMPARE(hits[0].id, a);
        hits = store.conversations("GREP");
        QCOMPARE(hits.size(), 1);
        QCOMPARE(hits[0].id, b);
        QVERIFY(hits[0].preview.contains("grep"));
        // LIKE wildcards in the search text are literal.
        QCOMPARE(store.conversations("100%").size(), 1);
        QCOMPARE(store.conversations("_").size(), 0);
    }

    void deleteCanBeUndoneUntilPurged() {
        ConversationStore store(db());
        const qint64 c = store.createConversation("Keep?");
        store.addMessage({.conversationId = c, .role = "user", .content = "x"});
        store.setDeleted(c, true);
        QCOMPARE(store.conversations().size(), 0);
        store.setDeleted(c, false);
        QCOMPARE(store.conversations().size(), 1);
        store.setDeleted(c, true);
        QCOMPARE(store.purgeDeleted(), 1);
        QCOMPARE(store.conversation(c).id, qint64(0));
        QCOMPARE(store.messages(c).size(), 0);
    }

    void migratesFromEveryEarlierVersion_data() {
        QTest::addColumn<int>("version");
        for (int v = 1; v < ConversationStore::kSchemaVersion; ++v) QTest::addRow("v%d", v) << v;
    }
    void migratesFromEveryEarlierVersion() {
        QFETCH(int, version);
        buildOldDatabase(db(), version);
        const QByteArray before = sha(db());
        ConversationStore store(db());
        QVERIFY2(store.problem().isEmpty(), qPrintable(store.problem()));
        QCOMPARE(store.schemaVersion(), ConversationStore::kSchemaVersion);
        // A backup of the old file, byte-for-byte the old database's content, was taken first.
        QVERIFY(QFile::exists(store.backupPath()));
        QCOMPARE(pragma(store.backupPath(), "user_version").toInt(), version);
        QCOMPARE(pragma(store.backupPath(), "integrity_check").toString(), QString("ok"));
        Q_UNUSED(before);
        const auto convs = store.conversations();
        QCOMPARE(convs.size(), 1);
        QCOMPARE(convs[0].title, QString("Old chat"));
        const auto path = store.branch(convs[0].id);
        QCOMPARE(path.size(), 4);
        QCOMPARE(path[0].content, QString("What is 2+2?"));
        QCOMPARE(path[3].content, QString("6"));
        QCOMPARE(path[3].finishReason, finish::kComplete);
        QCOMPARE(path[3].parentId, path[2].id);
        // And the migrated database takes new messages.
        store.addMessage({.conversationId = convs[0].id, .parentId = path[3].id, .role = "user", .content = "ok"});
        QCOMPARE(store.branch(convs[0].id).size(), 5);
    }

    void exportImportRoundTrip() {
        ConversationStore store(db());
        const qint64 c = store.createConversation("Round trip", "You are terse.", R"({"temperature":0.2})");
        const qint64 u = store.addMessage({.conversationId = c, .role = "user", .content = "Write *code*"});
        const qint64 a1 = store.addMessage({.conversationId = c, .parentId = u, .role = "assistant",
                                            .content = "```cpp\nint x;\n```", .modelFile = "/models/q.gguf",
                                            .seed = 7, .finishReason = finish::kStopped});
        store.addMessage({.conversationId = c, .parentId = u, .role = "assistant", .content = "Two",
                          .finishReason = finish::kComplete});
        store.setCurrentLeaf(c, a1);

        const QJsonObject json = store.exportJson(c);
        const qint64 copy = store.importJson(json);
        QVERIFY(copy != c);
        const auto original = store.messages(c);
        const auto imported = store.messages(copy);
        QCOMPARE(imported.size(), original.size());
        for (int i = 0; i < original.size(); ++i) {
            QCOMPARE(imported[i].role, original[i].role);
            QCOMPARE(imported[i].content, original[i].content);
            QCOMPARE(imported[i].finishReason, original[i].finishReason);
            QCOMPARE(imported[i].seed, original[i].seed);
            QCOMPARE(imported[i].modelFile, original[i].modelFile);
        }
        QCOMPARE(store.siblings(imported[1].id).size(), 2);
        QCOMPARE(store.branch(copy).last().content, QString("```cpp\nint x;\n```"));
        QCOMPARE(store.conversation(copy).systemPrompt, QString("You are terse."));
        // Exporting the copy gives the same document, apart from ids and times.
        QJsonObject again = store.exportJson(copy);
        QCOMPARE(again["messages"].toArray().size(), json["messages"].toArray().size());
        QCOMPARE(again["currentLeaf"], json["currentLeaf"]);
        QCOMPARE(again["sampler"], json["sampler"]);

        const QString md = store.exportMarkdown(c);
        QVERIFY(md.startsWith("# Round trip"));
        QVERIFY(md.contains("## You\n\nWrite *code*"));
        QVERIFY(md.contains("```cpp\nint x;\n```"));
        QVERIFY(md.contains("answer stopped"));
        QVERIFY(!md.contains("Two"));  // only the visible branch
    }

    void importRejectsBadFilesWithoutWriting() {
        ConversationStore store(db());
        QVERIFY_THROWS_EXCEPTION(StoreError, store.importJson(QJsonObject{{"title", "x"}}));
        QJsonObject forward{{"format", "hearth-conversation"}, {"version", 1},
                            {"messages", QJsonArray{QJsonObject{{"id", 1}, {"parent", 2}, {"role", "user"},
                                                                {"content", "a"}}}}};
        QVERIFY_THROWS_EXCEPTION(StoreError, store.importJson(forward));
        QJsonObject badRole{{"format", "hearth-conversation"}, {"version", 1},
                            {"messages", QJsonArray{QJsonObject{{"id", 1}, {"role", "robot"}, {"content", "a"}}}}};
        QVERIFY_THROWS_EXCEPTION(StoreError, store.importJson(badRole));
        QCOMPARE(store.conversations().size(), 0);
    }

    void lockedDatabaseOpensReadOnly() {
        qint64 c = 0;
        {
            ConversationStore store(db());
            c = store.createConversation("Mine");
        }
        auto other = QSqlDatabase::addDatabase("QSQLITE", "locker");
        other.setDatabaseName(db());
        QVERIFY(other.open());
        QSqlQuery lock(other);
        QVERIFY(lock.exec("BEGIN EXCLUSIVE"));
        {
            ConversationStore store(db());
            QVERIFY(!store.problem().isEmpty());
            QVERIFY2(store.problem().contains("locked"), qPrintable(store.problem()));
            QVERIFY(store.isReadOnly());
            QCOMPARE(store.conversation(c).title, QString("Mine"));
            QVERIFY_THROWS_EXCEPTION(StoreError, store.createConversation("new"));
        }
        QVERIFY(lock.exec("ROLLBACK"));
        other.close();
        other = QSqlDatabase();
        QSqlDatabase::removeDatabase("locker");
        ConversationStore store(db());
        QVERIFY(store.problem().isEmpty());
        QCOMPARE(store.conversation(c).title, QString("Mine"));
    }

    void damagedDatabaseIsNeverOverwritten() {
        QFile f(db());
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray("SQLite format 3\0", 16) + QByteArray(4000, '\x5a'));
        f.close();
        const QByteArray before = sha(db());
        {
            ConversationStore store(db());
            QVERIFY(!store.problem().isEmpty());
            QVERIFY(!store.isPersistent());
            // The app keeps working on a stand-in so the user can still chat.
            const qint64 c = store.createConversation("temporary");
            store.addMessage({.conversationId = c, .role = "user", .content = "hi"});
            QCOMPARE(store.conversations().size(), 1);
        }
        QCOMPARE(sha(db()), before);
    }

    void newerSchemaOpensReadOnly() {
        { ConversationStore store(db()); store.createConversation("future"); }
        {
            auto raw = QSqlDatabase::addDatabase("QSQLITE", "raw");
            raw.setDatabaseName(db());
            QVERIFY(raw.open());
            QSqlQuery q(raw);
            QVERIFY(q.exec("PRAGMA user_version=99"));
            raw.close();
        }
        QSqlDatabase::removeDatabase("raw");
        const QByteArray before = sha(db());
        {
            ConversationStore store(db());
            QVERIFY(store.isReadOnly());
            QVERIFY(store.problem().contains("newer"));
            QCOMPARE(store.conversations().size(), 1);
        }
        QCOMPARE(sha(db()), before);
    }

    void settingsLiveInTheXdgConfigFolder() {
        QTemporaryDir config;
        qputenv("XDG_CONFIG_HOME", config.path().toUtf8());
        {
            AppSettings s;
            QVERIFY2(s.fileName().startsWith(config.path()), qPrintable(s.fileName()));
            s.setDevice("cpu");
            s.setThreads(3);
            s.setDarkTheme(true);
        }
        AppSettings again;
        QCOMPARE(again.device(), QString("cpu"));
        QCOMPARE(again.threads(), 3);
        QVERIFY(again.darkTheme());
        QCOMPARE(again.contextSize(), 0);
    }
};

QTEST_GUILESS_MAIN(StoreTest)
#include "store_test.moc"
