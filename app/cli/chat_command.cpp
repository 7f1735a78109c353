// `hearth chat MODEL`: an interactive conversation in the terminal (or driven by a script through
// stdin). Streams answers; Ctrl-C stops an answer, a second Ctrl-C (or one at the prompt) exits.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "app/cli/engine_flags.h"
#include "inference/engine/engine.h"
#include "ui/store/chat_recorder.h"

namespace {

constexpr const char* kUsage =
    "Usage: hearth chat MODEL [--system TEXT] [--max-tokens N] [options]\n\n"
    "Chat with a model in the terminal. End a line with \\ to continue it, or put a message\n"
    "between lines holding only \"\"\". Ctrl-C stops an answer; a second Ctrl-C, Ctrl-C at the\n"
    "prompt, or end of input (Ctrl-D) exits. Commands:\n"
    "  /system TEXT   set the system prompt      /reset   start over\n"
    "  /regen         answer the last message again\n"
    "  /stats         speed and context use      /help    this list      /exit   leave\n\n"
    "  --system TEXT        system prompt\n"
    "  --max-tokens N       longest answer in tokens (default 1024)\n"
    "  --no-history         do not save this chat in the desktop app's history\n";

std::atomic<bool> gCancel{false};
std::atomic<bool> gGenerating{false};
std::atomic<bool> gQuit{false};

extern "C" void onInterrupt(int) {
    if (gGenerating.load() && !gCancel.load()) {
        gCancel.store(true);  // first Ctrl-C: stop the answer
        return;
    }
    gQuit.store(true);  // at the prompt, or a second Ctrl-C
    if (gGenerating.load()) _exit(130);
}

void installInterruptHandler() {
    struct sigaction sa {};
    sa.sa_handler = onInterrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a read at the prompt returns so we can exit
    sigaction(SIGINT, &sa, nullptr);
}

// Reads one message: continuation lines ending in "\" and """ blocks. False at end of input.
bool readMessage(std::string& out, bool interactive) {
    out.clear();
    std::string line;
    if (interactive) {
        std::fputs(">>> ", stdout);
        std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) return false;
    if (line == "\"\"\"") {
        bool first = true;
        while (std::getline(std::cin, line) && line != "\"\"\"") {
            if (!first) out += '\n';
            out += line;
            first = false;
        }
        return true;
    }
    while (!line.empty() && line.back() == '\\') {
        line.pop_back();
        out += line + '\n';
        if (interactive) std::fputs("... ", stdout), std::fflush(stdout);
        if (!std::getline(std::cin, line)) return true;
    }
    out += line;
    return true;
}

struct ChatState {
    std::string system;
    nlohmann::json turns = nlohmann::json::array();  // user/assistant messages
    hearth::GenerationResult last;
    bool hasLast = false;

