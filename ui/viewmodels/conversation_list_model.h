// The sidebar: conversations newest first, filtered by the search box (titles and contents),
// with rename and an undoable delete.
#pragma once

#include <QAbstractListModel>
#include <QtQml/qqmlregistration.h>

#include "ui/store/conversation_store.h"

namespace hearth::ui {

class ConversationListModel : public QAbstractListModel {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("created by the application")
    Q_PROPERTY(QString searchText READ searchText WRITE setSearchText NOTIFY searchTextChanged)
    Q_PROPERTY(bool canUndoRemove READ canUndoRemove NOTIFY undoChanged)
    Q_PROPERTY(QString undoText READ undoText NOTIFY undoChanged)
    Q_PROPERTY(QString errorText READ errorText NOTIFY errorTextChanged)
    Q_PROPERTY(int count READ rowCount NOTIFY countChanged)
public:
    enum Role { ConversationIdRole = Qt::UserRole + 1, TitleRole, PreviewRole, UpdatedRole, CurrentRole };

    explicit ConversationListModel(store::ConversationStore& store, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

    QString searchText() const { return search_; }
    void setSearchText(const QString& text);
    bool canUndoRemove() const { return removedId_ != 0; }
    QString undoText() const { return removedTitle_.isEmpty() ? QString() : "Deleted “" + removedTitle_ + "”"; }
    QString errorText() const { return error_; }

    Q_INVOKABLE void refresh();
    Q_INVOKABLE void rename(qint64 conversationId, const QString& title);
    Q_INVOKABLE void remove(qint64 conversationId);
    Q_INVOKABLE void undoRemove();
    Q_INVOKABLE int rowOf(qint64 conversationId) const;  // -1 when not listed
    // The sidebar's row delegates call these (ids are doubles in QML).
    Q_INVOKABLE void open(double conversationId) { emit openRequested(qint64(conversationId)); }
    Q_INVOKABLE void renameKey(double conversationId, const QString& title) { rename(qint64(conversationId), title); }
    Q_INVOKABLE void removeKey(double conversationId) { remove(qint64(conversationId)); }

public slots:
    void setCurrent(qint64 conversationId);  // the one shown in the chat view

signals:
    void searchTextChanged();
    void undoChanged();
    void errorTextChanged();
    void countChanged();
    void removed(qint64 conversationId);
    void restored(qint64 conversationId);
    void openRequested(qint64 conversationId);

private:
    store::ConversationStore& store_;
    QList<store::ConversationRecord> rows_;
    QString search_;
    qint64 removedId_ = 0;
    QString removedTitle_;
    QString error_;
    qint64 current_ = 0;
    void setError(const QString& text);
};

}  // namespace hearth::ui
