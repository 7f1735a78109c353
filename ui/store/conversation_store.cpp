#include "ui/store/conversation_store.h"

#include <QAtomicInt>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QSaveFile>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QVariant>

#include "ui/store/schema.h"
#include "ui/store/sql_util.h"

Q_LOGGING_CATEGORY(lcStore, "hearth.store")

namespace hearth::store {
namespace {

qint64 nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

QDateTime fromMs(const QVariant& v) { return QDateTime::fromMSecsSinceEpoch(v.toLongLong()); }

QString likePattern(const QString& text) {
    QString escaped = text;
    escaped.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    return '%' + escaped + '%';
}

using sql::run;
using sql::Transaction;

const char* kMessageColumns =
    "id, conversation_id, parent_id, role, content, model_file, model_hash, backend, sampler_json, seed, "
    "prompt_tokens, generated_tokens, tokens_per_second, finish_reason, error, created_at, updated_at";

MessageRecord messageFrom(const QSqlQuery& q) {
    MessageRecord m;
    m.id = q.value(0).toLongLong();
    m.conversationId = q.value(1).toLongLong();
    m.parentId = q.value(2).toLongLong();
    m.role = q.value(3).toString();
    m.content = q.value(4).toString();
    m.modelFile = q.value(5).toString();
    m.modelHash = q.value(6).toString();
    m.backend = q.value(7).toString();
    m.samplerJson = q.value(8).toString();
    m.seed = q.value(9).toLongLong();
    m.promptTokens = q.value(10).toInt();
    m.generatedTokens = q.value(11).toInt();
    m.tokensPerSecond = q.value(12).toDouble();
    m.finishReason = q.value(13).toString();
    m.error = q.value(14).toString();
    m.createdAt = fromMs(q.value(15));
    m.updatedAt = fromMs(q.value(16));
    return m;
}

QVariant idOrNull(qint64 id) { return id ? QVariant(id) : QVariant(QMetaType(QMetaType::LongLong)); }

}  // namespace

QString ConversationStore::defaultPath() {
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + "/Hearth/history.sqlite";
}

ConversationStore::ConversationStore(const QString& path) : path_(path) {
    static QAtomicInt counter;
    connection_ = QStringLiteral("hearth-history-%1").arg(counter.fetchAndAddRelaxed(1));
    open();
}

ConversationStore::~ConversationStore() {
    {
        QSqlDatabase db = QSqlDatabase::database(connection_, false);
        if (db.isOpen()) db.close();
    }
    QSqlDatabase::removeDatabase(connection_);
}

bool ConversationStore::openConnection(bool readOnly, bool inMemory) {
    {
        QSqlDatabase old = QSqlDatabase::database(connection_, false);
        if (old.isValid()) old.close();
    }
    QSqlDatabase::removeDatabase(connection_);
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connection_);
    db.setDatabaseName(inMemory ? QStringLiteral(":memory:") : path_);
    QString options = QStringLiteral("QSQLITE_BUSY_TIMEOUT=1500");
    if (readOnly) options += QStringLiteral(";QSQLITE_OPEN_READONLY");
    db.setConnectOptions(options);
    return db.open();
}

