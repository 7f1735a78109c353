// The settings page: model folder, device, threads, context size, theme. Writes go straight to
// the shared settings file (the CLI reads the same one).
#pragma once

#include <QObject>
#include <QStringList>
#include <QUrl>
#include <QtQml/qqmlregistration.h>

#include "ui/store/app_settings.h"

namespace hearth::ui {

class SettingsModel : public QObject {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("created by the application")
    Q_PROPERTY(QString modelFolder READ modelFolder WRITE setModelFolder NOTIFY modelFolderChanged)
    Q_PROPERTY(QString device READ device WRITE setDevice NOTIFY deviceChanged)
    Q_PROPERTY(QStringList deviceChoices READ deviceChoices CONSTANT)
    Q_PROPERTY(int threads READ threads WRITE setThreads NOTIFY threadsChanged)
    Q_PROPERTY(int contextSize READ contextSize WRITE setContextSize NOTIFY contextSizeChanged)
    Q_PROPERTY(bool darkTheme READ darkTheme WRITE setDarkTheme NOTIFY darkThemeChanged)
    Q_PROPERTY(QString restartHint READ restartHint NOTIFY restartHintChanged)
public:
    explicit SettingsModel(store::AppSettings& settings, QObject* parent = nullptr);

    QString modelFolder() const { return settings_.modelFolder(); }
    void setModelFolder(const QString& folder);
    Q_INVOKABLE void setModelFolderUrl(const QUrl& url) { setModelFolder(url.toLocalFile()); }
    QString device() const { return settings_.device(); }
    void setDevice(const QString& device);
    QStringList deviceChoices() const;
    int threads() const { return settings_.threads(); }
    void setThreads(int threads);
    int contextSize() const { return settings_.contextSize(); }
    void setContextSize(int tokens);
    bool darkTheme() const { return settings_.darkTheme(); }
    void setDarkTheme(bool dark);
    // Device, threads and context size apply to the next model load; this says so once changed.
    QString restartHint() const { return restartHint_; }

signals:
    void modelFolderChanged();
    void deviceChanged();
    void threadsChanged();
    void contextSizeChanged();
    void darkThemeChanged();
    void restartHintChanged();

private:
    store::AppSettings& settings_;
    QString restartHint_;
    void engineSettingChanged();
};

}  // namespace hearth::ui
