// The chat screen: sends the user's message, follows the streamed answer, and keeps the history
// safe on the way. The order matters and is the point of this class:
//   1. the user's message is committed (synchronous=FULL) before anything is generated;
//   2. an empty assistant message is committed, marked "streaming";
//   3. a ChatRequest snapshot goes to the inference worker (generateRequested);
//   4. streamed text is shown at most once per frame and checkpointed at least once a second;
//   5. the final text, stats and finish reason are committed (stopped answers are kept and marked).
// It never blocks: the worker runs elsewhere and answers by queued signal (the on*() slots).
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QUrl>
#include <QtQml/qqmlregistration.h>

#include "inference/worker/inference_worker.h"
#include "ui/store/conversation_store.h"
#include "ui/viewmodels/message_list_model.h"

namespace hearth::ui {

class ChatController : public QObject {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("created by the application")
    Q_PROPERTY(hearth::ui::MessageListModel* messages READ messages CONSTANT)
    // A double for QML, which has no 64-bit integers (exact up to 2^53).
    Q_PROPERTY(double conversationId READ conversationKey NOTIFY conversationChanged)
    Q_PROPERTY(QString title READ title NOTIFY conversationChanged)
    Q_PROPERTY(bool modelReady READ modelReady NOTIFY stateChanged)
    Q_PROPERTY(bool generating READ generating NOTIFY stateChanged)
    Q_PROPERTY(bool canSend READ canSend NOTIFY stateChanged)
    Q_PROPERTY(bool canRegenerate READ canRegenerate NOTIFY stateChanged)
    Q_PROPERTY(QString inputHint READ inputHint NOTIFY stateChanged)
    Q_PROPERTY(QString errorText READ errorText NOTIFY errorTextChanged)
    Q_PROPERTY(QString noticeText READ noticeText CONSTANT)
    Q_PROPERTY(QString statusText READ statusText NOTIFY statusChanged)
    Q_PROPERTY(QString systemPrompt READ systemPrompt WRITE setSystemPrompt NOTIFY settingsChanged)
    Q_PROPERTY(double temperature READ temperature WRITE setTemperature NOTIFY settingsChanged)
    Q_PROPERTY(double topP READ topP WRITE setTopP NOTIFY settingsChanged)
    Q_PROPERTY(int topK READ topK WRITE setTopK NOTIFY settingsChanged)
    Q_PROPERTY(double minP READ minP WRITE setMinP NOTIFY settingsChanged)
    Q_PROPERTY(double repeatPenalty READ repeatPenalty WRITE setRepeatPenalty NOTIFY settingsChanged)
    Q_PROPERTY(int maxTokens READ maxTokens WRITE setMaxTokens NOTIFY settingsChanged)
    Q_PROPERTY(QString seed READ seed WRITE setSeed NOTIFY settingsChanged)
public:
    static constexpr int kCheckpointMs = 500;  // ≤ 1 s of streamed text is ever at risk

    ChatController(store::ConversationStore& store, QObject* parent = nullptr);
    ~ChatController() override;

    MessageListModel* messages() { return &messages_; }
    qint64 conversationId() const { return conversation_.id; }
    double conversationKey() const { return double(conversation_.id); }
    QString title() const;
    bool modelReady() const { return !model_.path.isEmpty(); }
    bool generating() const { return activeRequest_ != 0; }
    bool canSend() const;
    bool canRegenerate() const;
    QString inputHint() const;
    QString errorText() const { return error_; }
    QString noticeText() const { return store_.problem(); }
    QString statusText() const;

    QString systemPrompt() const { return conversation_.systemPrompt; }
    void setSystemPrompt(const QString& prompt);
    double temperature() const { return sampler_.temperature; }
    void setTemperature(double v);
    double topP() const { return sampler_.topP; }
    void setTopP(double v);
    int topK() const { return sampler_.topK; }
    void setTopK(int v);
    double minP() const { return sampler_.minP; }
    void setMinP(double v);
    double repeatPenalty() const { return sampler_.repeatPenalty; }
    void setRepeatPenalty(double v);
    int maxTokens() const { return maxTokens_; }
    void setMaxTokens(int v);
    QString seed() const { return QString::number(sampler_.seed); }  // text: QML has no 64-bit ints
    void setSeed(const QString& v);

    Q_INVOKABLE void newConversation();
    void openConversation(qint64 conversationId);
    Q_INVOKABLE void openConversationKey(double conversationId);
    // Returns false (and keeps nothing half-done) when the message could not be sent; the caller
    // then leaves the text in the input box.
    Q_INVOKABLE bool send(const QString& text);
    Q_INVOKABLE void stop();
    Q_INVOKABLE void regenerate();
    Q_INVOKABLE bool editAndResend(int row, const QString& text);
    Q_INVOKABLE void showAlternative(int row, int step);  // step -1 / +1 among the siblings
    Q_INVOKABLE void copyMessage(int row);
    Q_INVOKABLE void copyText(const QString& text);
    Q_INVOKABLE void dismissError();
    Q_INVOKABLE bool exportConversation(const QUrl& file);  // .md or .json by the file name
    Q_INVOKABLE bool importConversation(const QUrl& file);

public slots:
    void onModelLoaded(const hearth::LoadedModelInfo& info);
    void onModelUnloaded();
    void onPiece(quint64 requestId, const QString& piece);
    void onGenerationFinished(const hearth::ChatOutcome& outcome);
    void onConversationRemoved(qint64 conversationId);

signals:
    void conversationChanged();
    void stateChanged();
    void errorTextChanged();
    void statusChanged();
    void settingsChanged();
    void historyChanged();  // a conversation was created, renamed or got messages
    void generateRequested(const hearth::ChatRequest& request);
    void cancelRequested(quint64 requestId);  // connect with Qt::DirectConnection

private:
    store::ConversationStore& store_;
    MessageListModel messages_;
    store::ConversationRecord conversation_;
    SamplerSettings sampler_;
    int maxTokens_ = 1024;
    LoadedModelInfo model_;
    quint64 activeRequest_ = 0;
    qint64 answerId_ = 0;
    QString answer_;
    QElapsedTimer sinceCheckpoint_;
    ChatOutcome lastOutcome_;
    QString error_;

    void setError(const QString& text);
    void reloadMessages();
    bool startAnswer(qint64 parentId);
    QString samplerJson() const;
    void loadSampler(const QString& json);
    void saveSampler();
    void checkpoint();
    void failStreamingAnswer(const QString& why);
};

}  // namespace hearth::ui
