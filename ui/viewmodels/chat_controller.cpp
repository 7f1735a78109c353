#include "ui/viewmodels/chat_controller.h"

#include <QClipboard>
#include <QFile>
#include <QGuiApplication>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QRandomGenerator>

Q_LOGGING_CATEGORY(lcChat, "hearth.ui.chat")

namespace hearth::ui {
namespace {

QString titleFrom(const QString& text) {
    QString line = text.section('\n', 0, 0).simplified();
    if (line.size() > 48) line = line.left(47) + QStringLiteral("…");
    return line;
}

QString errorOf(const std::exception& e) { return QString::fromUtf8(e.what()); }

}  // namespace

ChatController::ChatController(store::ConversationStore& store, QObject* parent)
    : QObject(parent), store_(store), messages_(this) {
    messages_.setController(this);
}

ChatController::~ChatController() {
    // Quitting in the middle of an answer: keep what was written and say it was cut short.
    if (activeRequest_) {
        emit cancelRequested(activeRequest_);
        failStreamingAnswer(store::finish::kInterrupted);
    }
}

QString ChatController::title() const {
    return conversation_.title.isEmpty() ? QStringLiteral("New chat") : conversation_.title;
}

bool ChatController::canSend() const { return modelReady() && !generating() && !store_.isReadOnly(); }

bool ChatController::canRegenerate() const {
    return canSend() && !messages_.rows().isEmpty();
}

QString ChatController::inputHint() const {
    if (store_.isReadOnly()) return QStringLiteral("The chat history is read-only (see the notice above)");
    if (!modelReady()) return QStringLiteral("Load a model to start chatting (pick one at the top)");
    if (generating()) return QStringLiteral("Answering… press Esc to stop");
    return QStringLiteral("Message — Enter to send, Shift+Enter for a new line");
}

QString ChatController::statusText() const {
    if (!modelReady()) return QStringLiteral("No model loaded");
    QStringList parts{model_.name, model_.deviceId + " (" + model_.deviceName + ")"};
    if (lastOutcome_.decodeTokensPerSecond > 0)
        parts << QStringLiteral("%1 tok/s").arg(lastOutcome_.decodeTokensPerSecond, 0, 'f', 1);
    const int size = lastOutcome_.contextSize ? lastOutcome_.contextSize : model_.contextSize;
    parts << QStringLiteral("context %1 / %2").arg(lastOutcome_.contextUsed).arg(size);
    return parts.join(QStringLiteral(" · "));
}

void ChatController::setError(const QString& text) {
    if (text == error_) return;
    if (!text.isEmpty()) qCWarning(lcChat) << text;
    error_ = text;
    emit errorTextChanged();
}

void ChatController::dismissError() { setError({}); }

// --- per-conversation settings -------------------------------------------------------------

QString ChatController::samplerJson() const {
    return QJsonDocument(QJsonObject{{"temperature", sampler_.temperature},
                                     {"topK", sampler_.topK},
                                     {"topP", sampler_.topP},
                                     {"minP", sampler_.minP},
                                     {"repeatPenalty", sampler_.repeatPenalty},
                                     {"maxTokens", maxTokens_},
                                     {"seed", QString::number(sampler_.seed)}})
        .toJson(QJsonDocument::Compact);
}

void ChatController::loadSampler(const QString& json) {
    const QJsonObject o = QJsonDocument::fromJson(json.toUtf8()).object();
    const SamplerSettings d;
    sampler_.temperature = float(o.value("temperature").toDouble(d.temperature));
    sampler_.topK = o.value("topK").toInt(d.topK);
    sampler_.topP = float(o.value("topP").toDouble(d.topP));
    sampler_.minP = float(o.value("minP").toDouble(d.minP));
    sampler_.repeatPenalty = float(o.value("repeatPenalty").toDouble(d.repeatPenalty));
    sampler_.seed = o.value("seed").toString().toULongLong();
    maxTokens_ = o.value("maxTokens").toInt(1024);
}

void ChatController::saveSampler() {
    emit settingsChanged();
    if (!conversation_.id) return;  // a new chat keeps them until its first message
    try {
        store_.setSamplerJson(conversation_.id, samplerJson());
    } catch (const std::exception& e) {
        setError(errorOf(e));
    }
}

void ChatController::setSystemPrompt(const QString& prompt) {
    if (prompt == conversation_.systemPrompt) return;
    conversation_.systemPrompt = prompt;
    emit settingsChanged();
    if (!conversation_.id) return;
    try {
        store_.setSystemPrompt(conversation_.id, prompt);
    } catch (const std::exception& e) {
        setError(errorOf(e));
    }
}

void ChatController::setTemperature(double v) { sampler_.temperature = float(qBound(0.0, v, 5.0)); saveSampler(); }
void ChatController::setTopP(double v) { sampler_.topP = float(qBound(0.0, v, 1.0)); saveSampler(); }
void ChatController::setTopK(int v) { sampler_.topK = qBound(0, v, 100000); saveSampler(); }
void ChatController::setMinP(double v) { sampler_.minP = float(qBound(0.0, v, 1.0)); saveSampler(); }
void ChatController::setRepeatPenalty(double v) { sampler_.repeatPenalty = float(qBound(0.5, v, 3.0)); saveSampler(); }
void ChatController::setMaxTokens(int v) { maxTokens_ = qBound(1, v, 1 << 20); saveSampler(); }
void ChatController::setSeed(const QString& v) {
    bool ok = false;
    const quint64 seed = v.trimmed().toULongLong(&ok);
    sampler_.seed = ok ? seed : 0;
    saveSampler();
}

// --- conversations -----------------------------------------------------------------------------

void ChatController::newConversation() {
    if (generating()) failStreamingAnswer(store::finish::kStopped);
    conversation_ = {};
    sampler_ = {};
    maxTokens_ = 1024;
    messages_.setRows({});
    setError({});
    emit conversationChanged();
    emit settingsChanged();
    emit stateChanged();
}

void ChatController::openConversation(qint64 conversationId) {
    if (conversationId == conversation_.id) return;
    if (generating()) failStreamingAnswer(store::finish::kStopped);
    try {
        const auto record = store_.conversation(conversationId);
        if (!record.id) return;
        conversation_ = record;
        loadSampler(record.samplerJson);
        reloadMessages();
        setError({});
    } catch (const std::exception& e) {
        setError(errorOf(e));
    }
    emit conversationChanged();
    emit settingsChanged();
    emit stateChanged();
}

void ChatController::openConversationKey(double conversationId) { openConversation(qint64(conversationId)); }

void ChatController::onConversationRemoved(qint64 conversationId) {
    if (conversationId == conversation_.id) newConversation();
}

void ChatController::reloadMessages() {
    // One query for the whole conversation: 1000-message chats must open instantly.
    const auto all = store_.messages(conversation_.id);
    QHash<qint64, int> indexOf;
    QHash<qint64, QList<qint64>> childrenOf;  // parent (0 = root) -> children, by id
    for (int i = 0; i < all.size(); ++i) {
        indexOf.insert(all[i].id, i);
        childrenOf[all[i].parentId].push_back(all[i].id);
    }
    QList<MessageListModel::Row> rows;
    for (qint64 id = conversation_.currentLeafId; id && indexOf.contains(id) && rows.size() <= all.size();) {
        const auto& m = all[indexOf[id]];
        const auto& siblings = childrenOf[m.parentId];
        rows.prepend({m, int(siblings.indexOf(m.id)) + 1, int(siblings.size())});
        id = m.parentId;
    }
    messages_.setRows(std::move(rows));
}

// --- sending and streaming ---------------------------------------------------------------------

bool ChatController::send(const QString& text) {
    const QString message = text.trimmed();
    if (message.isEmpty()) return false;
    if (!canSend()) {
        setError(inputHint());
        return false;
    }
    qint64 userId = 0;
    try {
        if (!conversation_.id) {
            const qint64 id = store_.createConversation(titleFrom(message), conversation_.systemPrompt, samplerJson());
            conversation_ = store_.conversation(id);
            emit conversationChanged();
        }
        userId = store_.addMessage({.conversationId = conversation_.id,
                                    .parentId = conversation_.currentLeafId,
                                    .role = "user",
                                    .content = message,
                                    .finishReason = store::finish::kComplete});
    } catch (const std::exception& e) {
        setError(errorOf(e) + QStringLiteral(" Your message is still in the input box."));
        return false;
    }
    conversation_.currentLeafId = userId;
    setError({});
    startAnswer(userId);
    emit historyChanged();
    return true;  // the message is in the history even if the answer could not start
}

bool ChatController::startAnswer(qint64 parentId) {
    SamplerSettings sampler = sampler_;
    // A random seed is still recorded, so any answer can be reproduced.
    if (!sampler.seed) sampler.seed = QRandomGenerator::global()->generate64() >> 1 | 1;
    try {
        QJsonObject used = QJsonDocument::fromJson(samplerJson().toUtf8()).object();
        used["seed"] = QString::number(sampler.seed);
        answerId_ = store_.addMessage({.conversationId = conversation_.id,
                                       .parentId = parentId,
                                       .role = "assistant",
                                       .modelFile = model_.path,
                                       .modelHash = model_.fingerprint,
                                       .backend = model_.deviceId,
                                       .samplerJson = QJsonDocument(used).toJson(QJsonDocument::Compact),
                                       .seed = qint64(sampler.seed),
                                       .finishReason = store::finish::kStreaming});
    } catch (const std::exception& e) {
        setError(errorOf(e));
        reloadMessages();
        return false;
    }
    conversation_.currentLeafId = answerId_;
    reloadMessages();

    ChatRequest request;
    request.id = InferenceWorker::nextRequestId();
    request.conversationId = conversation_.id;
    request.sampler = sampler;
    request.maxTokens = maxTokens_;
    request.messages = nlohmann::json::array();
    if (!conversation_.systemPrompt.trimmed().isEmpty())
        request.messages.push_back({{"role", "system"}, {"content", conversation_.systemPrompt.toStdString()}});
    for (const auto& row : messages_.rows()) {
        const auto& m = row.message;
        if (m.id == answerId_) break;
        // Failed answers carry no text the model should see again.
        if (m.role == "assistant" && (m.finishReason == store::finish::kError || m.content.isEmpty())) continue;
        request.messages.push_back({{"role", m.role.toStdString()}, {"content", m.content.toStdString()}});
    }
    activeRequest_ = request.id;
    answer_.clear();
    sinceCheckpoint_.start();
    emit stateChanged();
    emit generateRequested(request);
    return true;
}

void ChatController::onPiece(quint64 requestId, const QString& piece) {
    if (requestId != activeRequest_ || piece.isEmpty()) return;
    answer_ += piece;
    messages_.appendToStreaming(piece);
    if (sinceCheckpoint_.elapsed() >= kCheckpointMs) checkpoint();
}

void ChatController::checkpoint() {
    sinceCheckpoint_.restart();
    try {
        store_.updateContent(answerId_, answer_);
    } catch (const std::exception& e) {
        setError(errorOf(e));
    }
}

void ChatController::onGenerationFinished(const hearth::ChatOutcome& outcome) {
    if (outcome.id != activeRequest_) return;
    messages_.flush();
    if (answer_.isEmpty() && !outcome.text.isEmpty()) answer_ = outcome.text;
    store::MessageRecord final = store_.message(answerId_);
    final.content = answer_;
    final.promptTokens = outcome.promptTokens;
    final.generatedTokens = outcome.generatedTokens;
    final.tokensPerSecond = outcome.decodeTokensPerSecond;
    final.finishReason = outcome.finish.isEmpty() ? store::finish::kComplete : outcome.finish;
    final.error = outcome.error;
    try {
        store_.finishMessage(answerId_, final);
    } catch (const std::exception& e) {
        setError(errorOf(e));
    }
    messages_.updateLast(final);
    lastOutcome_ = outcome;
    activeRequest_ = 0;
    answerId_ = 0;
    if (!outcome.error.isEmpty()) setError(outcome.error);
    emit stateChanged();
    emit statusChanged();
    emit historyChanged();
}

void ChatController::failStreamingAnswer(const QString& finishReason) {
    const quint64 request = activeRequest_;
    activeRequest_ = 0;
    emit cancelRequested(request);
    messages_.flush();
    try {
        store::MessageRecord final = store_.message(answerId_);
        final.content = answer_;
        final.finishReason = finishReason;
        store_.finishMessage(answerId_, final);
    } catch (const std::exception& e) {
        setError(errorOf(e));
    }
    answerId_ = 0;
}

void ChatController::stop() {
    if (activeRequest_) emit cancelRequested(activeRequest_);
}

void ChatController::regenerate() {
    if (!canSend()) return;
    const auto& rows = messages_.rows();
    if (rows.isEmpty()) return;
    const auto& last = rows.last().message;
    if (startAnswer(last.role == "assistant" ? last.parentId : last.id)) emit historyChanged();
}

bool ChatController::editAndResend(int row, const QString& text) {
    const auto* original = messages_.messageAt(row);
    const QString message = text.trimmed();
    if (!original || original->role != "user" || message.isEmpty() || !canSend()) return false;
    try {
        // A sibling of the original: the earlier branch stays and can be shown again.
        const qint64 userId = store_.addMessage({.conversationId = conversation_.id,
                                                 .parentId = original->parentId,
                                                 .role = "user",
                                                 .content = message,
                                                 .finishReason = store::finish::kComplete});
        conversation_.currentLeafId = userId;
    } catch (const std::exception& e) {
        setError(errorOf(e));
        return false;
    }
    startAnswer(conversation_.currentLeafId);
    emit historyChanged();
    return true;
}

void ChatController::showAlternative(int row, int step) {
    const auto* m = messages_.messageAt(row);
    if (!m || generating()) return;
    try {
        const auto siblings = store_.siblings(m->id);
        const int at = int(siblings.indexOf(m->id)) + step;
        if (at < 0 || at >= siblings.size()) return;
        const qint64 leaf = store_.newestLeafUnder(siblings[at]);
        store_.setCurrentLeaf(conversation_.id, leaf);
        conversation_.currentLeafId = leaf;
        reloadMessages();
    } catch (const std::exception& e) {
        setError(errorOf(e));
    }
    emit stateChanged();
}

void ChatController::copyMessage(int row) {
    if (const auto* m = messages_.messageAt(row)) copyText(m->content);
}

void ChatController::copyText(const QString& text) {
    if (auto* clipboard = QGuiApplication::clipboard()) clipboard->setText(text);
}

void ChatController::onModelLoaded(const hearth::LoadedModelInfo& info) {
    model_ = info;
    lastOutcome_ = {};
    emit stateChanged();
    emit statusChanged();
}

void ChatController::onModelUnloaded() {
    model_ = {};
    emit stateChanged();
    emit statusChanged();
}

// --- export and import -------------------------------------------------------------------------

bool ChatController::exportConversation(const QUrl& file) {
    const QString path = file.isLocalFile() ? file.toLocalFile() : file.toString();
    if (!conversation_.id || path.isEmpty()) return false;
    try {
        const QByteArray text = path.endsWith(".json", Qt::CaseInsensitive)
                                    ? QJsonDocument(store_.exportJson(conversation_.id)).toJson()
                                    : store_.exportMarkdown(conversation_.id).toUtf8();
        store::ConversationStore::writeFileAtomically(path, text);
        return true;
    } catch (const std::exception& e) {
        setError(errorOf(e));
        return false;
    }
}

bool ChatController::importConversation(const QUrl& file) {
    const QString path = file.isLocalFile() ? file.toLocalFile() : file.toString();
    QFile in(path);
    if (!in.open(QIODevice::ReadOnly)) {
        setError(QStringLiteral("Could not read %1: %2").arg(path, in.errorString()));
        return false;
    }
    QJsonParseError parseError;
    const auto doc = QJsonDocument::fromJson(in.readAll(), &parseError);
    if (!doc.isObject()) {
        setError(QStringLiteral("%1 is not a JSON conversation export (%2).").arg(path, parseError.errorString()));
        return false;
    }
    try {
        const qint64 id = store_.importJson(doc.object());
        emit historyChanged();
        openConversation(id);
        return true;
    } catch (const std::exception& e) {
        setError(errorOf(e));
        return false;
    }
}

}  // namespace hearth::ui
