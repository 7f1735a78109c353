// The chat history: one SQLite database (Qt SQL, QSQLITE) shared by the desktop app and
// `hearth chat`. WAL journal, foreign keys on, synchronous=FULL so a committed message survives
// a crash or power cut; schema versioned with PRAGMA user_version and migrated forward step by
// step, after a backup copy (history.sqlite.v<N>.bak) of the old file.
//
//   ConversationStore store(ConversationStore::defaultPath());
//   if (store.isReadOnly()) show(store.problem());        // locked, damaged or newer file
//   qint64 c = store.createConversation("Trip ideas");
//   qint64 u = store.addMessage({.conversationId = c, .role = "user", .content = "Hi"});
//   qint64 a = store.addMessage({.conversationId = c, .parentId = u, .role = "assistant"});
//   store.updateContent(a, "Hel");                         // checkpoints while streaming
//   store.finishMessage(a, "Hello!", finish::kComplete, stats);
//
// A file that is locked by another program, damaged, or written by a newer Hearth is never
// modified: the store opens it read-only (or, if it cannot be read at all, works on an empty
// in-memory database) and problem() says what happened. Writes then throw StoreError.
// Not thread-safe: use a store from the thread that created it.
#pragma once

#include <QJsonObject>
#include <QList>
#include <QString>
#include <stdexcept>

#include "ui/store/conversation_records.h"

namespace hearth::store {

class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ConversationStore {
public:
    static constexpr int kSchemaVersion = 3;

    // $XDG_DATA_HOME/Hearth/history.sqlite (QStandardPaths::GenericDataLocation + "/Hearth").
    static QString defaultPath();

    explicit ConversationStore(const QString& path);
    ~ConversationStore();
    ConversationStore(const ConversationStore&) = delete;
    ConversationStore& operator=(const ConversationStore&) = delete;

    QString path() const { return path_; }
    bool isReadOnly() const { return readOnly_; }
    bool isPersistent() const { return persistent_; }  // false: working on an in-memory stand-in
    QString problem() const { return problem_; }        // empty when all is well
    QString backupPath() const { return backupPath_; }  // set when this open migrated the file
    int schemaVersion() const;

    // Conversations, newest first. `search` matches titles and message contents (case-insensitive
    // for ASCII); conversations marked deleted are left out.
    QList<ConversationRecord> conversations(const QString& search = {}) const;
    ConversationRecord conversation(qint64 id) const;  // id 0 when not found
    qint64 createConversation(const QString& title, const QString& systemPrompt = {},
                              const QString& samplerJson = QStringLiteral("{}"));
    void renameConversation(qint64 id, const QString& title);
    void setSystemPrompt(qint64 id, const QString& systemPrompt);
    void setSamplerJson(qint64 id, const QString& samplerJson);
    // Deleting only marks the conversation so it can be undone; purgeDeleted() removes for good
    // (called on the next start).
    void setDeleted(qint64 id, bool deleted);
    int purgeDeleted();

    // Messages. addMessage makes the new message the conversation's current leaf.
    qint64 addMessage(const MessageRecord& message);
    MessageRecord message(qint64 id) const;
    void updateContent(qint64 messageId, const QString& content);  // streaming checkpoint
    void finishMessage(qint64 messageId, const MessageRecord& final);
    void setCurrentLeaf(qint64 conversationId, qint64 messageId);
    QList<MessageRecord> messages(qint64 conversationId) const;  // every branch, by id
    // The path from the first message to `leafId` (the current leaf when 0).
    QList<MessageRecord> branch(qint64 conversationId, qint64 leafId = 0) const;
    QList<qint64> siblings(qint64 messageId) const;  // messages with the same parent, by id
    // The most recently written message under `messageId` (itself when it has no replies): where
    // the branch through it was last continued.
    qint64 newestLeafUnder(qint64 messageId) const;

    QString exportMarkdown(qint64 conversationId) const;  // the current branch
    QJsonObject exportJson(qint64 conversationId) const;  // every branch
    qint64 importJson(const QJsonObject& json);           // throws StoreError on bad input

    // Writes `text` to `path` through a temporary file renamed into place.
    static void writeFileAtomically(const QString& path, const QByteArray& text);

private:
    QString path_;
    QString connection_;
    QString problem_;
    QString backupPath_;
    bool readOnly_ = false;
    bool persistent_ = true;

    void open();
    bool openConnection(bool readOnly, bool inMemory);
    void migrate(int from);
    void markInterrupted();
    void requireWritable() const;
    qint64 insertMessageRow(const MessageRecord& message);  // inside the caller's transaction
};

}  // namespace hearth::store
