// The real window (Main.qml with the real view-models, history, worker thread and the fixture
// model): the input has focus on open, typing and Enter send, Shift+Enter adds a line, the answer
// streams in, and a screenshot is saved in the build folder. Also: a 1000-message conversation
// creates only the delegates on screen, and the keyboard shortcuts work.
#include <QGuiApplication>
#include <QQmlApplicationEngine>
#include <QQuickItem>
#include <QQuickStyle>
#include <QQuickWindow>
#include <QTemporaryDir>
#include <QThread>
#include <QtQml/QQmlExtensionPlugin>
#include <QtTest>

#include "inference/worker/inference_worker.h"
#include "tests/app/fixture_model.h"
#include "ui/workspace.h"

Q_IMPORT_QML_PLUGIN(Hearth_UiPlugin)

using namespace hearth;

class GuiTest : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString model_;
    QThread thread_;
    InferenceWorker* worker_ = nullptr;
    std::unique_ptr<store::ConversationStore> history_;
    std::unique_ptr<store::AppSettings> settings_;
    std::unique_ptr<ui::Workspace> workspace_;
    std::unique_ptr<QQmlApplicationEngine> engine_;
    QQuickWindow* window_ = nullptr;

    void typeText(const QString& text) {
        for (const QChar c : text) QTest::keyClick(window_, c.toLatin1());
    }
    QQuickItem* input() const { return window_->findChild<QQuickItem*>("messageInput"); }
    QString inputText() const { return input()->property("text").toString(); }
    // Counts in the visual tree: ListView parents its delegates visually, not as QObjects.
    static int itemsNamed(QQuickItem* root, const QString& objectName) {
        int n = root->objectName() == objectName ? 1 : 0;
        for (auto* child : root->childItems()) n += itemsNamed(child, objectName);
        return n;
    }

private slots:
    void initTestCase() {
        QString error;
        model_ = testing::fixtureChatModel(&error);
        QVERIFY2(!model_.isEmpty(), qPrintable(error));
        qputenv("XDG_CONFIG_HOME", dir_.filePath("config").toUtf8());
        qputenv("XDG_DATA_HOME", dir_.filePath("data").toUtf8());
        settings_ = std::make_unique<store::AppSettings>();
        settings_->setDevice("cpu");
        settings_->setThreads(1);
        settings_->setModelFolder(QFileInfo(model_).absolutePath());
        history_ = std::make_unique<store::ConversationStore>(store::ConversationStore::defaultPath());
        worker_ = new InferenceWorker;
        worker_->moveToThread(&thread_);
        connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
        thread_.start();

        QQuickStyle::setStyle("Material");
        workspace_ = std::make_unique<ui::Workspace>(*history_, *settings_, *worker_);
        engine_ = std::make_unique<QQmlApplicationEngine>();
        engine_->addImportPath("qrc:/qt/qml");
        engine_->setInitialProperties(workspace_->qmlProperties());
        engine_->load(ui::Workspace::mainQml());
        QCOMPARE(engine_->rootObjects().size(), 1);
        window_ = qobject_cast<QQuickWindow*>(engine_->rootObjects().first());
        QVERIFY(window_);
        QVERIFY(QTest::qWaitForWindowExposed(window_));
        // Window shortcuts (Ctrl+N, Esc) only fire in the active window, as for a user.
        window_->requestActivate();
        QVERIFY(QTest::qWaitForWindowActive(window_));
    }
    void cleanupTestCase() {
        engine_.reset();
        workspace_.reset();
        worker_->cancelGeneration(std::numeric_limits<quint64>::max());
        thread_.quit();
        thread_.wait();
    }

    void inputIsDisabledUntilAModelIsLoaded() {
        QVERIFY(input());
        QVERIFY(!input()->isEnabled());
        QVERIFY(input()->property("placeholderText").toString().contains("Load a model"));
        workspace_->models.load(model_);
        QTRY_VERIFY_WITH_TIMEOUT(workspace_->chat.modelReady(), 60000);
        QTRY_VERIFY(input()->isEnabled());
        // The window puts the keyboard focus in the input box.
        QTRY_VERIFY(input()->hasActiveFocus());
    }

    void typeSendAndWatchTheAnswerStream() {
        auto& chat = workspace_->chat;
        chat.setMaxTokens(60);
        typeText("Hello Hearth");
        QTest::keyClick(window_, Qt::Key_Return, Qt::ShiftModifier);
        typeText("second line");
        QCOMPARE(inputText(), QString("Hello Hearth\nsecond line"));
        QTest::keyClick(window_, Qt::Key_Return);
        QTRY_COMPARE(chat.messages()->rowCount(), 2);
        QCOMPARE(inputText(), QString());
        QCOMPARE(chat.messages()->rows()[0].message.content, QString("Hello Hearth\nsecond line"));
        QTRY_VERIFY_WITH_TIMEOUT(!chat.generating(), 60000);
        QVERIFY(!chat.messages()->rows()[1].message.content.isEmpty());
        QCOMPARE(workspace_->conversations.rowCount(), 1);
        QVERIFY(chat.statusText().contains("tok/s"));
        QTest::qWait(200);  // let the last frame render
        const QImage shot = window_->grabWindow();
        QVERIFY(!shot.isNull());
        const QString path = QStringLiteral(HEARTH_BUILD_DIR "/tests/app_gui_screenshot.png");
        QVERIFY(shot.save(path));
        qInfo() << "screenshot:" << path;
    }

    void shortcutsStopAndStartChats() {
        auto& chat = workspace_->chat;
        chat.setMaxTokens(1800);
        typeText("Another long one");
        QTest::keyClick(window_, Qt::Key_Return);
        QTRY_VERIFY(chat.generating());
        QTest::keyClick(window_, Qt::Key_Escape);
        QTRY_VERIFY_WITH_TIMEOUT(!chat.generating(), 2000);
        QCOMPARE(chat.messages()->rows().last().message.finishReason, QString("stopped"));
        QTest::keyClick(window_, Qt::Key_N, Qt::ControlModifier);
        QCOMPARE(chat.conversationId(), qint64(0));
        QCOMPARE(chat.messages()->rowCount(), 0);
        QTRY_VERIFY(input()->hasActiveFocus());
    }

    void longConversationsAreVirtualized() {
        const qint64 c = history_->createConversation("Long");
        qint64 parent = 0;
        for (int i = 0; i < 1000; ++i)
            parent = history_->addMessage({.conversationId = c, .parentId = parent, .role = i % 2 ? "assistant" : "user",
                                           .content = QStringLiteral("Message %1 with `code` and **bold**").arg(i),
                                           .finishReason = "complete"});
        QElapsedTimer clock;
        clock.start();
        workspace_->chat.openConversation(c);
        QCOMPARE(workspace_->chat.messages()->rowCount(), 1000);
        QTest::qWait(300);
        const int created = itemsNamed(window_->contentItem(), "messageDelegate");
        qInfo() << "opened 1000 messages in" << clock.elapsed() << "ms;" << created << "delegates exist";
        QVERIFY2(created > 0 && created < 100, qPrintable(QString::number(created)));
    }
};

int main(int argc, char** argv) {
    // A real X server (xvfb-run in scripts/test.sh) when there is one, otherwise offscreen.
    if (!qEnvironmentVariableIsEmpty("DISPLAY")) qputenv("QT_QPA_PLATFORM", "xcb");
    QGuiApplication app(argc, argv);
    GuiTest test;
    return QTest::qExec(&test, argc, argv);
}

#include "gui_test.moc"
