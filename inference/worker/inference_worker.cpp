#include "inference/worker/inference_worker.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QMetaObject>

Q_LOGGING_CATEGORY(lcWorker, "hearth.worker")

namespace hearth {
namespace {

constexpr size_t kMaxSessions = 2;  // each holds a full KV cache

// The store's vocabulary for how an answer ended (see ui/store/conversation_records.h).
QString finishName(FinishReason reason) {
    switch (reason) {
    case FinishReason::Complete:
    case FinishReason::StopString: return QStringLiteral("complete");
    case FinishReason::Length:
    case FinishReason::ContextFull: return QStringLiteral("length");
    case FinishReason::Stopped: return QStringLiteral("stopped");
    case FinishReason::Error: return QStringLiteral("error");
    }
    return QStringLiteral("error");
}

QString fromUtf8(std::string_view text) { return QString::fromUtf8(text.data(), qsizetype(text.size())); }

}  // namespace

QString modelFingerprint(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw std::runtime_error("cannot read " + path.toStdString() + ": " + file.errorString().toStdString());
    constexpr qint64 kChunk = 1 << 20;
    QCryptographicHash hash(QCryptographicHash::Sha256);
    const qint64 size = file.size();
    hash.addData(QByteArray::number(size));
    hash.addData(file.read(kChunk));
    if (size > kChunk) {
        file.seek(std::max(kChunk, size - kChunk));
        hash.addData(file.read(kChunk));
    }
    return QString::fromLatin1(hash.result().toHex());
}

InferenceWorker::InferenceWorker(QObject* parent) : QObject(parent) {
    qRegisterMetaType<hearth::LoadedModelInfo>();
    qRegisterMetaType<hearth::ChatOutcome>();
}

InferenceWorker::~InferenceWorker() = default;

quint64 InferenceWorker::nextRequestId() {
    static std::atomic<quint64> next{1};
    return next++;
}

void InferenceWorker::requestLoad(const ModelLoadRequest& request) {
    const quint64 number = ++loadNumber_;
    cancel_ = true;  // a running answer stops so the load can start
    QMetaObject::invokeMethod(this, [this, request, number] { load(request, number); }, Qt::QueuedConnection);
}

void InferenceWorker::requestGenerate(const ChatRequest& request) {
    QMetaObject::invokeMethod(this, [this, request] { generate(request); }, Qt::QueuedConnection);
}

void InferenceWorker::requestForget(qint64 conversationId) {
    QMetaObject::invokeMethod(
        this,
        [this, conversationId] {
            sessions_.erase(conversationId);
            lastUse_.erase(conversationId);
        },
        Qt::QueuedConnection);
}

void InferenceWorker::cancelGeneration(quint64 requestId) {
    quint64 seen = cancelledUpTo_.load();
    while (seen < requestId && !cancelledUpTo_.compare_exchange_weak(seen, requestId)) {
    }
    if (runningId_.load() <= requestId) cancel_ = true;
}

void InferenceWorker::cancelLoad() { ++loadNumber_; }

void InferenceWorker::load(const ModelLoadRequest& request, quint64 number) {
    if (number != loadNumber_) return;  // superseded before it started
    emit loadStarted(request.path);
    // Free the old model first: two models may not fit in memory together.
    sessions_.clear();
    lastUse_.clear();
    model_.reset();

    LoadOptions options;
    options.device = request.device.toStdString();
    options.threads = request.threads;
    options.contextSize = request.contextSize;
    QElapsedTimer sinceReport;
    sinceReport.start();
    double reported = -1;
    options.onProgress = [&](double fraction) {
        // Throttled: the GUI needs a few dozen updates, not one per tensor.
        if (fraction - reported >= 0.01 || sinceReport.elapsed() >= 50 || fraction >= 1.0) {
            emit loadProgress(fraction);
            reported = fraction;
            sinceReport.restart();
        }
        return number == loadNumber_;
    };
    try {
        if (!QFileInfo::exists(request.path))
            throw EngineError("the model file " + request.path.toStdString() + " does not exist");
        auto model = Model::load(request.path.toStdString(), options);
        LoadedModelInfo info;
        info.path = request.path;
        info.name = QString::fromStdString(model->spec().name);
        if (info.name.isEmpty()) info.name = QFileInfo(request.path).completeBaseName();
        info.architecture = QString::fromStdString(model->spec().architecture);
        info.fingerprint = modelFingerprint(request.path);
        info.deviceId = QString::fromStdString(model->device().id);
        info.backend = QString::fromStdString(model->device().backend);
        info.deviceName = QString::fromStdString(model->device().name);
        info.contextSize = model->contextSize();
        model_ = std::move(model);
        emit loadProgress(1.0);
        emit modelLoaded(info);
    } catch (const std::exception& e) {
        qCWarning(lcWorker) << "loading" << request.path << "failed:" << e.what();
        emit loadFailed(request.path, number == loadNumber_ ? QString::fromUtf8(e.what())
                                                            : QStringLiteral("Loading was cancelled."));
    }
}

Session& InferenceWorker::sessionFor(qint64 conversationId) {
    lastUse_[conversationId] = ++useCounter_;
    auto it = sessions_.find(conversationId);
    if (it != sessions_.end()) return *it->second;
    while (sessions_.size() >= kMaxSessions) {
        auto oldest = std::min_element(lastUse_.begin(), lastUse_.end(), [this](const auto& a, const auto& b) {
            return sessions_.count(a.first) && (!sessions_.count(b.first) || a.second < b.second);
        });
        sessions_.erase(oldest->first);
        lastUse_.erase(oldest);
    }
    return *sessions_.emplace(conversationId, std::make_unique<Session>(model_, ContextPolicy::DropOldestTurns))
                .first->second;
}

void InferenceWorker::generate(const ChatRequest& request) {
    runningId_ = request.id;
    cancel_ = false;
    ChatOutcome outcome;
    outcome.id = request.id;
    if (request.id <= cancelledUpTo_) {
        outcome.finish = QStringLiteral("stopped");
        emit generationFinished(outcome);
        return;
    }
    emit generationStarted(request.id);
    if (!model_) {
        outcome.finish = QStringLiteral("error");
        outcome.error = QStringLiteral("No model is loaded. Pick a model first.");
        emit generationFinished(outcome);
        return;
    }
    try {
        GenerationRequest g;
        g.messages = request.messages;
        g.sampler = request.sampler;
        g.maxTokens = request.maxTokens;
        const auto result = sessionFor(request.conversationId)
                                .generate(
                                    g,
                                    [this, id = request.id](std::string_view piece) {
                                        emit pieceReady(id, fromUtf8(piece));
                                    },
                                    &cancel_);
        outcome.text = QString::fromStdString(result.text);
        outcome.finish = finishName(result.finish);
        outcome.error = QString::fromStdString(result.error);
        if (result.finish == FinishReason::ContextFull && outcome.error.isEmpty())
            outcome.error = QStringLiteral("The conversation filled the model's context.");
        outcome.promptTokens = result.stats.promptTokens;
        outcome.generatedTokens = result.stats.generatedTokens;
        outcome.decodeTokensPerSecond = result.stats.decodeTokensPerSecond;
        outcome.prefillTokensPerSecond = result.stats.prefillTokensPerSecond;
        outcome.contextUsed = result.stats.contextUsed;
        outcome.contextSize = result.stats.contextSize;
    } catch (const std::exception& e) {
        // The session may be half-updated: start it afresh next time.
        sessions_.erase(request.conversationId);
        outcome.finish = QStringLiteral("error");
        outcome.error = QString::fromUtf8(e.what());
    }
    emit generationFinished(outcome);
}

}  // namespace hearth
