#include "ui/store/app_settings.h"

#include <QStandardPaths>

namespace hearth::store {

AppSettings::AppSettings() : settings_(QSettings::IniFormat, QSettings::UserScope, "Hearth", "Hearth") {}

QString AppSettings::defaultModelFolder() {
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + "/Hearth/models";
}

QString AppSettings::modelFolder() const {
    settings_.sync();
    return settings_.value("models/folder", defaultModelFolder()).toString();
}
void AppSettings::setModelFolder(const QString& folder) { settings_.setValue("models/folder", folder); }

QString AppSettings::device() const { return settings_.value("engine/device", "auto").toString(); }
void AppSettings::setDevice(const QString& device) { settings_.setValue("engine/device", device); }

int AppSettings::threads() const { return qMax(0, settings_.value("engine/threads", 0).toInt()); }
void AppSettings::setThreads(int threads) { settings_.setValue("engine/threads", qMax(0, threads)); }

int AppSettings::contextSize() const { return qMax(0, settings_.value("engine/contextSize", 0).toInt()); }
void AppSettings::setContextSize(int tokens) { settings_.setValue("engine/contextSize", qMax(0, tokens)); }

bool AppSettings::darkTheme() const { return settings_.value("ui/darkTheme", false).toBool(); }
void AppSettings::setDarkTheme(bool dark) { settings_.setValue("ui/darkTheme", dark); }

QString AppSettings::lastModel() const { return settings_.value("models/last").toString(); }
void AppSettings::setLastModel(const QString& path) { settings_.setValue("models/last", path); }

}  // namespace hearth::store
