#include "ui/viewmodels/conversation_list_model.h"

#include <QLocale>

namespace hearth::ui {

ConversationListModel::ConversationListModel(store::ConversationStore& store, QObject* parent)
    : QAbstractListModel(parent), store_(store) {
    refresh();
}

int ConversationListModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(rows_.size());
}

QVariant ConversationListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rows_.size()) return {};
    const auto& c = rows_[index.row()];
    switch (role) {
    case ConversationIdRole: return c.id;
    case Qt::DisplayRole:
    case TitleRole: return c.title.isEmpty() ? QStringLiteral("New chat") : c.title;
    case PreviewRole: return c.preview;
    case UpdatedRole: return QLocale().toString(c.updatedAt, QLocale::ShortFormat);
    case CurrentRole: return c.id == current_;
    }
    return {};
}

QHash<int, QByteArray> ConversationListModel::roleNames() const {
    return {{ConversationIdRole, "conversationId"}, {TitleRole, "title"}, {PreviewRole, "preview"},
            {UpdatedRole, "updated"}, {CurrentRole, "current"}};
}

void ConversationListModel::setCurrent(qint64 conversationId) {
    if (conversationId == current_) return;
    current_ = conversationId;
    if (!rows_.isEmpty()) emit dataChanged(index(0), index(int(rows_.size()) - 1), {CurrentRole});
}

void ConversationListModel::setSearchText(const QString& text) {
    if (text == search_) return;
    search_ = text;
    emit searchTextChanged();
    refresh();
}

void ConversationListModel::setError(const QString& text) {
    if (text == error_) return;
    error_ = text;
    emit errorTextChanged();
}

void ConversationListModel::refresh() {
    const int before = int(rows_.size());
    beginResetModel();
    try {
        rows_ = store_.conversations(search_);
    } catch (const std::exception& e) {
        rows_.clear();
        setError(QString::fromUtf8(e.what()));
    }
    endResetModel();
    if (before != rows_.size()) emit countChanged();
}

void ConversationListModel::rename(qint64 conversationId, const QString& title) {
    try {
        store_.renameConversation(conversationId, title.simplified());
        setError({});
    } catch (const std::exception& e) {
        setError(QString::fromUtf8(e.what()));
    }
    refresh();
}

void ConversationListModel::remove(qint64 conversationId) {
    try {
        // Only one delete can be undone: the one before it becomes final now.
        if (removedId_) store_.purgeDeleted();
        const auto record = store_.conversation(conversationId);
        store_.setDeleted(conversationId, true);
        removedId_ = conversationId;
        removedTitle_ = record.title.isEmpty() ? QStringLiteral("New chat") : record.title;
        setError({});
        emit undoChanged();
        emit removed(conversationId);
    } catch (const std::exception& e) {
        setError(QString::fromUtf8(e.what()));
    }
    refresh();
}

void ConversationListModel::undoRemove() {
    if (!removedId_) return;
    const qint64 id = removedId_;
    try {
        store_.setDeleted(id, false);
        setError({});
    } catch (const std::exception& e) {
        setError(QString::fromUtf8(e.what()));
    }
    removedId_ = 0;
    removedTitle_.clear();
    emit undoChanged();
    refresh();
    emit restored(id);
}

int ConversationListModel::rowOf(qint64 conversationId) const {
    for (int i = 0; i < rows_.size(); ++i)
        if (rows_[i].id == conversationId) return i;
    return -1;
}

}  // namespace hearth::ui
