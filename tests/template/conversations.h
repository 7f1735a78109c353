// Message sets for the chat-template tests: every template is rendered with each set that fits
// what it supports (system role, tools, reasoning), with and without the generation prompt.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::test {

using ojson = nlohmann::ordered_json;

struct Conversation {
    std::string label;
    ojson messages;
    ojson extra = ojson::object();  // tools, enable_thinking, ... merged into the context
};

enum class ToolStyle {
    None,          // the template has no tool support
    OpenAi,        // tool_calls[].function.arguments is an object
    StringArgs,    // arguments is a JSON string, assistant content is null (DeepSeek)
    MistralIds,    // OpenAI style with 9-character call ids
};

struct TemplateTraits {
    bool system = true;        // accepts a system message first
    ToolStyle tools = ToolStyle::None;
    bool reasoning = false;    // strips <think>...</think> from assistant turns
    bool contentParts = false; // accepts content as a list of {"type": "text"} parts
};

std::vector<Conversation> conversationsFor(const TemplateTraits& traits);

}  // namespace hearth::test
