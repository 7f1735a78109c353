// The view-models on their own: Markdown splitting, coalesced streaming updates, the sidebar
// (search, rename, delete and undo), settings, the model picker's list and load states, and the
// chat controller's ordering guarantees (the user's message is committed before generation is
// requested; streaming text is checkpointed; stopped answers are kept). Here the test plays the
// inference worker's part by calling the controller's slots; app_worker and app_gui run the
// real engine.
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

#include "ui/store/app_settings.h"
#include "ui/store/conversation_store.h"
#include "ui/viewmodels/chat_controller.h"
#include "ui/viewmodels/conversation_list_model.h"
#include "ui/viewmodels/markdown_blocks.h"
#include "ui/viewmodels/message_list_model.h"
#include "ui/viewmodels/model_list_model.h"
#include "ui/viewmodels/settings_model.h"

using namespace hearth;
using namespace hearth::ui;
using hearth::store::ConversationStore;

namespace {

LoadedModelInfo fakeLoaded(const QString& path) {
    LoadedModelInfo info;
    info.path = path;
    info.name = "tiny";
    info.deviceId = "cpu";
    info.backend = "cpu";
    info.deviceName = "test CPU";
    info.fingerprint = "f00d";
    info.contextSize = 2048;
    return info;
}

}  // namespace

class ViewModelsTest : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::unique_ptr<ConversationStore> store_;

