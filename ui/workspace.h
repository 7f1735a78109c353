// The view-models of one window, wired to the history store, the settings and the inference
// worker. The application (app/gui_main.cpp) owns the store, the settings, the worker and its
// thread and passes them in; tests build the same graph the same way.
//
//   Workspace workspace(history, settings, *worker);
//   engine.setInitialProperties(workspace.qmlProperties());   // Main.qml's required properties
//   engine.load(Workspace::mainQml());
#pragma once

#include <QObject>
#include <QUrl>
#include <QVariantMap>

#include "inference/worker/inference_worker.h"
#include "ui/store/app_settings.h"
#include "ui/store/conversation_store.h"
#include "ui/viewmodels/chat_controller.h"
#include "ui/viewmodels/conversation_list_model.h"
#include "ui/viewmodels/model_list_model.h"
#include "ui/viewmodels/settings_model.h"

namespace hearth::ui {

class Workspace {
public:
    Workspace(store::ConversationStore& history, store::AppSettings& settings, InferenceWorker& worker);

    ChatController chat;
    ConversationListModel conversations;
    ModelListModel models;
    SettingsModel settings;

    QVariantMap qmlProperties();
    static QUrl mainQml() { return QUrl(QStringLiteral("qrc:/qt/qml/Hearth/Ui/qml/Main.qml")); }
};

}  // namespace hearth::ui
