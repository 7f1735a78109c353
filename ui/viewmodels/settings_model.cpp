#include "ui/viewmodels/settings_model.h"

namespace hearth::ui {

SettingsModel::SettingsModel(store::AppSettings& settings, QObject* parent) : QObject(parent), settings_(settings) {}

void SettingsModel::setModelFolder(const QString& folder) {
    if (folder.isEmpty() || folder == modelFolder()) return;
    settings_.setModelFolder(folder);
    emit modelFolderChanged();
}

void SettingsModel::setDevice(const QString& device) {
    if (device.trimmed().isEmpty() || device == this->device()) return;
    settings_.setDevice(device.trimmed());
    emit deviceChanged();
    engineSettingChanged();
}

QStringList SettingsModel::deviceChoices() const {
    // The engine resolves "auto" (CUDA, then HIP, then Vulkan, then the CPU); the rest are the
    // usual first devices. The field also accepts any other id ("cuda:1").
    return {"auto", "cpu", "cuda:0", "hip:0", "vulkan:0"};
}

void SettingsModel::setThreads(int threads) {
    threads = qBound(0, threads, 1024);
    if (threads == this->threads()) return;
    settings_.setThreads(threads);
    emit threadsChanged();
    engineSettingChanged();
}

void SettingsModel::setContextSize(int tokens) {
    tokens = qBound(0, tokens, 1 << 20);
    if (tokens == contextSize()) return;
    settings_.setContextSize(tokens);
    emit contextSizeChanged();
    engineSettingChanged();
}

void SettingsModel::setDarkTheme(bool dark) {
    if (dark == darkTheme()) return;
    settings_.setDarkTheme(dark);
    emit darkThemeChanged();
}

void SettingsModel::engineSettingChanged() {
    const QString hint = QStringLiteral("Applies the next time a model is loaded.");
    if (restartHint_ == hint) return;
    restartHint_ = hint;
    emit restartHintChanged();
}

}  // namespace hearth::ui
