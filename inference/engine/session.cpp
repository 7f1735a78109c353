// Session: the KV cache of one conversation, prefix reuse, and the generation loop.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>

#include "inference/engine/engine.h"
#include "inference/engine/model_graph.h"
#include "inference/engine/sampler.h"
#include "inference/engine/stop_filter.h"
#include "inference/tokenizer/tokenizer.h"

namespace hearth {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Backend::sample's parameters for one step.
using SampleParams = std::array<float, kSampleParamCount>;

// Whether the device sampler draws from the same distribution as the host Sampler: it knows no
// penalties (they need the history) and keeps at most kSampleMaxTopK candidates. Greedy requests
// use the argmax the forward pass leaves anyway.
bool samplesOnDevice(const SamplerSettings& s) {
    const bool penalties = (s.repeatPenalty != 1.0f && s.repeatLastN != 0) || s.presencePenalty != 0 ||
                           s.frequencyPenalty != 0;
    return s.temperature > 0 && !penalties && s.topK >= 1 && s.topK <= kSampleMaxTopK;
}

SampleParams sampleParams(const SamplerSettings& s, Sampler& sampler) {
    SampleParams p{};
    p[kSampleTemperature] = s.temperature;
    p[kSampleTopK] = static_cast<float>(s.topK);
    p[kSampleTopP] = s.topP;
    p[kSampleMinP] = s.minP;
    p[kSampleUniform] = static_cast<float>(sampler.nextUniform());  // exact: 24-bit values
    return p;
}

}  // namespace

std::string_view finishReasonName(FinishReason reason) {
    switch (reason) {
        case FinishReason::Complete: return "complete";
        case FinishReason::Length: return "length";
        case FinishReason::Stopped: return "stopped";
        case FinishReason::StopString: return "stop_string";
        case FinishReason::ContextFull: return "context_full";
        case FinishReason::Error: return "error";
    }
    return "error";
}

class SessionState {
public:
    SessionState(std::shared_ptr<Model> m, ContextPolicy p)
        : model(std::move(m)), policy(p),
          st(model->graph().makeState(model->contextSize(), model->prefillBatch(),
                                      model->options().kvType)) {}

    // Makes the cache hold exactly `ids` and leaves the logits of the last one in st.logits.
    // Only the tokens after the longest common prefix with what is cached are evaluated.
    int evaluate(std::span<const int32_t> ids) {
        size_t common = 0;
        while (common < cached.size() && common < ids.size() && cached[common] == ids[common]) ++common;
        // The last token must be evaluated again for its logits.
        if (common == ids.size()) --common;
        cached.resize(common);
        auto t0 = Clock::now();
        for (size_t i = common; i < ids.size();) {
            size_t n = std::min(ids.size() - i, static_cast<size_t>(st.maxBatch));
            step(ids.subspan(i, n));
            i += n;
        }
        model->backend().synchronize();
        lastPrefill = secondsSince(t0);
        return static_cast<int>(common);
    }

