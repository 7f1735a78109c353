#include "inference/template/chat_template.h"

#include <chrono>

#include "inference/template/interpreter.h"
#include "inference/template/parser.h"

namespace hearth {

namespace {

// ChatML; a content given as a list of parts contributes its text parts.
constexpr const char* kChatml =
    "{%- for message in messages -%}\n"
    "    {{- '<|im_start|>' + message['role'] + '\\n' -}}\n"
    "    {%- if message['content'] is string -%}\n"
    "        {{- message['content'] -}}\n"
    "    {%- elif message['content'] is iterable -%}\n"
    "        {%- for part in message['content'] if part['type'] == 'text' -%}{{- part['text'] -}}{%- endfor -%}\n"
    "    {%- endif -%}\n"
    "    {{- '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}\n";

std::tm localNow() {
    std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm out{};
    localtime_r(&t, &out);
    return out;
}

}  // namespace

ChatTemplate ChatTemplate::fromSource(std::string source, TemplateLimits limits) {
    ChatTemplate t;
    t.program_ = tmpl::parse(source);
    t.source_ = std::move(source);
    t.limits_ = limits;
    return t;
}

ChatTemplate ChatTemplate::chatmlDefault() { return fromSource(kChatml); }

template <typename Json>
std::string ChatTemplate::renderImpl(const Json& messages, bool addGenerationPrompt, const Json& extra) const {
    auto globals = std::make_shared<tmpl::Frame>();
    tmpl::Interpreter::installGlobals(*globals);
    globals->set("tools", tmpl::Value::none());
    globals->set("documents", tmpl::Value::none());
    if (extra.is_object())
        for (auto it = extra.begin(); it != extra.end(); ++it) globals->set(it.key(), tmpl::fromJson(it.value()));
    globals->set("messages", tmpl::fromJson(messages));
    globals->set("add_generation_prompt", tmpl::Value(addGenerationPrompt));
    tmpl::Interpreter in(limits_.maxOutputBytes, limits_.maxLoopIterations, limits_.maxRecursion,
                         fixedTime_ ? *fixedTime_ : localNow());
    return in.run(*program_, std::move(globals));
}

std::string ChatTemplate::render(const nlohmann::json& messages, bool addGenerationPrompt,
                                 const nlohmann::json& extraContext) const {
    return renderImpl(messages, addGenerationPrompt, extraContext);
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool addGenerationPrompt,
                                 const nlohmann::ordered_json& extraContext) const {
    return renderImpl(messages, addGenerationPrompt, extraContext);
}

}  // namespace hearth