    nlohmann::json messages() const {
        nlohmann::json m = nlohmann::json::array();
        if (!system.empty()) m.push_back({{"role", "system"}, {"content", system}});
        for (const auto& t : turns) m.push_back(t);
        return m;
    }
};

void printStats(const ChatState& c) {
    if (!c.hasLast) {
        std::printf("no answer yet\n");
        return;
    }
    const auto& s = c.last.stats;
    std::printf("prompt %d tokens (%d reused) at %.1f tok/s; answer %d tokens at %.1f tok/s; "
                "context %d / %d; finish: %s\n",
                s.promptTokens, s.reusedTokens, s.prefillTokensPerSecond, s.generatedTokens,
                s.decodeTokensPerSecond, s.contextUsed, s.contextSize,
                std::string(hearth::finishReasonName(c.last.finish)).c_str());
}

int runChat(hearth::cli::Args& args) {
    using namespace hearth;
    if (args.help()) {
        std::printf("%s%s%s", kUsage, cli::kEngineFlagsHelp, cli::kSamplerFlagsHelp);
        return 0;
    }
    ChatState chat;
    chat.system = args.option("--system", "", "");
    GenerationRequest base;
    base.maxTokens = static_cast<int>(args.intOption("--max-tokens", "-n").value_or(1024));
    if (base.maxTokens < 1) throw cli::UsageError("hearth chat: --max-tokens must be at least 1");
    base.sampler = cli::samplerFrom(args);
    LoadOptions lo = cli::loadOptionsFrom(args);
    const bool keepHistory = !args.flag("--no-history");
    std::string modelPath = args.positional(0, "MODEL");
    args.finish(1);

    const bool interactive = isatty(STDIN_FILENO) != 0;
    if (interactive) std::fprintf(stderr, "loading %s ...\n", modelPath.c_str());
    auto model = Model::load(modelPath, lo);
    Session session(model, ContextPolicy::DropOldestTurns);
    // Saved in the desktop app's history as well (ui/store/chat_recorder.h); never fatal.
    store::ChatRecorder history(modelPath, model->device().id, keepHistory);
    if (!history.problem().empty())
        std::fprintf(stderr, "note: this chat is not saved to the history: %s\n", history.problem().c_str());
    history.setSystemPrompt(chat.system);
    if (interactive)
        std::fprintf(stderr, "%s on %s, context %d tokens. /help for commands, Ctrl-D to leave.\n",
                     model->spec().name.empty() ? model->spec().architecture.c_str() : model->spec().name.c_str(),
                     model->device().name.c_str(), model->contextSize());
    installInterruptHandler();

    auto answer = [&]() {
        GenerationRequest req = base;
        req.messages = chat.messages();
        gCancel.store(false);
        gGenerating.store(true);
        history.beginAnswer();
        auto r = session.generate(req, [&history](std::string_view piece) {
            std::fwrite(piece.data(), 1, piece.size(), stdout);
            std::fflush(stdout);
            history.answerPiece(piece);
        }, &gCancel);
        gGenerating.store(false);
        history.endAnswer(r.text, std::string(finishReasonName(r.finish)), r.stats.generatedTokens,
                          r.stats.decodeTokensPerSecond, r.error);
        std::printf("\n");
        if (r.finish == FinishReason::Error || (r.finish == FinishReason::ContextFull && r.ids.empty())) {
            std::fprintf(stderr, "error: %s\n", r.error.c_str());
            chat.turns.erase(chat.turns.size() - 1);  // the message that could not be answered
            return false;
        }
        if (r.finish == FinishReason::Stopped) std::fprintf(stderr, "[stopped]\n");
        if (r.stats.droppedTurns > 0)
            std::fprintf(stderr, "[the %d oldest turns no longer fit the context and were left out]\n",
                         r.stats.droppedTurns);
        chat.turns.push_back({{"role", "assistant"}, {"content", r.text}});
        chat.last = r;
        chat.hasLast = true;
        return true;
    };

    std::string input;
    int failures = 0;
    while (!gQuit.load() && readMessage(input, interactive)) {
        if (input.empty()) continue;
        if (input[0] == '/') {
            std::string cmd = input.substr(0, input.find(' '));
            std::string rest = input.size() > cmd.size() ? input.substr(cmd.size() + 1) : "";
            if (cmd == "/exit" || cmd == "/quit" || cmd == "/bye") break;
            if (cmd == "/help") {
                std::printf("%s", kUsage);
            } else if (cmd == "/system") {
                chat.system = rest;
                history.setSystemPrompt(rest);
                std::printf("system prompt %s\n", rest.empty() ? "cleared" : "set");
            } else if (cmd == "/reset") {
                chat.turns = nlohmann::json::array();
                chat.hasLast = false;
                session.reset();
                history.newConversation();
                std::printf("conversation cleared\n");
            } else if (cmd == "/regen") {
                if (chat.turns.empty() || chat.turns.back()["role"] != "assistant") {
                    std::printf("nothing to regenerate\n");
                } else {
                    chat.turns.erase(chat.turns.size() - 1);
                    if (!answer()) ++failures;
                }
            } else if (cmd == "/stats") {
                printStats(chat);
            } else {
                std::printf("unknown command %s (/help lists them)\n", cmd.c_str());
            }
            std::fflush(stdout);
            continue;
        }
        chat.turns.push_back({{"role", "user"}, {"content", input}});
        history.userMessage(input);
        if (!answer()) ++failures;
    }
    if (interactive) std::printf("\n");
    // In scripts, an answer that failed (prompt too long, ...) makes the whole run fail.
    return failures > 0 && !interactive ? 1 : 0;
}

}  // namespace

HEARTH_COMMAND(chat, "Chat with a model in the terminal", runChat);