    // Evaluates `ids` at the next positions of the cache; with `sampling`, also draws the next
    // token on the device into sampleOut (inside the captured decode step).
    void step(std::span<const int32_t> ids, const SampleParams* sampling = nullptr) {
        const int n = static_cast<int>(ids.size());
        std::vector<int32_t> pos(ids.size());
        for (int i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = static_cast<int32_t>(cached.size()) + i;
        Backend& be = model->backend();
        be.upload(st.ids, ids.data(), ids.size() * sizeof(int32_t));
        be.upload(st.positions, pos.data(), pos.size() * sizeof(int32_t));
        if (sampling) {
            ensureSampleBuffer();
            be.upload(sampleIn, sampling->data(), sizeof(SampleParams));
            if (n == 1) {
                if (!sampleGraph)
                    sampleGraph = be.capture([this] {
                        model->graph().forward(st, 1);
                        sampleLogits();
                    });
                sampleGraph->run();
            } else {
                model->graph().forward(st, n);
                sampleLogits();
            }
        } else if (n == 1) {
            // The decode step is recorded once and replayed (a CUDA graph / command buffer on GPUs).
            if (!decodeGraph) decodeGraph = be.capture([this] { model->graph().forward(st, 1); });
            decodeGraph->run();
        } else {
            model->graph().forward(st, n);
        }
        cached.insert(cached.end(), ids.begin(), ids.end());
    }

    void ensureSampleBuffer() {
        if (sampleBuffer) return;
        // params F32 {kSampleParamCount}, then the drawn id I32 {1}.
        sampleBuffer = model->backend().allocate(sizeof(SampleParams) + sizeof(int32_t), BufferUsage::Activations);
        sampleIn = {sampleBuffer.get(), 0, DType::F32, {kSampleParamCount, 1, 1, 1}};
        sampleOut = {sampleBuffer.get(), sizeof(SampleParams), DType::I32, {1, 1, 1, 1}};
    }

    void sampleLogits() {
        model->backend().sample(sampleOut, st.logits.reshaped(model->spec().vocabSize, 1), sampleIn);
    }

    // Draws the next token on the device from the logits already in st.logits.
    void sampleNow(const SampleParams& params) {
        ensureSampleBuffer();
        model->backend().upload(sampleIn, params.data(), sizeof params);
        sampleLogits();
    }

    int32_t downloadSampled() {
        int32_t id = 0;
        model->backend().download(&id, sampleOut, sizeof id);
        return id;
    }

    std::vector<float> downloadLogits() {
        std::vector<float> logits(model->spec().vocabSize);
        model->backend().download(logits.data(), st.logits, logits.size() * sizeof(float));
        return logits;
    }

    int32_t downloadArgmax() {
        int32_t id = 0;
        model->backend().download(&id, st.next, sizeof id);
        return id;
    }

    void checkIds(std::span<const int32_t> ids) const {
        const auto vocab = static_cast<int32_t>(model->spec().vocabSize);
        for (int32_t id : ids) {
            if (id < 0 || id >= vocab)
                throw EngineError("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                                  std::to_string(vocab - 1) + ")");
        }
    }

    std::shared_ptr<Model> model;
    ContextPolicy policy;
    ForwardState st;
    std::vector<int32_t> cached;  // the tokens whose keys/values are in the cache, by position
    std::unique_ptr<Graph> decodeGraph;
    std::unique_ptr<Graph> sampleGraph;  // the decode step followed by Backend::sample
    std::unique_ptr<Buffer> sampleBuffer;
    Tensor sampleIn, sampleOut;          // SampleParams, and the drawn id
    double lastPrefill = 0;
};

Session::Session(std::shared_ptr<Model> model, ContextPolicy policy)
    : d(std::make_unique<SessionState>(std::move(model), policy)) {}

Session::~Session() = default;

const Model& Session::model() const { return *d->model; }
int Session::contextUsed() const { return static_cast<int>(d->cached.size()); }
double Session::lastPrefillSeconds() const { return d->lastPrefill; }
void Session::reset() { d->cached.clear(); }

std::vector<float> Session::logits(std::span<const int32_t> promptIds) {
    if (promptIds.empty()) throw EngineError("the prompt is empty: give at least one token");
    d->checkIds(promptIds);
    if (static_cast<int>(promptIds.size()) > d->st.contextSize)
        throw EngineError("the prompt has " + std::to_string(promptIds.size()) + " tokens but the context holds " +
                          std::to_string(d->st.contextSize) + "; raise --ctx-size or shorten the prompt");
    d->evaluate(promptIds);
    return d->downloadLogits();
}

int32_t Session::decodeGreedy(int32_t token) {
    d->checkIds({&token, 1});
    if (static_cast<int>(d->cached.size()) >= d->st.contextSize) throw EngineError("the context is full");
    d->step({&token, 1});
    return d->downloadArgmax();
}

namespace {

// Drops the oldest turn (a user message and the answer after it), never a system message and
// never the last message. Returns false when nothing more can go.
bool dropOldestTurn(nlohmann::json& messages) {
    size_t first = 0;
    while (first < messages.size() && messages[first].value("role", "") == "system") ++first;
    if (first + 1 >= messages.size()) return false;
    size_t end = first + 1;
    while (end + 1 < messages.size() && messages[end].value("role", "") != "user") ++end;
    messages.erase(messages.begin() + static_cast<ptrdiff_t>(first), messages.begin() + static_cast<ptrdiff_t>(end));
    return true;
}

}  // namespace

GenerationResult Session::generate(const GenerationRequest& req,
                                   const std::function<void(std::string_view piece)>& onPiece,
                                   const std::atomic<bool>* cancel) {
    GenerationResult r;
    const Model& m = *d->model;
    const int ctx = d->st.contextSize;
    r.stats.contextSize = ctx;
    auto fail = [&](FinishReason why, std::string message) {
        r.finish = why;
        r.error = std::move(message);
        r.stats.contextUsed = static_cast<int>(d->cached.size());
        return r;
    };

    std::vector<int32_t> prompt;
    try {
        if (!req.messages.is_null() && !req.messages.empty()) {
            if (!req.messages.is_array()) return fail(FinishReason::Error, "messages must be a JSON array");
            nlohmann::json messages = req.messages;
            const int reserve = std::clamp(req.maxTokens, 1, std::max(1, ctx / 4));
            prompt = m.encode(m.renderChat(messages), false);
            while (d->policy == ContextPolicy::DropOldestTurns && static_cast<int>(prompt.size()) + reserve > ctx &&
                   dropOldestTurn(messages)) {
                ++r.stats.droppedTurns;
                prompt = m.encode(m.renderChat(messages), false);
            }
        } else {
            prompt = req.promptIds;
        }
        if (prompt.empty()) return fail(FinishReason::Error, "the prompt is empty: give a message or at least one token");
        d->checkIds(prompt);
    } catch (const std::exception& e) {
        return fail(FinishReason::Error, e.what());
    }
    r.stats.promptTokens = static_cast<int>(prompt.size());
    if (static_cast<int>(prompt.size()) >= ctx)
        return fail(FinishReason::ContextFull,
                    "the prompt has " + std::to_string(prompt.size()) + " tokens but the context holds " +
                        std::to_string(ctx) +
                        (d->policy == ContextPolicy::Stop ? "; raise --ctx-size, shorten the prompt or start a new chat"
                                                          : " even after dropping the oldest turns"));

    r.stats.reusedTokens = d->evaluate(prompt);
    const int evaluated = r.stats.promptTokens - r.stats.reusedTokens;
    r.stats.prefillTokensPerSecond = d->lastPrefill > 0 ? evaluated / d->lastPrefill : 0;

    Sampler sampler(req.sampler);
    const auto& s = req.sampler;
    const bool deviceGreedy = s.temperature <= 0 && (s.repeatPenalty == 1.0f || s.repeatLastN == 0) &&
                              s.presencePenalty == 0 && s.frequencyPenalty == 0;
    // Otherwise the device draws the token (one u per token from the seeded host generator, as
    // the host sampler does) and only its id crosses to the host.
    const bool deviceSample = !deviceGreedy && samplesOnDevice(s);
    if (deviceSample) d->sampleNow(sampleParams(s, sampler));
    const auto& eog = m.endOfGenerationIds();
    StreamingDecoder decoder(m.tokenizer(), true);
    StopFilter stops(req.stopStrings);
    auto emit = [&](const std::string& text) {
        if (text.empty()) return;
        r.text += text;
        if (onPiece) onPiece(text);
    };

    std::vector<int32_t> history = prompt;
    auto t0 = Clock::now();
    r.finish = FinishReason::Length;
    bool stoppedByString = false;
    while (true) {
        if (r.ids.size() >= static_cast<size_t>(std::max(0, req.maxTokens))) { r.finish = FinishReason::Length; break; }
        if (cancel && cancel->load()) { r.finish = FinishReason::Stopped; break; }
        int32_t next;
        if (deviceGreedy) {
            next = d->downloadArgmax();
        } else if (deviceSample) {
            next = d->downloadSampled();
        } else {
            auto logits = d->downloadLogits();
            next = sampler.sample(logits, history);
        }
        if (!req.ignoreEos && std::find(eog.begin(), eog.end(), next) != eog.end()) {
            r.finish = FinishReason::Complete;
            break;
        }
        r.ids.push_back(next);
        history.push_back(next);
        auto out = stops.push(decoder.push(next));
        emit(out.text);
        if (out.stopped) {
            r.finish = FinishReason::StopString;
            stoppedByString = true;
            break;
        }
        if (r.ids.size() >= static_cast<size_t>(req.maxTokens)) { r.finish = FinishReason::Length; break; }
        if (static_cast<int>(d->cached.size()) >= ctx) {
            r.finish = FinishReason::ContextFull;
            r.error = "the context of " + std::to_string(ctx) + " tokens is full";
            break;
        }
        if (cancel && cancel->load()) { r.finish = FinishReason::Stopped; break; }
        if (deviceSample) {
            const SampleParams p = sampleParams(s, sampler);
            d->step({&next, 1}, &p);
        } else {
            d->step({&next, 1});
        }
    }
    if (!stoppedByString) {
        auto out = stops.push(decoder.flush());
        emit(out.text);
        if (out.stopped) r.finish = FinishReason::StopString;
        else emit(stops.flush());
    }
    double decodeSeconds = secondsSince(t0);
    r.stats.generatedTokens = static_cast<int>(r.ids.size());
    r.stats.decodeTokensPerSecond = decodeSeconds > 0 && r.ids.size() > 1 ? (r.ids.size() - 1) / decodeSeconds : 0;
    r.stats.contextUsed = static_cast<int>(d->cached.size());
    return r;
}

}  // namespace hearth
