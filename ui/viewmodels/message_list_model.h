// The messages of the visible branch of one conversation, for the chat view's ListView.
// Streaming text arrives much faster than the screen refreshes; appendToStreaming() collects it
// and publishes at most one change per frame (kFlushIntervalMs), so the view stays smooth at
// thousands of tokens per second.
#pragma once

#include <QAbstractListModel>
#include <QList>
#include <QTimer>
#include <QtQml/qqmlregistration.h>

#include "ui/store/conversation_records.h"

namespace hearth::ui {

class MessageListModel : public QAbstractListModel {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("provided by ChatController")
    // What the message delegates call for their actions (copy, edit, regenerate): the
    // ChatController. QML delegates reach it through the view's model, as ListView delegates
    // cannot see ids outside themselves.
    Q_PROPERTY(QObject* controller READ controller CONSTANT)
public:
    static constexpr int kFlushIntervalMs = 16;

    enum Role {
        MessageIdRole = Qt::UserRole + 1,
        RoleRole,          // "user", "assistant", "system"
        ContentRole,       // the raw Markdown
        BlocksRole,        // [{kind, text, language}] (see markdown_blocks.h)
        FinishReasonRole,  // "" while streaming
        StreamingRole,
        SiblingIndexRole,  // 1-based position among the alternatives at this turn
        SiblingCountRole,
        DetailsRole,       // "model.gguf · 42 tokens · 31.5 tok/s · stopped"
    };

    struct Row {
        store::MessageRecord message;
        int siblingIndex = 1;
        int siblingCount = 1;
    };

    explicit MessageListModel(QObject* parent = nullptr);
    QObject* controller() const { return controller_; }
    void setController(QObject* controller) { controller_ = controller; }

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

    void setRows(QList<Row> rows);
    const QList<Row>& rows() const { return rows_; }
    const store::MessageRecord* messageAt(int row) const;

    // The last row is the answer being streamed: collect text for it (published on the next flush).
    void appendToStreaming(const QString& piece);
    void flush();  // publish collected text now
    // Replaces the last row's record (final text, finish reason, stats).
    void updateLast(const store::MessageRecord& message);
    // How many times streamed text was published (tests check the coalescing).
    int publishedChanges() const { return publishedChanges_; }

private:
    QList<Row> rows_;
    QString pending_;
    QTimer flushTimer_;
    int publishedChanges_ = 0;
    QObject* controller_ = nullptr;
};

// "You", "Assistant" ... and the details line, shared with the Markdown export's wording.
QString messageDetails(const store::MessageRecord& message);

}  // namespace hearth::ui
