#include "ui/workspace.h"

namespace hearth::ui {

Workspace::Workspace(store::ConversationStore& history, store::AppSettings& appSettings, InferenceWorker& worker)
    : chat(history), conversations(history), models(appSettings), settings(appSettings) {
    // Requests: thread-safe calls that queue work on the worker's thread (cancel is immediate).
    QObject::connect(&models, &ModelListModel::loadRequested, &worker,
                     [&worker](const ModelLoadRequest& r) { worker.requestLoad(r); }, Qt::DirectConnection);
    QObject::connect(&models, &ModelListModel::loadCancelRequested, &worker, [&worker] { worker.cancelLoad(); },
                     Qt::DirectConnection);
    QObject::connect(&chat, &ChatController::generateRequested, &worker,
                     [&worker](const ChatRequest& r) { worker.requestGenerate(r); }, Qt::DirectConnection);
    QObject::connect(&chat, &ChatController::cancelRequested, &worker,
                     [&worker](quint64 id) { worker.cancelGeneration(id); }, Qt::DirectConnection);

    // Answers: queued signals from the worker's thread.
    QObject::connect(&worker, &InferenceWorker::loadStarted, &models, &ModelListModel::onLoadStarted);
    QObject::connect(&worker, &InferenceWorker::loadStarted, &chat, &ChatController::onModelUnloaded);
    QObject::connect(&worker, &InferenceWorker::loadProgress, &models, &ModelListModel::onLoadProgress);
    QObject::connect(&worker, &InferenceWorker::modelLoaded, &models, &ModelListModel::onModelLoaded);
    QObject::connect(&worker, &InferenceWorker::modelLoaded, &chat, &ChatController::onModelLoaded);
    QObject::connect(&worker, &InferenceWorker::loadFailed, &models, &ModelListModel::onLoadFailed);
    QObject::connect(&worker, &InferenceWorker::pieceReady, &chat, &ChatController::onPiece);
    QObject::connect(&worker, &InferenceWorker::generationFinished, &chat, &ChatController::onGenerationFinished);

    // Between view-models.
    QObject::connect(&chat, &ChatController::historyChanged, &conversations, &ConversationListModel::refresh);
    QObject::connect(&conversations, &ConversationListModel::removed, &chat, &ChatController::onConversationRemoved);
    QObject::connect(&conversations, &ConversationListModel::openRequested, &chat,
                     &ChatController::openConversation);
    QObject::connect(&chat, &ChatController::conversationChanged, &conversations,
                     [this] { conversations.setCurrent(chat.conversationId()); });
    QObject::connect(&settings, &SettingsModel::modelFolderChanged, &models, &ModelListModel::refresh);
}

QVariantMap Workspace::qmlProperties() {
    return {{"chat", QVariant::fromValue(&chat)},
            {"conversations", QVariant::fromValue(&conversations)},
            {"models", QVariant::fromValue(&models)},
            {"settings", QVariant::fromValue(&settings)}};
}

}  // namespace hearth::ui