void ConversationStore::open() {
    QFileInfo info(path_);
    QDir().mkpath(info.absolutePath());
    const bool existed = info.exists() && info.size() > 0;

    auto fallBack = [&](const QString& why) {
        problem_ = why;
        qCWarning(lcStore) << why;
        if (existed && openConnection(true, false)) {
            QSqlQuery probe(QSqlDatabase::database(connection_));
            if (probe.exec("SELECT count(*) FROM conversations") && probe.next()) {
                readOnly_ = true;
                return;
            }
        }
        // Unreadable: keep the file as it is and work on an empty in-memory history.
        persistent_ = false;
        readOnly_ = false;
        openConnection(false, true);
        QSqlDatabase db = QSqlDatabase::database(connection_);
        run(db, "PRAGMA foreign_keys=ON");
        migrate(0);
    };

    const QString locked = QStringLiteral("The chat history %1 is locked by another program. It is shown read-only; "
                                          "close the other program and restart Hearth to chat.")
                               .arg(path_);
    int version = 0;
    // Checks the file before anything writes to it; returns what is wrong, or nothing.
    auto check = [&]() -> QString {
        if (!openConnection(false, false))
            return QStringLiteral("The chat history %1 cannot be opened (%2). Nothing was changed in it; new "
                                  "chats are not saved in this session.")
                .arg(path_, QSqlDatabase::database(connection_, false).lastError().text());
        QSqlQuery q(QSqlDatabase::database(connection_));
        // quick_check reads every page, so it finds damage before we write anything.
        if (!q.exec("PRAGMA quick_check") || !q.next() || q.value(0).toString() != "ok") {
            const QString reason = q.lastError().isValid() ? q.lastError().text() : q.value(0).toString();
            if (reason.contains("locked", Qt::CaseInsensitive) || reason.contains("busy", Qt::CaseInsensitive))
                return locked;
            return QStringLiteral("The chat history %1 is damaged (%2). It was left untouched; new chats are not "
                                  "saved in this session. Move the file away to start a new history.")
                .arg(path_, reason);
        }
        q.finish();
        // Taking the write lock once tells us whether another program holds it.
        QSqlQuery begin(QSqlDatabase::database(connection_)), commit(QSqlDatabase::database(connection_));
        if (!begin.exec("BEGIN IMMEDIATE") || !commit.exec("COMMIT")) return locked;
        if (q.exec("PRAGMA user_version") && q.next()) version = q.value(0).toInt();
        if (version > kSchemaVersion)
            return QStringLiteral("The chat history %1 was written by a newer Hearth (schema %2). It is shown "
                                  "read-only; update Hearth to chat.")
                .arg(path_)
                .arg(version);
        return {};
    };
    if (const QString why = check(); !why.isEmpty()) return fallBack(why);

    QSqlDatabase db = QSqlDatabase::database(connection_);
    run(db, "PRAGMA journal_mode=WAL");
    run(db, "PRAGMA synchronous=FULL");
    run(db, "PRAGMA foreign_keys=ON");
    if (version > 0 && version < kSchemaVersion) {
        backupPath_ = QStringLiteral("%1.v%2.bak").arg(path_).arg(version);
        QFile::remove(backupPath_);
        run(db, "VACUUM INTO ?", {backupPath_});
    }
    migrate(version);
    markInterrupted();
    purgeDeleted();
}

void ConversationStore::migrate(int from) {
    QSqlDatabase db = QSqlDatabase::database(connection_);
    const auto& steps = schema::migrations();
    for (int v = from; v < kSchemaVersion; ++v) {
        Transaction t(db);
        for (const auto& sql : steps[v]) run(db, sql);
        run(db, QStringLiteral("PRAGMA user_version=%1").arg(v + 1));
        t.commit();
        qCDebug(lcStore) << "history schema migrated to version" << v + 1;
    }
}

int ConversationStore::schemaVersion() const {
    auto q = run(QSqlDatabase::database(connection_), "PRAGMA user_version");
    return q.next() ? q.value(0).toInt() : 0;
}

void ConversationStore::markInterrupted() {
    run(QSqlDatabase::database(connection_),
        "UPDATE messages SET finish_reason='interrupted' WHERE role='assistant' AND finish_reason=''");
}

void ConversationStore::requireWritable() const {
    if (readOnly_) throw StoreError(problem_.toStdString());
}

QList<ConversationRecord> ConversationStore::conversations(const QString& search) const {
    QString sql =
        "SELECT c.id, c.title, c.system_prompt, c.sampler_json, c.current_leaf_id, c.created_at, c.updated_at, "
        "(SELECT content FROM messages m WHERE m.conversation_id=c.id %1 ORDER BY m.id DESC LIMIT 1) "
        "FROM conversations c WHERE c.deleted_at IS NULL %2 ORDER BY c.updated_at DESC, c.id DESC";
    QVariantList binds;
    if (search.trimmed().isEmpty()) {
        sql = sql.arg("", "");
    } else {
        const QString pattern = likePattern(search.trimmed());
        sql = sql.arg("AND m.content LIKE ? ESCAPE '\\'",
                      "AND (c.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m "
                      "WHERE m.conversation_id=c.id AND m.content LIKE ? ESCAPE '\\'))");
        binds = {pattern, pattern, pattern};
    }
    auto q = run(QSqlDatabase::database(connection_), sql, binds);
    QList<ConversationRecord> out;
    while (q.next()) {
        ConversationRecord c;
        c.id = q.value(0).toLongLong();
        c.title = q.value(1).toString();
        c.systemPrompt = q.value(2).toString();
        c.samplerJson = q.value(3).toString();
        c.currentLeafId = q.value(4).toLongLong();
        c.createdAt = fromMs(q.value(5));
        c.updatedAt = fromMs(q.value(6));
        c.preview = q.value(7).toString().simplified().left(120);
        out.push_back(c);
    }
    return out;
}

