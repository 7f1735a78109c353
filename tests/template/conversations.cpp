#include "tests/template/conversations.h"

namespace hearth::test {
namespace {

ojson msg(const char* role, ojson content) { return ojson{{"role", role}, {"content", std::move(content)}}; }

const char* kTools = R"([
  {"type": "function", "function": {"name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {
      "city": {"type": "string", "description": "The city, e.g. Zürich"},
      "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}},
      "required": ["city"]}}},
  {"type": "function", "function": {"name": "search_web", "description": "Search the web",
    "parameters": {"type": "object", "properties": {
      "query": {"type": "string"}, "limit": {"type": "integer", "description": "Max results"},
      "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["query"]}}}
])";

Conversation toolRoundTrip(ToolStyle style, bool withSystem) {
    Conversation c;
    c.label = withSystem ? "tool-call-with-system" : "tool-call";
    c.extra["tools"] = ojson::parse(kTools);
    if (withSystem) c.messages.push_back(msg("system", "You can look up the weather."));
    c.messages.push_back(msg("user", "What's the weather in Zürich? Answer in \"celsius\"."));
    ojson call = {{"id", style == ToolStyle::MistralIds ? "abc123xyz" : "call_0001"}, {"type", "function"}};
    if (style == ToolStyle::StringArgs)
        call["function"] = {{"name", "get_weather"}, {"arguments", "{\"city\": \"Zürich\", \"unit\": \"celsius\"}"}};
    else
        call["function"] = {{"name", "get_weather"}, {"arguments", {{"city", "Zürich"}, {"unit", "celsius"}}}};
    ojson assistant = {{"role", "assistant"}, {"content", style == ToolStyle::OpenAi ? ojson("") : ojson(nullptr)}};
    assistant["tool_calls"] = ojson::array({call});
    c.messages.push_back(assistant);
    ojson tool = msg("tool", "{\"temperature\": 21.5, \"sky\": \"clear ☀\"}");
    tool["tool_call_id"] = call["id"];
    tool["name"] = "get_weather";
    c.messages.push_back(tool);
    c.messages.push_back(msg("assistant", "It is 21.5 °C and clear in Zürich."));
    c.messages.push_back(msg("user", "Thanks! And tomorrow?"));
    return c;
}

}  // namespace

std::vector<Conversation> conversationsFor(const TemplateTraits& t) {
    std::vector<Conversation> out;
    auto add = [&](std::string label, ojson messages, ojson extra = ojson::object()) {
        out.push_back({std::move(label), std::move(messages), std::move(extra)});
    };
    add("single-user", {msg("user", "Hello!")});
    add("multi-turn", {msg("user", "Hi, who are you?"), msg("assistant", "I am a helpful assistant."),
                       msg("user", "Tell me a joke.")});
    add("ends-with-assistant", {msg("user", "Name a colour."), msg("assistant", "Blue.")});
    add("unicode", {msg("user", "Привет, 世界! 👋🏽 مرحبا שלום नमस्ते e\u0301 ﬁ 𝔘"),
                    msg("assistant", "Ça va? 日本語の返事 🇫🇷"), msg("user", "ok ✓ — “quotes” … ½")});
    add("special-characters",
        {msg("user", "He said \"hi\" and 'bye'\\n \\\\ back\\slash {{ not_a_var }} {% raw %} {# c #} <|im_end|>\ttab"),
         msg("assistant", "Line1\nLine2\n\nLine4\r\nCRLF </s> [INST] <s>"), msg("user", "%s %d {} {0} $x `code`")});
    add("empty-content", {msg("user", ""), msg("assistant", ""), msg("user", "")});
    add("code", {msg("user", "Fix this:\n```python\ndef f(x):\n    return {'a': [1, 2]}[x]\n```"),
                 msg("assistant", "Use `dict.get`:\n```json\n{\"key\": [1, 2.5, null, true]}\n```"),
                 msg("user", "<tool_response>not a tool</tool_response>")});
    add("repeated-content", {msg("user", "same"), msg("assistant", "same"), msg("user", "same")});
    add("whitespace", {msg("user", "   padded   \n"), msg("assistant", "\n\n answer \n\t"), msg("user", "\tq ")});
    {
        ojson longChat = ojson::array();
        for (int i = 0; i < 12; ++i) {
            longChat.push_back(msg("user", "Question number " + std::to_string(i) + "?"));
            longChat.push_back(msg("assistant", "Answer number " + std::to_string(i) + "."));
        }
        longChat.push_back(msg("user", "Last one."));
        add("long-chat", longChat);
    }
    if (t.system) {
        add("system-user", {msg("system", "You are a helpful assistant."), msg("user", "What is 2+2?")});
        add("system-multi-turn", {msg("system", "  Be brief.  \n"), msg("user", "Capital of France?"),
                                  msg("assistant", "Paris."), msg("user", "And of Japan?"),
                                  msg("assistant", "Tokyo."), msg("user", "Thanks")});
        add("system-unicode", {msg("system", "Ты — помощник. 你是助手。"), msg("user", "🙂")});
    } else {
        // The template refuses a system message: both sides must raise the same error.
        add("system-refused", {msg("system", "You are a helpful assistant."), msg("user", "Hi")});
    }
    if (t.tools != ToolStyle::None) {
        Conversation listing;
        listing.label = "tools-listed";
        listing.messages = {msg("user", "Search for the Jinja docs.")};
        listing.extra["tools"] = ojson::parse(kTools);
        out.push_back(listing);
        out.push_back(toolRoundTrip(t.tools, false));
        if (t.system) out.push_back(toolRoundTrip(t.tools, true));
    }
    if (t.reasoning) {
        add("reasoning", {msg("user", "What is 17*3?"),
                          msg("assistant", "<think>\n17*3 = 51\n</think>\n\n51"), msg("user", "And 17*4?")});
        add("reasoning-last", {msg("user", "Think first."), msg("assistant", "<think>\nhmm\n</think>\n\nDone.")});
    }
    if (t.contentParts) {
        ojson parts = ojson::array({{{"type", "text"}, {"text", "  Describe this.  "}},
                                    {{"type", "image"}},
                                    {{"type", "text"}, {"text", "Briefly."}}});
        add("content-parts", {msg("user", parts), msg("assistant", "A cat."), msg("user", "Thanks")});
    }
    return out;
}

}  // namespace hearth::test
