#include "ui/store/chat_recorder.h"

#include <QFileInfo>

#include "ui/store/conversation_store.h"

namespace hearth::store {
namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

QString storeFinish(const std::string& finish) {
    if (finish == "stop_string" || finish == "stop-string") return finish::kComplete;
    if (finish == "context_full" || finish == "context-full") return finish::kLength;
    for (const QString& known : {finish::kComplete, finish::kStopped, finish::kLength, finish::kError})
        if (q(finish) == known) return known;
    return finish::kComplete;
}

}  // namespace

ChatRecorder::ChatRecorder(const std::string& modelPath, const std::string& backend, bool enabled,
                           const std::string& databasePath)
    : modelPath_(QFileInfo(q(modelPath)).absoluteFilePath().toStdString()), backend_(backend) {
    if (!enabled) return;
    try {
        store_ = std::make_unique<ConversationStore>(databasePath.empty() ? ConversationStore::defaultPath()
                                                                          : q(databasePath));
        if (store_->isReadOnly() || !store_->isPersistent()) {
            problem_ = store_->problem().toStdString();
            store_.reset();
        }
    } catch (const std::exception& e) {
        fail(e);
    }
}

ChatRecorder::~ChatRecorder() {
    // Quitting in the middle of an answer (a second Ctrl-C) keeps what was written.
    if (store_ && answer_) endAnswer(streamed_, "stopped", 0, 0);
}

std::string ChatRecorder::databasePath() const { return store_ ? store_->path().toStdString() : std::string(); }

void ChatRecorder::fail(const std::exception& e) {
    problem_ = e.what();
    store_.reset();
}

void ChatRecorder::setSystemPrompt(const std::string& prompt) {
    system_ = prompt;
    if (!store_ || !conversation_) return;
    try {
        store_->setSystemPrompt(conversation_, q(prompt));
    } catch (const std::exception& e) {
        fail(e);
    }
}

void ChatRecorder::newConversation() {
    conversation_ = 0;
    lastUser_ = 0;
}

void ChatRecorder::userMessage(const std::string& text) {
    if (!store_) return;
    try {
        if (!conversation_) {
            QString title = q(text).section('\n', 0, 0).simplified();
            if (title.size() > 48) title = title.left(47) + QStringLiteral("…");
            conversation_ = store_->createConversation(title, q(system_));
        }
        lastUser_ = store_->addMessage({.conversationId = conversation_,
                                        .parentId = store_->conversation(conversation_).currentLeafId,
                                        .role = "user",
                                        .content = q(text),
                                        .finishReason = finish::kComplete});
    } catch (const std::exception& e) {
        fail(e);
    }
}

void ChatRecorder::beginAnswer() {
    if (!store_ || !lastUser_) return;
    try {
        answer_ = store_->addMessage({.conversationId = conversation_,
                                      .parentId = lastUser_,
                                      .role = "assistant",
                                      .modelFile = q(modelPath_),
                                      .backend = q(backend_),
                                      .finishReason = finish::kStreaming});
        streamed_.clear();
        sinceCheckpoint_.start();
    } catch (const std::exception& e) {
        fail(e);
    }
}

void ChatRecorder::answerPiece(std::string_view piece) {
    if (!store_ || !answer_) return;
    streamed_.append(piece);
    if (sinceCheckpoint_.elapsed() < 500) return;
    sinceCheckpoint_.restart();
    try {
        store_->updateContent(answer_, q(streamed_));
    } catch (const std::exception& e) {
        fail(e);
    }
}

void ChatRecorder::endAnswer(const std::string& text, const std::string& finish, int generatedTokens,
                             double tokensPerSecond, const std::string& error) {
    if (!store_ || !answer_) return;
    try {
        MessageRecord final = store_->message(answer_);
        final.content = q(text);
        final.finishReason = storeFinish(finish);
        final.generatedTokens = generatedTokens;
        final.tokensPerSecond = tokensPerSecond;
        final.error = q(error);
        store_->finishMessage(answer_, final);
    } catch (const std::exception& e) {
        fail(e);
    }
    answer_ = 0;
}

}  // namespace hearth::store
