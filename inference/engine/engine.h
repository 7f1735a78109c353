// The inference engine's public API: load a GGUF model once, then hold one Session per
// conversation. Plain C++ (no Qt); the GUI worker, the CLI and the tests all use this header.
//
//   auto model = hearth::Model::load("qwen3-0.6b-q4_k_m.gguf", {.device = "cpu"});
//   hearth::Session chat(model);
//   hearth::GenerationRequest req;
//   req.messages = nlohmann::json::array({{{"role", "user"}, {"content", "Hello"}}});
//   auto result = chat.generate(req, [](std::string_view piece) { std::cout << piece; });
//   // next turn: append the answer and the new user message to req.messages and call again;
//   // the session re-evaluates only the tokens after the longest common prefix.
//
// Errors: Model::load throws EngineError (bad file, unsupported architecture, unknown device,
// cancelled) with a message a user can act on; generate() reports bad requests (empty prompt,
// prompt longer than the context) in GenerationResult::error with FinishReason::Error.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/backend.h"
#include "models/formats/model_spec.h"

namespace hearth {

class Tokenizer;
class ChatTemplate;

class EngineError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct LoadOptions {
    std::string device = "auto";  // "cpu", "cuda:0", "auto"
    int threads = 0;              // 0 = physical cores
    int contextSize = 0;          // 0 = min(model context, 4096)
    DType kvType = DType::F16;    // KV cache element type: F16 or F32
    // Called with 0..1 while loading; return false to cancel (load() then throws EngineError).
    std::function<bool(double fraction)> onProgress;
};

struct MemoryUse {
    uint64_t weights = 0;  // bytes of tensor data (mapped on the CPU)
    uint64_t kvCache = 0;  // per session
    uint64_t scratch = 0;  // per session: activations, logits
};

class ModelGraph;

// Immutable after load; shared by any number of sessions (each has its own KV cache). The backend
// is one stream: run the sessions of one model from one thread at a time (the GUI worker does).
class Model {
public:
    static std::shared_ptr<Model> load(const std::filesystem::path& gguf, const LoadOptions& options = {});
    ~Model();

    const ModelSpec& spec() const;
    const Tokenizer& tokenizer() const;
    const ChatTemplate& chatTemplate() const;  // the model's own, or the ChatML default
    const DeviceInfo& device() const;
    std::filesystem::path path() const;
    int contextSize() const;                   // what sessions are sized to
    // Tokens evaluated per forward pass in prefill: 256 on the CPU (a chunk's activations stay in
    // L2 while the weights stream), 512 on a GPU (each pass dequantizes or reads every weight
    // matrix once, so fewer, larger passes pay there); never more than the context.
    int prefillBatch() const;
    MemoryUse memoryUse() const;
    // Every id that ends generation: the tokenizer's eos ids plus the spec's and eot.
    const std::vector<int32_t>& endOfGenerationIds() const;
    // The chat template applied to messages (with bos_token/eos_token), as the model will see it.
    std::string renderChat(const nlohmann::json& messages, bool addGenerationPrompt = true) const;
    // Prompt text -> ids as Hugging Face encodes it (special tokens such as BOS added as configured).
    std::vector<int32_t> encode(std::string_view text, bool addSpecialTokens = true) const;

    // Engine internals (sessions use these).
    Backend& backend() const;
    const ModelGraph& graph() const;
    const LoadOptions& options() const;

    struct Impl;

private:
    explicit Model(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};

struct SamplerSettings {
    float temperature = 0.8f;  // 0 = greedy
    int topK = 40;             // 0 = off
    float topP = 0.95f;        // 1 = off
    float minP = 0.05f;        // 0 = off
    float repeatPenalty = 1.0f;  // 1 = off
    int repeatLastN = 64;        // how many recent tokens the penalties look at
    float presencePenalty = 0.0f;
    float frequencyPenalty = 0.0f;
    uint64_t seed = 0;  // 0 = random
};

enum class FinishReason {
    Complete,     // an end-of-generation token
    Length,       // maxTokens reached
    Stopped,      // cancelled
    StopString,   // a user stop string
    ContextFull,  // the context is full and the policy is Stop
    Error,        // see GenerationResult::error
};
std::string_view finishReasonName(FinishReason reason);  // "complete", "length", ...

struct GenerationRequest {
    nlohmann::json messages;  // [{"role","content"}], rendered with the model's chat template; or
    std::vector<int32_t> promptIds;  // used when messages is empty
    SamplerSettings sampler;
    int maxTokens = 512;
    std::vector<std::string> stopStrings;
    bool ignoreEos = false;
};

struct GenerationStats {
    int promptTokens = 0, reusedTokens = 0, generatedTokens = 0;
    double prefillTokensPerSecond = 0, decodeTokensPerSecond = 0;
    int contextUsed = 0, contextSize = 0;
    int droppedTurns = 0;  // turns (a user message + its answer) left out by DropOldestTurns
};

struct GenerationResult {
    std::string text;
    std::vector<int32_t> ids;  // generated ids (without the prompt)
    FinishReason finish = FinishReason::Complete;
    std::string error;
    GenerationStats stats;
};

enum class ContextPolicy {
    Stop,             // refuse / stop with FinishReason::ContextFull and a message
    // Before a turn, drop the oldest user/assistant turns (never the system prompt) until the
    // prompt plus room for an answer (min(maxTokens, context/4)) fits; stats.droppedTurns says how
    // many. An answer that fills the context mid-way still ends with ContextFull.
    DropOldestTurns,
};

class SessionState;

// One conversation's KV cache. Not thread-safe: use a session from one thread at a time.
class Session {
public:
    explicit Session(std::shared_ptr<Model> model, ContextPolicy policy = ContextPolicy::Stop);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // onPiece gets UTF-8-complete text pieces as they are generated (stop strings never leak).
    // cancel is polled between tokens.
    GenerationResult generate(const GenerationRequest& req,
                              const std::function<void(std::string_view piece)>& onPiece,
                              const std::atomic<bool>* cancel = nullptr);
    // Last-position logits after evaluating promptIds (reusing the cached prefix).
    std::vector<float> logits(std::span<const int32_t> promptIds);
    void reset();

    const Model& model() const;
    int contextUsed() const;  // tokens held in the KV cache
    // Timing of the last logits()/generate() prefill, for benchmarks.
    double lastPrefillSeconds() const;
    // Evaluates one token after the current cache (decode step; benchmarks). Returns the greedy id.
    int32_t decodeGreedy(int32_t token);

private:
    std::unique_ptr<SessionState> d;
};

}  // namespace hearth
