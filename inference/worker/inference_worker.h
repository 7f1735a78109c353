// The Qt face of the engine: a QObject that lives on its own QThread, owns the loaded Model and
// one engine Session per conversation, and talks to the GUI only through queued calls and
// signals. The GUI never waits for it.
//
//   QThread thread;                       // owned and joined by the app's main()
//   auto* worker = new InferenceWorker;   // no parent: it moves to the thread
//   worker->moveToThread(&thread);
//   QObject::connect(&thread, &QThread::finished, worker, &QObject::deleteLater);
//   thread.start();
//   worker->requestLoad({.path = "model.gguf"});   // any thread; progress comes by signal
//   worker->requestGenerate(request);              // a copied snapshot; pieces come by signal
//   worker->cancelGeneration(request.id);          // any thread; takes effect before the next token
//
// Requests are immutable snapshots: the worker never reads the GUI's models.
#pragma once

#include <QObject>
#include <QString>
#include <atomic>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "inference/engine/engine.h"

namespace hearth {

struct ModelLoadRequest {
    QString path;
    QString device = QStringLiteral("auto");
    int threads = 0;
    int contextSize = 0;
};

struct LoadedModelInfo {
    QString path;
    QString name;          // the model's own name, or the file name
    QString architecture;
    QString fingerprint;   // sha256 of the size and the first and last MiB (see modelFingerprint)
    QString deviceId;      // "cpu", "cuda:0"
    QString backend;       // "cpu", "cuda", ...
    QString deviceName;
    int contextSize = 0;
};

struct ChatRequest {
    quint64 id = 0;              // from nextRequestId(); names the answer in the signals
    qint64 conversationId = 0;   // picks the Session (KV cache) to reuse
    nlohmann::json messages;     // [{"role","content"}], system prompt first
    SamplerSettings sampler;
    int maxTokens = 1024;
};

struct ChatOutcome {
    quint64 id = 0;
    QString text;
    QString finish;  // "complete", "length", "stopped", "stop", "context-full", "error"
    QString error;
    int promptTokens = 0;
    int generatedTokens = 0;
    double decodeTokensPerSecond = 0;
    double prefillTokensPerSecond = 0;
    int contextUsed = 0;
    int contextSize = 0;
};

// A content fingerprint cheap enough for multi-gigabyte files: sha256 over the file size, the
// first MiB and the last MiB. Throws std::runtime_error if the file cannot be read.
QString modelFingerprint(const QString& path);

class InferenceWorker : public QObject {
    Q_OBJECT
public:
    explicit InferenceWorker(QObject* parent = nullptr);
    ~InferenceWorker() override;

    // A fresh ChatRequest::id, unique in the process (cancellation compares ids).
    static quint64 nextRequestId();

    // Thread-safe: queue work on the worker's thread.
    void requestLoad(const ModelLoadRequest& request);
    void requestGenerate(const ChatRequest& request);
    void requestForget(qint64 conversationId);  // drop that conversation's KV cache
    // Thread-safe and immediate: the running generation stops before its next token, and a
    // queued one with an id ≤ `requestId` never starts.
    void cancelGeneration(quint64 requestId);
    void cancelLoad();  // the running load stops at its next progress report

signals:
    void loadStarted(const QString& path);
    void loadProgress(double fraction);
    void modelLoaded(const hearth::LoadedModelInfo& info);
    void loadFailed(const QString& path, const QString& message);
    void generationStarted(quint64 requestId);
    void pieceReady(quint64 requestId, const QString& piece);
    void generationFinished(const hearth::ChatOutcome& outcome);

private:
    void load(const ModelLoadRequest& request, quint64 loadNumber);
    void generate(const ChatRequest& request);
    Session& sessionFor(qint64 conversationId);

    std::shared_ptr<Model> model_;
    std::map<qint64, std::unique_ptr<Session>> sessions_;  // keyed by conversation
    std::map<qint64, quint64> lastUse_;                    // for dropping the least recently used
    quint64 useCounter_ = 0;
    // Polled by the engine between tokens. Set only by a cancel for the running request (or a
    // later one), so a late Stop for a finished answer cannot stop the next one.
    std::atomic<bool> cancel_{false};
    std::atomic<quint64> runningId_{0};
    std::atomic<quint64> cancelledUpTo_{0};
    // Each requestLoad/cancelLoad bumps this; a load whose number is no longer current stops.
    std::atomic<quint64> loadNumber_{0};
};

}  // namespace hearth

Q_DECLARE_METATYPE(hearth::ModelLoadRequest)
Q_DECLARE_METATYPE(hearth::ChatRequest)
Q_DECLARE_METATYPE(hearth::LoadedModelInfo)
Q_DECLARE_METATYPE(hearth::ChatOutcome)