private slots:
    void initTestCase() {
        qputenv("XDG_CONFIG_HOME", dir_.filePath("config").toUtf8());
        qputenv("XDG_DATA_HOME", dir_.filePath("data").toUtf8());
    }
    void init() {
        store_.reset();
        QFile::remove(dir_.filePath("h.sqlite"));
        store_ = std::make_unique<ConversationStore>(dir_.filePath("h.sqlite"));
    }
    void cleanup() { store_.reset(); }

    void markdownSplitsCodeBlocks() {
        const auto blocks = splitMarkdown("Intro *text*\n\n```cpp\nint main() {}\n```\n- a\n- b\n\n~~~\nraw\n~~~");
        QCOMPARE(blocks.size(), 4);
        QCOMPARE(blocks[0], (MarkdownBlock{MarkdownBlock::Text, "Intro *text*", {}}));
        QCOMPARE(blocks[1], (MarkdownBlock{MarkdownBlock::Code, "int main() {}", "cpp"}));
        QCOMPARE(blocks[2], (MarkdownBlock{MarkdownBlock::Text, "- a\n- b", {}}));
        QCOMPARE(blocks[3], (MarkdownBlock{MarkdownBlock::Code, "raw", {}}));
        // While streaming, an open fence runs to the end; a shorter or different fence inside
        // the block is content.
        const auto open = splitMarkdown("See:\n````md\n```\nnested\n");
        QCOMPARE(open.size(), 2);
        QCOMPARE(open[1], (MarkdownBlock{MarkdownBlock::Code, "```\nnested", "md"}));
        QCOMPARE(splitMarkdown("| a | b |\n|---|---|\n| 1 | 2 |").size(), 1);
        QVERIFY(splitMarkdown("").isEmpty());
    }

    void streamingIsCoalescedToOneChangePerFrame() {
        MessageListModel model;
        store::MessageRecord answer;
        answer.role = "assistant";
        model.setRows({{answer}});
        QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
        QElapsedTimer clock;
        clock.start();
        for (int i = 0; i < 5000; ++i) model.appendToStreaming(QStringLiteral("x"));
        QCOMPARE(changes.size(), 0);  // nothing published synchronously
        QTRY_COMPARE(model.rows().last().message.content.size(), 5000);
        const qint64 frames = clock.elapsed() / MessageListModel::kFlushIntervalMs + 1;
        QVERIFY2(changes.size() <= frames, qPrintable(QString::number(changes.size())));
        QCOMPARE(model.data(model.index(0), MessageListModel::StreamingRole).toBool(), true);
    }

    void sidebarSearchRenameDeleteUndo() {
        const qint64 a = store_->createConversation("Alpha");
        const qint64 b = store_->createConversation("Beta");
        store_->addMessage({.conversationId = b, .role = "user", .content = "the word zebra"});
        ConversationListModel list(*store_);
        QCOMPARE(list.rowCount(), 2);
        list.setSearchText("zebra");
        QCOMPARE(list.rowCount(), 1);
        QCOMPARE(list.data(list.index(0), ConversationListModel::ConversationIdRole).toLongLong(), b);
        list.setSearchText({});
        list.rename(a, "  Alpha   renamed ");
        QCOMPARE(store_->conversation(a).title, QString("Alpha renamed"));

        QSignalSpy removed(&list, &ConversationListModel::removed);
        list.remove(a);
        QCOMPARE(removed.size(), 1);
        QCOMPARE(list.rowCount(), 1);
        QVERIFY(list.canUndoRemove());
        QVERIFY(list.undoText().contains("Alpha renamed"));
        list.undoRemove();
        QCOMPARE(list.rowCount(), 2);
        QVERIFY(!list.canUndoRemove());
        // A second delete makes the first one final.
        list.remove(a);
        list.remove(b);
        QCOMPARE(store_->conversation(a).id, qint64(0));
        list.undoRemove();
        QCOMPARE(list.rowCount(), 1);
        QCOMPARE(list.rowOf(b), 0);
    }

    void settingsAreSaved() {
        store::AppSettings settings;
        SettingsModel model(settings);
        QSignalSpy hint(&model, &SettingsModel::restartHintChanged);
        model.setDevice("cpu");
        model.setThreads(-5);
        QCOMPARE(model.threads(), 0);
        model.setThreads(4);
        model.setContextSize(8192);
        model.setDarkTheme(true);
        model.setModelFolder(dir_.filePath("models"));
        QCOMPARE(hint.size(), 1);
        store::AppSettings reread;
        QCOMPARE(reread.device(), QString("cpu"));
        QCOMPARE(reread.threads(), 4);
        QCOMPARE(reread.contextSize(), 8192);
        QVERIFY(reread.darkTheme());
        QCOMPARE(reread.modelFolder(), dir_.filePath("models"));
    }

    void modelPickerListsAndFollowsLoading() {
        const QString folder = dir_.filePath("picker");
        QDir().mkpath(folder + "/org/repo");
        for (const QString& f : {folder + "/b.gguf", folder + "/org/repo/a-q4.gguf", folder + "/notes.txt"}) {
            QFile file(f);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write("GGUF");
        }
        store::AppSettings settings;
        settings.setModelFolder(folder);
        settings.setDevice("cpu");
        settings.setThreads(2);
        ModelListModel models(settings);
        QCOMPARE(models.rowCount(), 2);
        QStringList names{models.data(models.index(0), ModelListModel::NameRole).toString(),
                          models.data(models.index(1), ModelListModel::NameRole).toString()};
        QVERIFY2(names.contains("b") && names.contains("repo / a-q4"), qPrintable(names.join(",")));

        QSignalSpy requests(&models, &ModelListModel::loadRequested);
        models.load(folder + "/missing.gguf");
        QCOMPARE(requests.size(), 0);
        QVERIFY(models.errorText().contains("missing.gguf"));

        models.load(folder + "/b.gguf");
        QCOMPARE(requests.size(), 1);
        const auto request = requests[0][0].value<ModelLoadRequest>();
        QCOMPARE(request.device, QString("cpu"));
        QCOMPARE(request.threads, 2);
        QVERIFY(models.loading());
        QVERIFY(models.errorText().isEmpty());
        models.onLoadProgress(0.5);
        QCOMPARE(models.progress(), 0.5);
        models.onModelLoaded(fakeLoaded(request.path));
        QVERIFY(!models.loading());
        QCOMPARE(models.loadedName(), QString("tiny"));
        QCOMPARE(models.currentIndex(), models.rowCount() > 0 ? models.currentIndex() : -2);
        QVERIFY(models.currentIndex() >= 0);
        QCOMPARE(settings.lastModel(), request.path);

        models.onLoadFailed(folder + "/b.gguf", "unsupported architecture 'gpt2'");
        QVERIFY(models.errorText().contains("unsupported architecture"));
    }

    void controllerCommitsUserMessageBeforeGenerating() {
        ChatController chat(*store_);
        QVERIFY(!chat.canSend());
        QVERIFY(!chat.send("hello"));  // no model yet
        QVERIFY(chat.inputHint().contains("Load a model"));
        chat.onModelLoaded(fakeLoaded("/models/tiny.gguf"));
        QVERIFY(chat.canSend());
        chat.setSystemPrompt("Be brief.");
        chat.setTemperature(0.3);

        ChatRequest seen;
        bool committedFirst = false;
        connect(&chat, &ChatController::generateRequested, this, [&](const ChatRequest& r) {
            seen = r;
            // At this moment the user's message and the empty answer are already in the database.
            const auto path = store_->branch(chat.conversationId());
            committedFirst = path.size() == 2 && path[0].content == "hello" && path[1].role == "assistant" &&
                             path[1].finishReason.isEmpty();
        });
        QVERIFY(chat.send("  hello  "));
        QVERIFY(committedFirst);
        QVERIFY(chat.generating());
        QVERIFY(!chat.canSend());
        QCOMPARE(chat.title(), QString("hello"));
        QCOMPARE(seen.messages.size(), size_t(2));
        QCOMPARE(seen.messages[0]["role"], "system");
        QCOMPARE(seen.messages[1]["content"], "hello");
        QCOMPARE(seen.sampler.temperature, 0.3f);
        QVERIFY(seen.sampler.seed != 0);  // a random seed, recorded with the answer
        QCOMPARE(store_->conversation(chat.conversationId()).systemPrompt, QString("Be brief."));

        // Streaming: shown coalesced, checkpointed at least every kCheckpointMs.
        const qint64 answerId = store_->branch(chat.conversationId()).last().id;
        QCOMPARE(store_->message(answerId).seed, qint64(seen.sampler.seed));
        chat.onPiece(seen.id, "Hel");
        chat.onPiece(seen.id + 7, "ignored: another request");
        QTest::qWait(ChatController::kCheckpointMs + 50);
        chat.onPiece(seen.id, "lo");
        QCOMPARE(store_->message(answerId).content, QString("Hello"));
        QTRY_COMPARE(chat.messages()->rows().last().message.content, QString("Hello"));

        // Stop: the request is cancelled, the partial answer kept and marked.
        QSignalSpy cancels(&chat, &ChatController::cancelRequested);
        chat.stop();
        QCOMPARE(cancels.size(), 1);
        QCOMPARE(cancels[0][0].toULongLong(), seen.id);
        chat.onPiece(seen.id, "!");
        ChatOutcome outcome;
        outcome.id = seen.id;
        outcome.finish = "stopped";
        outcome.generatedTokens = 3;
        outcome.decodeTokensPerSecond = 12.5;
        outcome.contextUsed = 30;
        outcome.contextSize = 2048;
        chat.onGenerationFinished(outcome);
        QVERIFY(!chat.generating());
        const auto stored = store_->message(answerId);
        QCOMPARE(stored.content, QString("Hello!"));
        QCOMPARE(stored.finishReason, QString("stopped"));
        QCOMPARE(stored.modelFile, QString("/models/tiny.gguf"));
        QCOMPARE(stored.backend, QString("cpu"));
        QVERIFY(chat.statusText().contains("12.5 tok/s"));
        QVERIFY(chat.statusText().contains("30 / 2048"));
        QVERIFY(chat.messages()->data(chat.messages()->index(1), MessageListModel::DetailsRole)
                    .toString()
                    .contains("stopped"));
    }

    void regenerateEditAndSwitchBranches() {
        ChatController chat(*store_);
        chat.onModelLoaded(fakeLoaded("/models/tiny.gguf"));
        quint64 last = 0;
        connect(&chat, &ChatController::generateRequested, this, [&](const ChatRequest& r) { last = r.id; });
        auto answer = [&](const QString& text) {
            chat.onPiece(last, text);
            ChatOutcome o;
            o.id = last;
            o.finish = "complete";
            chat.onGenerationFinished(o);
        };
        QVERIFY(chat.send("Q1"));
        answer("A1");
        chat.regenerate();
        answer("A1 again");
        auto* rows = chat.messages();
        QCOMPARE(rows->rowCount(), 2);
        QCOMPARE(rows->rows()[1].message.content, QString("A1 again"));
        QCOMPARE(rows->rows()[1].siblingIndex, 2);
        QCOMPARE(rows->rows()[1].siblingCount, 2);
        chat.showAlternative(1, -1);
        QCOMPARE(rows->rows()[1].message.content, QString("A1"));

        QVERIFY(chat.send("Q2"));
        answer("A2");
        QCOMPARE(rows->rowCount(), 4);
        // Edit the first question: a new branch from the root; the old one stays reachable.
        QVERIFY(chat.editAndResend(0, "Q1 edited"));
        answer("B1");
        QCOMPARE(rows->rowCount(), 2);
        QCOMPARE(rows->rows()[0].message.content, QString("Q1 edited"));
        QCOMPARE(rows->rows()[0].siblingCount, 2);
        chat.showAlternative(0, -1);
        QCOMPARE(rows->rowCount(), 4);
        QCOMPARE(rows->rows()[3].message.content, QString("A2"));
        QCOMPARE(rows->rows()[1].message.content, QString("A1"));

        // Reopening the conversation shows the branch that was last shown.
        const qint64 id = chat.conversationId();
        chat.newConversation();
        QCOMPARE(rows->rowCount(), 0);
        chat.openConversation(id);
        QCOMPARE(rows->rowCount(), 4);
    }

    void exportAndImportThroughTheController() {
        ChatController chat(*store_);
        chat.onModelLoaded(fakeLoaded("/models/tiny.gguf"));
        quint64 last = 0;
        connect(&chat, &ChatController::generateRequested, this, [&](const ChatRequest& r) { last = r.id; });
        QVERIFY(chat.send("Export me"));
        chat.onPiece(last, "Sure.");
        ChatOutcome o;
        o.id = last;
        o.finish = "complete";
        chat.onGenerationFinished(o);
        const QString json = dir_.filePath("chat.json");
        const QString md = dir_.filePath("chat.md");
        QVERIFY(chat.exportConversation(QUrl::fromLocalFile(json)));
        QVERIFY(chat.exportConversation(QUrl::fromLocalFile(md)));
        QFile mdFile(md);
        QVERIFY(mdFile.open(QIODevice::ReadOnly));
        QVERIFY(mdFile.readAll().contains("Sure."));
        const qint64 before = chat.conversationId();
        QVERIFY(chat.importConversation(QUrl::fromLocalFile(json)));
        QVERIFY(chat.conversationId() != before);
        QCOMPARE(chat.messages()->rows().last().message.content, QString("Sure."));
        QVERIFY(!chat.importConversation(QUrl::fromLocalFile(md)));  // not JSON
        QVERIFY(!chat.errorText().isEmpty());
    }

    void readOnlyHistoryRefusesToSend() {
        store_.reset();
        auto locker = QSqlDatabase::addDatabase("QSQLITE", "lock");
        locker.setDatabaseName(dir_.filePath("h.sqlite"));
        QVERIFY(locker.open());
        QSqlQuery q(locker);
        QVERIFY(q.exec("BEGIN EXCLUSIVE"));
        {
            ConversationStore locked(dir_.filePath("h.sqlite"));
            ChatController chat(locked);
            chat.onModelLoaded(fakeLoaded("/models/tiny.gguf"));
            QVERIFY(!chat.noticeText().isEmpty());
            QVERIFY(!chat.canSend());
            QVERIFY(!chat.send("lost?"));
            QVERIFY(chat.inputHint().contains("read-only"));
        }
        q.exec("ROLLBACK");
        q = QSqlQuery();
        locker.close();
        locker = QSqlDatabase();
        QSqlDatabase::removeDatabase("lock");
    }
};

QTEST_MAIN(ViewModelsTest)
#include "viewmodels_test.moc"
