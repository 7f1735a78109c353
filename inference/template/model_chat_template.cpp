// loadChatTemplate(): where a model keeps its chat template and its bos/eos strings.
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "inference/template/chat_template.h"
#include "models/formats/gguf.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;

std::string readFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path.string() + ": cannot open the file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

nlohmann::json readJson(const fs::path& path) {
    try {
        return nlohmann::json::parse(readFile(path));
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(path.string() + ": not valid JSON (" + e.what() + ")");
    }
}

// A special token in tokenizer_config.json is a string or an AddedToken {"content": ...}.
std::string tokenString(const nlohmann::json& config, const char* key) {
    auto it = config.find(key);
    if (it == config.end()) return {};
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
        return (*it)["content"].get<std::string>();
    return {};
}

// "chat_template" is a string or a list of {"name", "template"}; the one named "default" is used.
std::optional<std::string> templateField(const nlohmann::json& value, const fs::path& file) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_array()) {
        for (const auto& entry : value)
            if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
                entry["template"].is_string())
                return entry["template"].get<std::string>();
        throw std::runtime_error(file.string() + ": chat_template lists named templates but none is called 'default'");
    }
    if (value.is_null()) return std::nullopt;
    throw std::runtime_error(file.string() + ": chat_template must be a string or a list of named templates");
}

ModelChatTemplate fromGguf(const fs::path& path) {
    gguf::GgufFile file = gguf::GgufFile::open(path);
    ModelChatTemplate out;
    out.source = file.getString("tokenizer.chat_template");
    const gguf::Array* tokens = file.getArray("tokenizer.ggml.tokens");
    auto token = [&](const char* key) -> std::string {
        std::optional<uint64_t> id = file.getUInt(key);
        if (!id || !tokens || *id >= tokens->items.size()) return {};
        const std::string* s = tokens->items[*id].asString();
        return s ? *s : std::string();
    };
    out.bosToken = token("tokenizer.ggml.bos_token_id");
    out.eosToken = token("tokenizer.ggml.eos_token_id");
    return out;
}

ModelChatTemplate fromFolder(const fs::path& dir) {
    ModelChatTemplate out;
    fs::path config = dir / "tokenizer_config.json";
    bool haveConfig = fs::exists(config);
    nlohmann::json cfg = haveConfig ? readJson(config) : nlohmann::json::object();
    out.bosToken = tokenString(cfg, "bos_token");
    out.eosToken = tokenString(cfg, "eos_token");
    // transformers lets a standalone chat_template.jinja / chat_template.json override the config.
    if (fs::exists(dir / "chat_template.jinja")) {
        out.source = readFile(dir / "chat_template.jinja");
    } else if (fs::exists(dir / "chat_template.json")) {
        nlohmann::json j = readJson(dir / "chat_template.json");
        if (j.contains("chat_template")) out.source = templateField(j["chat_template"], dir / "chat_template.json");
    } else if (cfg.contains("chat_template")) {
        out.source = templateField(cfg["chat_template"], config);
    }
    if (!haveConfig && !out.source && !fs::exists(dir / "tokenizer.json") && !fs::exists(dir / "config.json"))
        throw std::runtime_error(dir.string() + ": not a model folder (no tokenizer_config.json, tokenizer.json, "
                                                "config.json or chat_template.jinja)");
    return out;
}

}  // namespace

ModelChatTemplate loadChatTemplate(const fs::path& model) {
    std::error_code ec;
    if (!fs::exists(model, ec)) throw std::runtime_error(model.string() + ": no such file or folder");
    if (fs::is_directory(model, ec)) return fromFolder(model);
    std::string name = model.filename().string();
    if (name == "tokenizer_config.json" || name == "tokenizer.json" || name == "config.json" ||
        name == "chat_template.jinja" || name == "chat_template.json")
        return fromFolder(model.parent_path().empty() ? fs::path(".") : model.parent_path());
    return fromGguf(model);
}

}  // namespace hearth
