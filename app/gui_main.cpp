// The desktop app's start-up: builds the object graph (settings, history, inference worker on
// its own thread, view-models), loads the QML window, and on exit stops and joins the worker
// thread after the view-models have saved what they were streaming.
#include "app/gui_main.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QGuiApplication>
#include <QIcon>
#include <QQmlApplicationEngine>
#include <QQuickStyle>
#include <QThread>
#include <QtQml/QQmlExtensionPlugin>
#include <cstdio>
#include <limits>

#include "inference/worker/inference_worker.h"
#include "ui/store/app_settings.h"
#include "ui/store/conversation_store.h"
#include "ui/workspace.h"

Q_IMPORT_QML_PLUGIN(Hearth_UiPlugin)

namespace hearth::app {

int runGui(int argc, char** argv) {
    QGuiApplication app(argc, argv);
    QGuiApplication::setApplicationName(QStringLiteral("Hearth"));
    QGuiApplication::setApplicationVersion(QStringLiteral(HEARTH_VERSION));
    QGuiApplication::setDesktopFileName(QStringLiteral("hearth"));
    QGuiApplication::setWindowIcon(QIcon(QStringLiteral(":/hearth/icons/hearth.png")));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Hearth — chat with language models on your own computer."));
    parser.addHelpOption();
    const QCommandLineOption modelOption(QStringLiteral("model"), QStringLiteral("Start with this GGUF model."),
                                         QStringLiteral("PATH"));
    parser.addOption(modelOption);
    if (!parser.parse(QGuiApplication::arguments())) {
        std::fprintf(stderr, "hearth: %s (see 'hearth --help')\n", qPrintable(parser.errorText()));
        return 2;
    }
    QString model = parser.value(modelOption);
    if (!model.isEmpty() && !QFileInfo(model).isFile()) {
        std::fprintf(stderr, "hearth: --model %s: no such file\n", qPrintable(model));
        return 1;
    }

    QQuickStyle::setStyle(QStringLiteral("Material"));
    store::AppSettings settings;
    store::ConversationStore history(store::ConversationStore::defaultPath());

    QThread inferenceThread;
    inferenceThread.setObjectName(QStringLiteral("hearth-inference"));
    auto* worker = new InferenceWorker;  // deleted on its own thread when the thread finishes
    worker->moveToThread(&inferenceThread);
    QObject::connect(&inferenceThread, &QThread::finished, worker, &QObject::deleteLater);
    inferenceThread.start();

    int rc = 0;
    {
        ui::Workspace workspace(history, settings, *worker);
        QQmlApplicationEngine engine;
        engine.addImportPath(QStringLiteral("qrc:/qt/qml"));
        engine.setInitialProperties(workspace.qmlProperties());
        QObject::connect(
            &engine, &QQmlApplicationEngine::objectCreationFailed, &app, [] { QCoreApplication::exit(1); },
            Qt::QueuedConnection);
        engine.load(ui::Workspace::mainQml());
        if (engine.rootObjects().isEmpty()) {
            rc = 1;
        } else {
            if (model.isEmpty() && QFileInfo(settings.lastModel()).isFile()) model = settings.lastModel();
            if (!model.isEmpty()) workspace.models.load(model);
            rc = QGuiApplication::exec();
        }
    }  // the view-models save what was streaming and cancel the worker's request here

    worker->cancelLoad();
    worker->cancelGeneration(std::numeric_limits<quint64>::max());
    inferenceThread.quit();
    inferenceThread.wait();
    return rc;
}

}  // namespace hearth::app
