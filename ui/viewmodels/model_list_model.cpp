#include "ui/viewmodels/model_list_model.h"

#include <QDirIterator>
#include <QFileInfo>
#include <QLocale>

namespace hearth::ui {

ModelListModel::ModelListModel(store::AppSettings& settings, QObject* parent)
    : QAbstractListModel(parent), settings_(settings) {
    refresh();
}

int ModelListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(entries_.size()); }

QVariant ModelListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= entries_.size()) return {};
    const auto& e = entries_[index.row()];
    switch (role) {
    case Qt::DisplayRole:
    case NameRole: return e.name;
    case PathRole: return e.path;
    case SizeRole: return QLocale().formattedDataSize(e.size);
    }
    return {};
}

QHash<int, QByteArray> ModelListModel::roleNames() const {
    return {{NameRole, "name"}, {PathRole, "path"}, {SizeRole, "size"}};
}

void ModelListModel::addEntry(const QString& path) {
    const QFileInfo info(path);
    const QString canonical = info.canonicalFilePath().isEmpty() ? info.absoluteFilePath() : info.canonicalFilePath();
    for (const auto& e : entries_)
        if (e.path == canonical) return;
    QString name = info.completeBaseName();
    // Models downloaded by Hearth sit in one folder per repository; say which.
    const QString parent = info.dir().dirName();
    if (info.dir().absolutePath() != QDir(folder_).absolutePath()) name = parent + " / " + name;
    entries_.push_back({name, canonical, info.size()});
}

void ModelListModel::refresh() {
    const QString folder = settings_.modelFolder();
    beginResetModel();
    QList<Entry> opened;  // files opened from elsewhere stay in the list
    for (const auto& e : entries_)
        if (!e.path.startsWith(QDir(folder).canonicalPath() + '/') && QFileInfo::exists(e.path)) opened.push_back(e);
    entries_.clear();
    if (folder != folder_) {
        folder_ = folder;
        emit folderChanged();
    }
    QDirIterator it(folder, {"*.gguf", "*.GGUF"}, QDir::Files | QDir::Readable, QDirIterator::Subdirectories);
    QStringList found;
    while (it.hasNext()) found << it.next();
    found.sort(Qt::CaseInsensitive);
    for (const auto& path : found) addEntry(path);
    for (const auto& e : opened) addEntry(e.path);
    endResetModel();
    emit stateChanged();
}

QString ModelListModel::loadingName() const { return QFileInfo(loadingPath_).fileName(); }

int ModelListModel::currentIndex() const {
    for (int i = 0; i < entries_.size(); ++i)
        if (entries_[i].path == loaded_.path) return i;
    return -1;
}

QString ModelListModel::emptyHint() const {
    return QStringLiteral("No GGUF models in %1 yet. Use “Open GGUF file…” or put .gguf files there.").arg(folder_);
}

void ModelListModel::load(const QString& path) {
    if (path.isEmpty()) return;
    const QFileInfo info(path);
    if (!info.isFile()) {
        error_ = QStringLiteral("%1 is not a file. Pick a .gguf model file.").arg(path);
        emit stateChanged();
        return;
    }
    if (!info.isReadable()) {
        error_ = QStringLiteral("%1 cannot be read (check its permissions).").arg(path);
        emit stateChanged();
        return;
    }
    beginResetModel();
    addEntry(path);
    endResetModel();
    error_.clear();
    loadingPath_ = info.canonicalFilePath();
    progress_ = 0;
    emit stateChanged();
    emit progressChanged();
    emit loadRequested({.path = loadingPath_,
                        .device = settings_.device(),
                        .threads = settings_.threads(),
                        .contextSize = settings_.contextSize()});
}

void ModelListModel::loadRow(int row) {
    if (row >= 0 && row < entries_.size()) load(entries_[row].path);
}

void ModelListModel::cancelLoad() {
    if (loading()) emit loadCancelRequested();
}

void ModelListModel::onLoadStarted(const QString& path) {
    loadingPath_ = path;
    // The worker drops the old model before loading the new one.
    loaded_ = {};
    emit stateChanged();
}

void ModelListModel::onLoadProgress(double fraction) {
    progress_ = qBound(0.0, fraction, 1.0);
    emit progressChanged();
}

void ModelListModel::onModelLoaded(const hearth::LoadedModelInfo& info) {
    loaded_ = info;
    loadingPath_.clear();
    error_.clear();
    progress_ = 1.0;
    settings_.setLastModel(info.path);
    emit progressChanged();
    emit stateChanged();
}

void ModelListModel::onLoadFailed(const QString& path, const QString& message) {
    loadingPath_.clear();
    progress_ = 0;
    error_ = QStringLiteral("Could not load %1: %2").arg(QFileInfo(path).fileName(), message);
    emit progressChanged();
    emit stateChanged();
}

}  // namespace hearth::ui
