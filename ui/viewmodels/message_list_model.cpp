#include "ui/viewmodels/message_list_model.h"

#include <QFileInfo>
#include <QVariantMap>

#include "ui/viewmodels/markdown_blocks.h"

namespace hearth::ui {

QString messageDetails(const store::MessageRecord& m) {
    if (m.role != "assistant") return {};
    QStringList parts;
    if (!m.modelFile.isEmpty()) parts << QFileInfo(m.modelFile).fileName();
    if (m.generatedTokens > 0) parts << QStringLiteral("%1 tokens").arg(m.generatedTokens);
    if (m.tokensPerSecond > 0) parts << QStringLiteral("%1 tok/s").arg(m.tokensPerSecond, 0, 'f', 1);
    if (m.finishReason == store::finish::kStopped) parts << QStringLiteral("stopped");
    if (m.finishReason == store::finish::kInterrupted) parts << QStringLiteral("interrupted — the app closed while writing");
    if (m.finishReason == store::finish::kLength) parts << QStringLiteral("cut at the length limit");
    if (m.finishReason == store::finish::kError) parts << QStringLiteral("error: ") + m.error;
    return parts.join(QStringLiteral(" · "));
}

MessageListModel::MessageListModel(QObject* parent) : QAbstractListModel(parent) {
    flushTimer_.setSingleShot(true);
    flushTimer_.setInterval(kFlushIntervalMs);
    connect(&flushTimer_, &QTimer::timeout, this, &MessageListModel::flush);
}

int MessageListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(rows_.size()); }

QVariant MessageListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rows_.size()) return {};
    const Row& r = rows_[index.row()];
    const auto& m = r.message;
    switch (role) {
    case MessageIdRole: return m.id;
    case RoleRole: return m.role;
    case Qt::DisplayRole:
    case ContentRole: return m.content;
    case BlocksRole:
        // What the user typed is shown as typed; only answers are Markdown.
        if (m.role == "user") return QVariantList{QVariantMap{{"kind", "plain"}, {"text", m.content}}};
        return markdownBlocksForQml(m.content);
    case FinishReasonRole: return m.finishReason;
    case StreamingRole: return m.role == "assistant" && m.finishReason.isEmpty();
    case SiblingIndexRole: return r.siblingIndex;
    case SiblingCountRole: return r.siblingCount;
    case DetailsRole: return messageDetails(m);
    }
    return {};
}

QHash<int, QByteArray> MessageListModel::roleNames() const {
    return {{MessageIdRole, "messageId"},       {RoleRole, "role"},
            {ContentRole, "content"},           {BlocksRole, "blocks"},
            {FinishReasonRole, "finishReason"}, {StreamingRole, "streaming"},
            {SiblingIndexRole, "siblingIndex"}, {SiblingCountRole, "siblingCount"},
            {DetailsRole, "details"}};
}

void MessageListModel::setRows(QList<Row> rows) {
    flushTimer_.stop();
    pending_.clear();
    beginResetModel();
    rows_ = std::move(rows);
    endResetModel();
}

const store::MessageRecord* MessageListModel::messageAt(int row) const {
    return row >= 0 && row < rows_.size() ? &rows_[row].message : nullptr;
}

void MessageListModel::appendToStreaming(const QString& piece) {
    if (rows_.isEmpty()) return;
    pending_ += piece;
    if (!flushTimer_.isActive()) flushTimer_.start();
}

void MessageListModel::flush() {
    flushTimer_.stop();
    if (pending_.isEmpty() || rows_.isEmpty()) return;
    rows_.last().message.content += pending_;
    pending_.clear();
    ++publishedChanges_;
    const QModelIndex last = index(int(rows_.size()) - 1);
    emit dataChanged(last, last, {ContentRole, BlocksRole, Qt::DisplayRole});
}

void MessageListModel::updateLast(const store::MessageRecord& message) {
    if (rows_.isEmpty()) return;
    flushTimer_.stop();
    pending_.clear();
    rows_.last().message = message;
    const QModelIndex last = index(int(rows_.size()) - 1);
    emit dataChanged(last, last);
}

}  // namespace hearth::ui
