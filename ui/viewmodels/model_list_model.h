// The model picker: the GGUF files under the model folder, plus any file the user opens, and the
// state of loading one (progress, errors). Loading itself happens on the inference worker:
// this model asks for it with loadRequested() and follows it through the on*() slots.
#pragma once

#include <QAbstractListModel>
#include <QUrl>
#include <QtQml/qqmlregistration.h>

#include "inference/worker/inference_worker.h"
#include "ui/store/app_settings.h"

namespace hearth::ui {

class ModelListModel : public QAbstractListModel {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("created by the application")
    Q_PROPERTY(QString folder READ folder NOTIFY folderChanged)
    Q_PROPERTY(bool loading READ loading NOTIFY stateChanged)
    Q_PROPERTY(double progress READ progress NOTIFY progressChanged)
    Q_PROPERTY(QString loadingName READ loadingName NOTIFY stateChanged)
    Q_PROPERTY(QString loadedPath READ loadedPath NOTIFY stateChanged)
    Q_PROPERTY(QString loadedName READ loadedName NOTIFY stateChanged)
    Q_PROPERTY(QString errorText READ errorText NOTIFY stateChanged)
    Q_PROPERTY(int currentIndex READ currentIndex NOTIFY stateChanged)
    Q_PROPERTY(QString emptyHint READ emptyHint NOTIFY folderChanged)
    Q_PROPERTY(int count READ count NOTIFY stateChanged)
public:
    enum Role { NameRole = Qt::UserRole + 1, PathRole, SizeRole };

    ModelListModel(store::AppSettings& settings, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

    QString folder() const { return folder_; }
    bool loading() const { return !loadingPath_.isEmpty(); }
    double progress() const { return progress_; }
    QString loadingName() const;
    QString loadedPath() const { return loaded_.path; }
    QString loadedName() const { return loaded_.name; }
    const LoadedModelInfo& loaded() const { return loaded_; }
    QString errorText() const { return error_; }
    int currentIndex() const;
    QString emptyHint() const;
    int count() const { return int(entries_.size()); }

    Q_INVOKABLE void refresh();           // rescan the folder
    Q_INVOKABLE void load(const QString& path);
    Q_INVOKABLE void loadUrl(const QUrl& url) { load(url.toLocalFile()); }
    Q_INVOKABLE void loadRow(int row);
    Q_INVOKABLE void cancelLoad();

public slots:
    void onLoadStarted(const QString& path);
    void onLoadProgress(double fraction);
    void onModelLoaded(const hearth::LoadedModelInfo& info);
    void onLoadFailed(const QString& path, const QString& message);

signals:
    void folderChanged();
    void stateChanged();
    void progressChanged();
    void loadRequested(const hearth::ModelLoadRequest& request);
    void loadCancelRequested();

private:
    struct Entry {
        QString name, path;
        qint64 size = 0;
    };
    store::AppSettings& settings_;
    QString folder_;
    QList<Entry> entries_;
    QString loadingPath_;
    double progress_ = 0;
    LoadedModelInfo loaded_;
    QString error_;
    void addEntry(const QString& path);
};

}  // namespace hearth::ui
