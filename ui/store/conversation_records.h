// Plain value types the history store reads and writes. No SQL here: view-models, the CLI and
// tests use these without knowing the schema.
#pragma once

#include <QDateTime>
#include <QString>

namespace hearth::store {

// How an assistant answer ended. An empty value means "still streaming"; the store turns those
// into Interrupted when it is opened again after a crash.
namespace finish {
inline const QString kStreaming;
inline const QString kComplete = QStringLiteral("complete");
inline const QString kStopped = QStringLiteral("stopped");
inline const QString kInterrupted = QStringLiteral("interrupted");
inline const QString kLength = QStringLiteral("length");
inline const QString kError = QStringLiteral("error");
}  // namespace finish

struct ConversationRecord {
    qint64 id = 0;
    QString title;
    QString systemPrompt;
    QString samplerJson;       // per-conversation sampling settings, {} = defaults
    qint64 currentLeafId = 0;  // the message the visible branch ends at; 0 = empty conversation
    QDateTime createdAt;
    QDateTime updatedAt;
    QString preview;           // the first matching or latest text, for the sidebar
};

struct MessageRecord {
    qint64 id = 0;
    qint64 conversationId = 0;
    qint64 parentId = 0;  // 0 = first message of the conversation; siblings are branches
    QString role;         // "system", "user", "assistant"
    QString content;
    QString modelFile;    // path of the GGUF file that wrote an assistant answer
    QString modelHash;    // content fingerprint of that file (see modelFingerprint)
    QString backend;      // "cpu", "cuda:0", ...
    QString samplerJson;  // the sampler settings used
    qint64 seed = 0;
    int promptTokens = 0;
    int generatedTokens = 0;
    double tokensPerSecond = 0;
    QString finishReason;  // see namespace finish
    QString error;
    QDateTime createdAt;
    QDateTime updatedAt;
};

}  // namespace hearth::store
