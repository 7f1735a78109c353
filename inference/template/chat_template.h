// Chat templates: the Jinja2 programs models ship to turn a conversation into a prompt, run by our
// own interpreter so that the prompt is byte-for-byte what Hugging Face transformers renders
// (trim_blocks and lstrip_blocks on, raise_exception, strftime_now, tojson keeping non-ASCII).
//
//   ModelChatTemplate m = loadChatTemplate("Qwen3-0.6B/");   // or a .gguf file
//   ChatTemplate t = m.source ? ChatTemplate::fromSource(*m.source) : ChatTemplate::chatmlDefault();
//   nlohmann::json extra = {{"bos_token", m.bosToken}, {"eos_token", m.eosToken}};
//   std::string prompt = t.render(messages, /*addGenerationPrompt=*/true, extra);
//
// Templates run sandboxed: loops, macro recursion and output size are bounded (TemplateLimits),
// and every failure is a TemplateError naming the line and column.
#pragma once

#include <cstddef>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "inference/template/template_error.h"

namespace hearth {

namespace tmpl {
struct Program;
}

struct TemplateLimits {
    size_t maxOutputBytes = 4 << 20;
    size_t maxLoopIterations = 1'000'000;
    int maxRecursion = 64;
};

class ChatTemplate {
public:
    // Parses once; throws TemplateError("line L, column C: ...") on unsupported syntax.
    static ChatTemplate fromSource(std::string source, TemplateLimits limits = {});
    // ChatML (<|im_start|>role\ncontent<|im_end|>\n), used when a model ships no template.
    static ChatTemplate chatmlDefault();

    // messages: JSON array of {"role","content",...} exactly as HF passes them (content may be a
    // string or a list of parts; tool_calls etc. passed through). extra: bos_token, eos_token,
    // tools, enable_thinking, date_string, ... merged into the context. `tools` and `documents`
    // default to none, as transformers passes them.
    std::string render(const nlohmann::json& messages, bool addGenerationPrompt,
                       const nlohmann::json& extraContext = nlohmann::json::object()) const;
    // The same, keeping the key order of the caller's JSON objects (it shows in `tojson`).
    std::string render(const nlohmann::ordered_json& messages, bool addGenerationPrompt,
                       const nlohmann::ordered_json& extraContext) const;

    // strftime_now() reads this time instead of the local clock (tests, reproducible prompts).
    void setFixedTime(const std::tm& localTime) { fixedTime_ = localTime; }
    const std::string& source() const { return source_; }

private:
    ChatTemplate() = default;
    template <typename Json>
    std::string renderImpl(const Json& messages, bool addGenerationPrompt, const Json& extra) const;

    std::string source_;
    std::shared_ptr<const tmpl::Program> program_;
    TemplateLimits limits_;
    std::optional<std::tm> fixedTime_;
};

// Reads the template of M (.gguf: tokenizer.chat_template; HF folder or tokenizer-only folder:
// chat_template.jinja, chat_template.json, or tokenizer_config.json "chat_template" (a string, or
// a list of {name, template} of which "default" is used)) plus the bos/eos token strings.
// Throws std::runtime_error (FormatError for a bad .gguf) when M cannot be read.
struct ModelChatTemplate {
    std::optional<std::string> source;
    std::string bosToken, eosToken;
};
ModelChatTemplate loadChatTemplate(const std::filesystem::path& model);

}  // namespace hearth
