// Export and import of conversations (ConversationStore members kept apart from the SQL core).
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlDatabase>

#include "ui/store/conversation_store.h"
#include "ui/store/sql_util.h"

namespace hearth::store {
namespace {

constexpr auto kFormat = "hearth-conversation";
constexpr int kFormatVersion = 1;

QJsonObject parseObject(const QString& text) {
    const auto doc = QJsonDocument::fromJson(text.toUtf8());
    return doc.isObject() ? doc.object() : QJsonObject{};
}

QString roleLabel(const QString& role) {
    if (role == "user") return QStringLiteral("You");
    if (role == "assistant") return QStringLiteral("Assistant");
    return QStringLiteral("System");
}

QString requireString(const QJsonObject& o, const char* key, int index) {
    const auto v = o.value(QLatin1String(key));
    if (!v.isString())
        throw StoreError("import: message " + std::to_string(index) + " has no text field '" + key + "'");
    return v.toString();
}

}  // namespace

QString ConversationStore::exportMarkdown(qint64 conversationId) const {
    const ConversationRecord c = conversation(conversationId);
    if (!c.id) throw StoreError("export: no conversation " + std::to_string(conversationId));
    QString out = "# " + (c.title.isEmpty() ? QStringLiteral("Conversation") : c.title) + "\n\n";
    out += "_Exported from Hearth on " + QDateTime::currentDateTime().toString(Qt::ISODate) + "_\n\n";
    if (!c.systemPrompt.isEmpty()) out += "**System prompt:** " + c.systemPrompt + "\n\n";
    for (const auto& m : branch(conversationId)) {
        out += "## " + roleLabel(m.role);
        if (m.role == "assistant" && !m.modelFile.isEmpty())
            out += " (" + m.modelFile.section('/', -1) + ")";
        out += "\n\n" + m.content + "\n\n";
        if (m.role == "assistant" && m.finishReason != finish::kComplete && !m.finishReason.isEmpty())
            out += "_(answer " + m.finishReason + ")_\n\n";
    }
    return out;
}

QJsonObject ConversationStore::exportJson(qint64 conversationId) const {
    const ConversationRecord c = conversation(conversationId);
    if (!c.id) throw StoreError("export: no conversation " + std::to_string(conversationId));
    QJsonArray messagesJson;
    int leafIndex = -1;
    for (const auto& m : messages(conversationId)) {
        if (m.id == c.currentLeafId) leafIndex = messagesJson.size();
        messagesJson.append(QJsonObject{
            {"id", m.id},
            {"parent", m.parentId ? QJsonValue(m.parentId) : QJsonValue()},
            {"role", m.role},
            {"content", m.content},
            {"model", QJsonObject{{"file", m.modelFile}, {"hash", m.modelHash}, {"backend", m.backend}}},
            {"sampler", parseObject(m.samplerJson)},
            {"seed", QString::number(m.seed)},
            {"promptTokens", m.promptTokens},
            {"generatedTokens", m.generatedTokens},
            {"tokensPerSecond", m.tokensPerSecond},
            {"finish", m.finishReason},
            {"error", m.error},
            {"createdAt", m.createdAt.toUTC().toString(Qt::ISODateWithMs)},
            {"updatedAt", m.updatedAt.toUTC().toString(Qt::ISODateWithMs)},
        });
    }
    return QJsonObject{
        {"format", kFormat},
        {"version", kFormatVersion},
        {"title", c.title},
        {"systemPrompt", c.systemPrompt},
        {"sampler", parseObject(c.samplerJson)},
        {"createdAt", c.createdAt.toUTC().toString(Qt::ISODateWithMs)},
        {"currentLeaf", leafIndex},
        {"messages", messagesJson},
    };
}

qint64 ConversationStore::importJson(const QJsonObject& json) {
    requireWritable();
    if (json.value("format").toString() != kFormat)
        throw StoreError("import: not a Hearth conversation export (missing \"format\": \"hearth-conversation\")");
    if (json.value("version").toInt() > kFormatVersion)
        throw StoreError("import: written by a newer Hearth (format version " +
                         std::to_string(json.value("version").toInt()) + ")");
    const QJsonArray list = json.value("messages").toArray();
    // Check everything before writing anything, so a bad file leaves no half conversation.
    QHash<qint64, int> indexOfId;
    for (int i = 0; i < list.size(); ++i) {
        const QJsonObject m = list[i].toObject();
        const QString role = requireString(m, "role", i);
        requireString(m, "content", i);
        if (role != "user" && role != "assistant" && role != "system")
            throw StoreError("import: message " + std::to_string(i) + " has an unknown role '" +
                             role.toStdString() + "'");
        const qint64 id = m.value("id").toVariant().toLongLong();
        const QJsonValue parent = m.value("parent");
        if (!parent.isNull() && !parent.isUndefined() && !indexOfId.contains(parent.toVariant().toLongLong()))
            throw StoreError("import: message " + std::to_string(i) +
                             " answers a message that does not come before it");
        indexOfId.insert(id, i);
    }
    sql::Transaction t(QSqlDatabase::database(connection_));
    const qint64 c = createConversation(json.value("title").toString(), json.value("systemPrompt").toString(),
                                        QJsonDocument(json.value("sampler").toObject()).toJson(QJsonDocument::Compact));
    QHash<qint64, qint64> newIdOf;
    qint64 leaf = 0;
    for (int i = 0; i < list.size(); ++i) {
        const QJsonObject m = list[i].toObject();
        const QJsonObject model = m.value("model").toObject();
        MessageRecord r;
        r.conversationId = c;
        const QJsonValue parent = m.value("parent");
        r.parentId = parent.isNull() || parent.isUndefined() ? 0 : newIdOf.value(parent.toVariant().toLongLong());
        r.role = m.value("role").toString();
        r.content = m.value("content").toString();
        r.modelFile = model.value("file").toString();
        r.modelHash = model.value("hash").toString();
        r.backend = model.value("backend").toString();
        r.samplerJson = QJsonDocument(m.value("sampler").toObject()).toJson(QJsonDocument::Compact);
        r.seed = m.value("seed").toString().toLongLong();
        r.promptTokens = m.value("promptTokens").toInt();
        r.generatedTokens = m.value("generatedTokens").toInt();
        r.tokensPerSecond = m.value("tokensPerSecond").toDouble();
        r.finishReason = m.value("finish").toString(finish::kComplete);
        // An answer that was still streaming when exported was cut short.
        if (r.finishReason.isEmpty() && r.role == "assistant") r.finishReason = finish::kInterrupted;
        r.error = m.value("error").toString();
        const qint64 id = insertMessageRow(r);
        newIdOf.insert(m.value("id").toVariant().toLongLong(), id);
        if (i == json.value("currentLeaf").toInt(-1)) leaf = id;
    }
    if (leaf) setCurrentLeaf(c, leaf);
    t.commit();
    return c;
}

}  // namespace hearth::store