ConversationRecord ConversationStore::conversation(qint64 id) const {
    auto q = run(QSqlDatabase::database(connection_),
                 "SELECT id, title, system_prompt, sampler_json, current_leaf_id, created_at, updated_at "
                 "FROM conversations WHERE id=?",
                 {id});
    ConversationRecord c;
    if (!q.next()) return c;
    c.id = q.value(0).toLongLong();
    c.title = q.value(1).toString();
    c.systemPrompt = q.value(2).toString();
    c.samplerJson = q.value(3).toString();
    c.currentLeafId = q.value(4).toLongLong();
    c.createdAt = fromMs(q.value(5));
    c.updatedAt = fromMs(q.value(6));
    return c;
}

qint64 ConversationStore::createConversation(const QString& title, const QString& systemPrompt,
                                             const QString& samplerJson) {
    requireWritable();
    const qint64 now = nowMs();
    auto q = run(QSqlDatabase::database(connection_),
                 "INSERT INTO conversations(title, system_prompt, sampler_json, created_at, updated_at) "
                 "VALUES(?,?,?,?,?)",
                 {title, systemPrompt, samplerJson.isEmpty() ? QStringLiteral("{}") : samplerJson, now, now});
    return q.lastInsertId().toLongLong();
}

void ConversationStore::renameConversation(qint64 id, const QString& title) {
    requireWritable();
    run(QSqlDatabase::database(connection_), "UPDATE conversations SET title=? WHERE id=?", {title, id});
}

void ConversationStore::setSystemPrompt(qint64 id, const QString& systemPrompt) {
    requireWritable();
    run(QSqlDatabase::database(connection_), "UPDATE conversations SET system_prompt=? WHERE id=?",
        {systemPrompt, id});
}

void ConversationStore::setSamplerJson(qint64 id, const QString& samplerJson) {
    requireWritable();
    run(QSqlDatabase::database(connection_), "UPDATE conversations SET sampler_json=? WHERE id=?",
        {samplerJson, id});
}

void ConversationStore::setDeleted(qint64 id, bool deleted) {
    requireWritable();
    run(QSqlDatabase::database(connection_), "UPDATE conversations SET deleted_at=? WHERE id=?",
        {deleted ? QVariant(nowMs()) : QVariant(QMetaType(QMetaType::LongLong)), id});
}

int ConversationStore::purgeDeleted() {
    if (readOnly_) return 0;
    QSqlDatabase db = QSqlDatabase::database(connection_);
    Transaction t(db);
    // Clear the leaf pointers first: they reference messages that the cascade removes.
    run(db, "UPDATE conversations SET current_leaf_id=NULL WHERE deleted_at IS NOT NULL");
    auto q = run(db, "DELETE FROM conversations WHERE deleted_at IS NOT NULL");
    t.commit();
    return q.numRowsAffected();
}

qint64 ConversationStore::addMessage(const MessageRecord& m) {
    requireWritable();
    Transaction t(QSqlDatabase::database(connection_));
    const qint64 id = insertMessageRow(m);
    t.commit();
    return id;
}

qint64 ConversationStore::insertMessageRow(const MessageRecord& m) {
    QSqlDatabase db = QSqlDatabase::database(connection_);
    const qint64 now = nowMs();
    auto q = run(db,
                 QStringLiteral("INSERT INTO messages(conversation_id, parent_id, role, content, model_file, "
                                "model_hash, backend, sampler_json, seed, prompt_tokens, generated_tokens, "
                                "tokens_per_second, finish_reason, error, created_at, updated_at) "
                                "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"),
                 {m.conversationId, idOrNull(m.parentId), m.role, m.content, m.modelFile, m.modelHash, m.backend,
                  m.samplerJson.isEmpty() ? QStringLiteral("{}") : m.samplerJson, m.seed, m.promptTokens,
                  m.generatedTokens, m.tokensPerSecond, m.finishReason, m.error, now, now});
    const qint64 id = q.lastInsertId().toLongLong();
    run(db, "UPDATE conversations SET current_leaf_id=?, updated_at=? WHERE id=?", {id, now, m.conversationId});
    return id;
}

