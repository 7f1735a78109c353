// Settings shared by the desktop app and the command line: one INI file at
// $XDG_CONFIG_HOME/Hearth/Hearth.conf (QSettings, user scope). Values are read when asked for, so
// a change made by `hearth` in a terminal shows up in the next read.
#pragma once

#include <QSettings>
#include <QString>

namespace hearth::store {

class AppSettings {
public:
    AppSettings();

    QString modelFolder() const;  // default: $XDG_DATA_HOME/Hearth/models
    void setModelFolder(const QString& folder);
    QString device() const;       // "auto", "cpu", "cuda:0", ...
    void setDevice(const QString& device);
    int threads() const;          // 0 = physical cores
    void setThreads(int threads);
    int contextSize() const;      // 0 = min(model context, 4096)
    void setContextSize(int tokens);
    bool darkTheme() const;
    void setDarkTheme(bool dark);
    QString lastModel() const;    // the GGUF file loaded last, reloaded on start
    void setLastModel(const QString& path);

    static QString defaultModelFolder();
    QString fileName() const { return settings_.fileName(); }

private:
    mutable QSettings settings_;
};

}  // namespace hearth::store
