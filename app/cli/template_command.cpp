// `hearth template --model M --messages MESSAGES.json`: the prompt a model's chat template makes
// of a conversation, byte-exact on stdout (no newline added).
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "inference/template/chat_template.h"

namespace {

constexpr const char* kUsage =
    "Usage: hearth template --model M --messages MESSAGES.json [options]\n\n"
    "Render a conversation with the model's chat template, as Hugging Face transformers would.\n"
    "M is a .gguf file, a Hugging Face model folder, or a folder with tokenizer_config.json.\n"
    "MESSAGES.json is {\"messages\": [{\"role\": ..., \"content\": ...}, ...]} with optional \"tools\"\n"
    "(and any other key, passed to the template as a variable, e.g. \"enable_thinking\": false).\n\n"
    "  --no-generation-prompt   do not open an assistant turn at the end\n"
    "  --template FILE          use this Jinja template instead of the model's\n"
    "  --strict                 fail when the model has no template (default: use ChatML)\n"
    "  --date YYYY-MM-DD        the date strftime_now() sees (default: today)\n";

std::string readText(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(std::string(what) + " " + path + ": cannot open the file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::tm parseDate(const std::string& text) {
    std::tm t{};
    int y = 0, m = 0, d = 0;
    char tail = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        throw hearth::cli::UsageError("hearth template: --date needs YYYY-MM-DD, got '" + text + "'");
    t.tm_year = y - 1900;
    t.tm_mon = m - 1;
    t.tm_mday = d;
    t.tm_hour = 12;
    std::time_t normalized = timegm(&t);  // fills in the weekday and day of the year
    gmtime_r(&normalized, &t);
    return t;
}

int runTemplate(hearth::cli::Args& args) {
    if (args.help()) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    std::optional<std::string> model = args.option("--model", "-m");
    std::optional<std::string> messagesPath = args.option("--messages");
    std::optional<std::string> templatePath = args.option("--template");
    std::optional<std::string> date = args.option("--date");
    bool noGenerationPrompt = args.flag("--no-generation-prompt");
    bool strict = args.flag("--strict");
    args.finish(0);
    if (!messagesPath) throw hearth::cli::UsageError("hearth template: --messages MESSAGES.json is required\n\n" + std::string(kUsage));
    if (!model && !templatePath)
        throw hearth::cli::UsageError("hearth template: --model M (or --template FILE) is required\n\n" + std::string(kUsage));

    nlohmann::ordered_json doc;
    try {
        doc = nlohmann::ordered_json::parse(readText(*messagesPath, "messages file"));
    } catch (const nlohmann::json::exception& e) {
        std::fprintf(stderr, "hearth template: %s is not valid JSON: %s\n", messagesPath->c_str(), e.what());
        return 1;
    }
    if (!doc.is_object() || !doc.contains("messages") || !doc["messages"].is_array()) {
        std::fprintf(stderr, "hearth template: %s must be an object with a \"messages\" array\n", messagesPath->c_str());
        return 1;
    }

    hearth::ModelChatTemplate m;
    if (model) m = hearth::loadChatTemplate(*model);
    if (templatePath) m.source = readText(*templatePath, "template");
    if (!m.source && strict) {
        std::fprintf(stderr, "hearth template: %s has no chat template (--strict)\n", model->c_str());
        return 1;
    }
    if (!m.source)
        std::fprintf(stderr, "hearth template: %s has no chat template; using the ChatML default\n", model->c_str());

    const std::string origin = templatePath ? *templatePath : model ? *model : std::string("template");
    std::optional<hearth::ChatTemplate> t;
    try {
        t = m.source ? hearth::ChatTemplate::fromSource(*m.source) : hearth::ChatTemplate::chatmlDefault();
    } catch (const hearth::TemplateError& e) {
        std::fprintf(stderr, "hearth template: %s: %s\n", origin.c_str(), e.what());
        return 1;
    }
    if (date) t->setFixedTime(parseDate(*date));

    nlohmann::ordered_json extra = nlohmann::ordered_json::object();
    extra["bos_token"] = m.bosToken;
    extra["eos_token"] = m.eosToken;
    for (auto it = doc.begin(); it != doc.end(); ++it)
        if (it.key() != "messages" && it.key() != "add_generation_prompt") extra[it.key()] = it.value();

    std::string prompt;
    try {
        prompt = t->render(doc["messages"], !noGenerationPrompt, extra);
    } catch (const hearth::TemplateError& e) {
        std::fprintf(stderr, "hearth template: %s: %s\n", origin.c_str(), e.what());
        return 1;
    }
    std::cout.write(prompt.data(), std::streamsize(prompt.size()));
    std::cout.flush();
    return 0;
}

}  // namespace

HEARTH_COMMAND(template, "Render a conversation with a model's chat template", runTemplate);