MessageRecord ConversationStore::message(qint64 id) const {
    auto q = run(QSqlDatabase::database(connection_),
                 QStringLiteral("SELECT %1 FROM messages WHERE id=?").arg(kMessageColumns), {id});
    return q.next() ? messageFrom(q) : MessageRecord{};
}

void ConversationStore::updateContent(qint64 messageId, const QString& content) {
    requireWritable();
    run(QSqlDatabase::database(connection_), "UPDATE messages SET content=?, updated_at=? WHERE id=?",
        {content, nowMs(), messageId});
}

void ConversationStore::finishMessage(qint64 messageId, const MessageRecord& f) {
    requireWritable();
    QSqlDatabase db = QSqlDatabase::database(connection_);
    const qint64 now = nowMs();
    Transaction t(db);
    run(db,
        "UPDATE messages SET content=?, prompt_tokens=?, generated_tokens=?, tokens_per_second=?, "
        "finish_reason=?, error=?, updated_at=? WHERE id=?",
        {f.content, f.promptTokens, f.generatedTokens, f.tokensPerSecond,
         f.finishReason.isEmpty() ? finish::kComplete : f.finishReason, f.error, now, messageId});
    run(db, "UPDATE conversations SET updated_at=? WHERE id=(SELECT conversation_id FROM messages WHERE id=?)",
        {now, messageId});
    t.commit();
}

void ConversationStore::setCurrentLeaf(qint64 conversationId, qint64 messageId) {
    requireWritable();
    run(QSqlDatabase::database(connection_), "UPDATE conversations SET current_leaf_id=? WHERE id=?",
        {idOrNull(messageId), conversationId});
}

QList<MessageRecord> ConversationStore::messages(qint64 conversationId) const {
    auto q = run(QSqlDatabase::database(connection_),
                 QStringLiteral("SELECT %1 FROM messages WHERE conversation_id=? ORDER BY id").arg(kMessageColumns),
                 {conversationId});
    QList<MessageRecord> out;
    while (q.next()) out.push_back(messageFrom(q));
    return out;
}

QList<MessageRecord> ConversationStore::branch(qint64 conversationId, qint64 leafId) const {
    if (!leafId) leafId = conversation(conversationId).currentLeafId;
    QHash<qint64, MessageRecord> byId;
    for (auto& m : messages(conversationId)) byId.insert(m.id, m);
    QList<MessageRecord> path;
    // A bounded walk: a damaged file with a parent cycle must not hang the app.
    for (qint64 id = leafId; id && byId.contains(id) && path.size() <= byId.size(); id = byId[id].parentId)
        path.prepend(byId[id]);
    return path;
}

QList<qint64> ConversationStore::siblings(qint64 messageId) const {
    const MessageRecord m = message(messageId);
    if (!m.id) return {};
    auto q = m.parentId ? run(QSqlDatabase::database(connection_),
                              "SELECT id FROM messages WHERE parent_id=? ORDER BY id", {m.parentId})
                        : run(QSqlDatabase::database(connection_),
                              "SELECT id FROM messages WHERE conversation_id=? AND parent_id IS NULL ORDER BY id",
                              {m.conversationId});
    QList<qint64> out;
    while (q.next()) out.push_back(q.value(0).toLongLong());
    return out;
}

qint64 ConversationStore::newestLeafUnder(qint64 messageId) const {
    // The most recently written message below: replies always come after what they answer, so
    // it is a leaf, and it ends the branch the user was last working on. UNION (not UNION ALL)
    // stops on a parent cycle in a damaged file.
    auto q = run(QSqlDatabase::database(connection_),
                 "WITH RECURSIVE below(id) AS (SELECT ? UNION SELECT m.id FROM messages m JOIN below "
                 "ON m.parent_id=below.id) SELECT max(id) FROM below",
                 {messageId});
    return q.next() ? q.value(0).toLongLong() : messageId;
}

void ConversationStore::writeFileAtomically(const QString& path, const QByteArray& text) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(text) != text.size() || !file.commit())
        throw StoreError("could not write " + path.toStdString() + ": " + file.errorString().toStdString());
}

}  // namespace hearth::store
