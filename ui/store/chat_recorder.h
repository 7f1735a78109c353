// Records a terminal chat (`hearth chat`) into the shared history database, so it shows up in
// the desktop app. Plain std::string API so the command-line code needs no Qt. Never throws:
// if the history cannot be written (locked, damaged, read-only), problem() says why once and
// recording stops; the chat itself goes on.
//
//   ChatRecorder history(modelPath, "cpu");
//   history.userMessage("Hi");                 // committed before the answer starts
//   history.beginAnswer();
//   ... history.answerPiece(piece) ...          // checkpointed at least twice a second
//   history.endAnswer("Hello!", "complete", tokens, tokensPerSecond);
#pragma once

#include <QElapsedTimer>
#include <memory>
#include <string>
#include <string_view>

namespace hearth::store {

class ConversationStore;

class ChatRecorder {
public:
    // `enabled` false records nothing (`hearth chat --no-history`); `databasePath` empty = the
    // shared history (ConversationStore::defaultPath()).
    ChatRecorder(const std::string& modelPath, const std::string& backend, bool enabled = true,
                 const std::string& databasePath = {});
    ~ChatRecorder();
    ChatRecorder(const ChatRecorder&) = delete;
    ChatRecorder& operator=(const ChatRecorder&) = delete;

    const std::string& problem() const { return problem_; }
    std::string databasePath() const;

    void setSystemPrompt(const std::string& prompt);
    void newConversation();  // the next message starts a new one (/reset)
    void userMessage(const std::string& text);
    // A new answer to the last user message (also after /regen: the earlier answer is kept as
    // an alternative).
    void beginAnswer();
    void answerPiece(std::string_view piece);
    // finish: "complete", "stopped", "length", "error", or an engine finishReasonName().
    void endAnswer(const std::string& text, const std::string& finish, int generatedTokens,
                   double tokensPerSecond, const std::string& error = {});

private:
    std::unique_ptr<ConversationStore> store_;
    std::string problem_;
    std::string modelPath_, backend_, system_;
    qint64 conversation_ = 0;
    qint64 lastUser_ = 0;
    qint64 answer_ = 0;
    std::string streamed_;
    QElapsedTimer sinceCheckpoint_;
    void fail(const std::exception& e);
};

}  // namespace hearth::store
