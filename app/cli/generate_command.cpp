// `hearth generate`: one completion from a prompt, streamed as plain text or reported as JSON.
#include <cstdio>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "app/cli/engine_flags.h"
#include "inference/engine/engine.h"

namespace {

constexpr const char* kUsage =
    "Usage: hearth generate --model M (--prompt TEXT | --prompt-ids 1,2,3 | --messages FILE.json)\n"
    "                       [--max-tokens N] [--stop S]... [--ignore-eos] [--json] [options]\n\n"
    "Continue a prompt. --prompt is raw text (special tokens such as BOS added as the model's\n"
    "tokenizer says); --messages is a JSON array of {\"role\", \"content\"} rendered with the model's\n"
    "chat template. Plain output streams the text; --json prints ids, text, prompt_tokens,\n"
    "prefill_tps, decode_tps and finish_reason.\n\n"
    "  --max-tokens N       most tokens to generate (default 256)\n"
    "  --stop S             stop before this text (repeatable)\n"
    "  --ignore-eos         keep going past end-of-generation tokens\n";

int runGenerate(hearth::cli::Args& args) {
    using namespace hearth;
    if (args.help()) {
        std::printf("%s%s%s", kUsage, cli::kEngineFlagsHelp, cli::kSamplerFlagsHelp);
        return 0;
    }
    auto modelPath = args.option("--model", "-m");
    auto prompt = args.option("--prompt", "-p");
    auto promptIds = args.option("--prompt-ids");
    auto messagesFile = args.option("--messages");
    bool json = args.flag("--json");
    GenerationRequest req;
    req.ignoreEos = args.flag("--ignore-eos");
    if (auto n = args.intOption("--max-tokens", "-n")) {
        if (*n < 0 || *n > (1 << 24)) throw cli::UsageError("hearth generate: --max-tokens must be 0 or more");
        req.maxTokens = static_cast<int>(*n);
    } else {
        req.maxTokens = 256;
    }
    req.stopStrings = args.options("--stop");
    req.sampler = cli::samplerFrom(args);
    LoadOptions lo = cli::loadOptionsFrom(args);
    args.finish(0);
    if (!modelPath) throw cli::UsageError("hearth generate: --model is required");
    if (int(prompt.has_value()) + int(promptIds.has_value()) + int(messagesFile.has_value()) != 1)
        throw cli::UsageError("hearth generate: give exactly one of --prompt, --prompt-ids, --messages");

    if (messagesFile) {
        std::ifstream in(*messagesFile);
        if (!in) throw EngineError(*messagesFile + ": cannot read the messages file");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        try {
            req.messages = nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception& e) {
            throw EngineError(*messagesFile + ": not valid JSON: " + e.what());
        }
        if (!req.messages.is_array() || req.messages.empty())
            throw EngineError(*messagesFile + ": expected a non-empty JSON array of {\"role\", \"content\"} objects");
    }
    if (promptIds) {
        for (int id : cli::parseIdList(*promptIds, "--prompt-ids")) req.promptIds.push_back(id);
    }
    if (prompt && prompt->empty()) throw EngineError("the prompt is empty: give some text with --prompt");

    auto model = Model::load(*modelPath, lo);
    if (prompt) req.promptIds = model->encode(*prompt, true);
    Session session(model);
    auto result = session.generate(req, [&](std::string_view piece) {
        if (!json) {
            std::fwrite(piece.data(), 1, piece.size(), stdout);
            std::fflush(stdout);
        }
    });
    bool failed = result.finish == FinishReason::Error ||
                  (result.finish == FinishReason::ContextFull && result.ids.empty());
    if (failed) {
        std::fprintf(stderr, "hearth generate: %s\n", result.error.c_str());
        return 1;
    }
    if (json) {
        nlohmann::json j;
        j["ids"] = result.ids;
        j["text"] = result.text;
        j["prompt_tokens"] = result.stats.promptTokens;
        j["generated_tokens"] = result.stats.generatedTokens;
        j["prefill_tps"] = result.stats.prefillTokensPerSecond;
        j["decode_tps"] = result.stats.decodeTokensPerSecond;
        j["finish_reason"] = std::string(finishReasonName(result.finish));
        if (!result.error.empty()) j["error"] = result.error;
        j["device"] = model->device().id;
        std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
        std::printf("\n");
        std::fprintf(stderr, "[%d prompt tokens, %.1f tok/s prefill; %d generated, %.1f tok/s; %s]\n",
                     result.stats.promptTokens, result.stats.prefillTokensPerSecond, result.stats.generatedTokens,
                     result.stats.decodeTokensPerSecond, std::string(finishReasonName(result.finish)).c_str());
    }
    return 0;
}

}  // namespace

HEARTH_COMMAND(generate, "Continue a prompt with a model (streams text, or --json)", runGenerate);
