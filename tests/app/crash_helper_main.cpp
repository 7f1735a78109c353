// The app without its window, for the crash test: the real history store, inference worker
// thread and view-models, driven as a user would (load a model, send a message, and keep
// regenerating so an answer is always streaming). It reports on stdout, one line each:
//   U <user message id>     the message was sent (and committed)
//   A <answer message id>   an answer started streaming
//   P <base64 text>         a piece of the answer reached the chat view-model
// The test kills it with SIGKILL at a moment of its choosing.
#include <QFile>
#include <QGuiApplication>
#include <QThread>
#include <QTimer>
#include <cstdio>

#include "inference/worker/inference_worker.h"
#include "ui/workspace.h"

using namespace hearth;

namespace {

void say(const QByteArray& line) {
    std::fwrite(line.constData(), 1, size_t(line.size()), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

qint64 currentLeaf(store::ConversationStore& history, qint64 conversation) {
    return history.conversation(conversation).currentLeafId;
}

}  // namespace

int main(int argc, char** argv) {
    QGuiApplication app(argc, argv);
    if (argc < 3) {
        std::fprintf(stderr, "usage: app_crash_helper MODEL.gguf PROMPT\n");
        return 2;
    }
    const QString model = QString::fromLocal8Bit(argv[1]);
    const QString prompt = QString::fromLocal8Bit(argv[2]);

    store::AppSettings settings;
    settings.setDevice("cpu");
    settings.setThreads(1);
    store::ConversationStore history(store::ConversationStore::defaultPath());
    if (!history.problem().isEmpty()) {
        std::fprintf(stderr, "%s\n", qPrintable(history.problem()));
        return 1;
    }

    QThread thread;
    auto* worker = new InferenceWorker;
    worker->moveToThread(&thread);
    QObject::connect(&thread, &QThread::finished, worker, &QObject::deleteLater);
    thread.start();
    int rc = 0;
    {
        ui::Workspace workspace(history, settings, *worker);
        auto& chat = workspace.chat;
        chat.setMaxTokens(1800);
        // Connected after the workspace: runs once the controller has handled the same signal.
        QObject::connect(worker, &InferenceWorker::pieceReady, &app,
                         [](quint64, const QString& piece) { say("P " + piece.toUtf8().toBase64()); });
        QObject::connect(worker, &InferenceWorker::modelLoaded, &app, [&] {
            if (!chat.send(prompt)) {
                std::fprintf(stderr, "send failed: %s\n", qPrintable(chat.errorText()));
                QCoreApplication::exit(1);
                return;
            }
            const auto path = history.branch(chat.conversationId());
            say("U " + QByteArray::number(path[0].id));
            say("A " + QByteArray::number(path[1].id));
        });
        QObject::connect(worker, &InferenceWorker::generationFinished, &app, [&] {
            QTimer::singleShot(0, &app, [&] {
                chat.regenerate();
                say("A " + QByteArray::number(currentLeaf(history, chat.conversationId())));
            });
        });
        QObject::connect(worker, &InferenceWorker::loadFailed, &app, [](const QString&, const QString& why) {
            std::fprintf(stderr, "load failed: %s\n", qPrintable(why));
            QCoreApplication::exit(1);
        });
        workspace.models.load(model);
        rc = QCoreApplication::exec();
    }
    worker->cancelGeneration(std::numeric_limits<quint64>::max());
    thread.quit();
    thread.wait();
    return rc;
}
