#include "models/formats/model_info.h"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/formats/byte_cursor.h"
#include "models/formats/gguf.h"
#include "models/formats/model_spec.h"
#include "models/formats/safetensors.h"

namespace hearth {

namespace {

std::string dominant(const std::map<std::string, uint64_t>& bytesByType) {
    std::string best;
    uint64_t most = 0;
    for (const auto& [type, bytes] : bytesByType) {
        if (best.empty() || bytes > most) {
            best = type;
            most = bytes;
        }
    }
    return best;
}

void addGgufTensors(ModelInfo& info, std::map<std::string, uint64_t>& bytesByType, const gguf::GgufFile& f) {
    info.tensorCount += f.tensors().size();
    for (const auto& t : f.tensors()) {
        std::string type(dtypeName(t.type));
        info.parameters += t.elements();
        ++info.typeCounts[type];
        bytesByType[type] += t.bytes;
    }
}

// The other files of a split GGUF, named as llama.cpp's gguf-split names them.
void addGgufShards(ModelInfo& info, std::map<std::string, uint64_t>& bytesByType, const gguf::GgufFile& first,
                   uint64_t count) {
    const std::string file = first.path().string();
    if (count > 9999) throw FormatError(file + ": split.count: " + std::to_string(count) + " shards is implausible");
    static const std::regex pattern(R"((.*)-(\d{5})-of-(\d{5})\.gguf)");
    std::smatch m;
    std::string name = first.path().filename().string();
    if (!std::regex_match(name, m, pattern) || std::stoull(m[3].str()) != count)
        throw FormatError(file + ": split.count says " + std::to_string(count) +
                          " files, but the name is not <name>-00001-of-" + std::to_string(count) + ".gguf");
    const uint64_t self = std::stoull(m[2].str());
    for (uint64_t i = 1; i <= count; ++i) {
        if (i == self) continue;
        char suffix[32];
        std::snprintf(suffix, sizeof suffix, "-%05llu-of-%05llu.gguf", static_cast<unsigned long long>(i),
                      static_cast<unsigned long long>(count));
        auto shardPath = first.path().parent_path() / (m[1].str() + suffix);
        std::error_code ec;
        if (!std::filesystem::exists(shardPath, ec))
            throw FormatError(shardPath.string() + ": missing (the model is split into " + std::to_string(count) +
                              " files; download all of them)");
        gguf::GgufFile shard = gguf::GgufFile::open(shardPath);
        info.fileSize += shard.fileSize();
        addGgufTensors(info, bytesByType, shard);
    }
    info.splitCount = static_cast<uint32_t>(count);
}

ModelInfo describeGguf(const std::filesystem::path& path) {
    gguf::GgufFile f = gguf::GgufFile::open(path);
    ModelInfo info;
    info.format = ModelInfo::Format::Gguf;
    info.path = path;
    info.fileSize = f.fileSize();
    info.architecture = f.getString("general.architecture").value_or("unknown");
    info.name = f.getString("general.name").value_or("");
    std::map<std::string, uint64_t> bytesByType;
    addGgufTensors(info, bytesByType, f);
    if (auto count = f.getUInt("split.count"); count && *count > 1) addGgufShards(info, bytesByType, f, *count);
    info.dominantType = dominant(bytesByType);
    info.contextLength = f.getUInt(info.architecture + ".context_length").value_or(0);
    if (const gguf::Array* tokens = f.getArray("tokenizer.ggml.tokens")) info.vocabSize = tokens->items.size();
    else info.vocabSize = f.getUInt(info.architecture + ".vocab_size").value_or(0);
    info.hasChatTemplate = f.getString("tokenizer.chat_template").has_value();
    // A model file of a supported architecture must also describe a model we could build.
    if (info.architecture == "llama" || info.architecture == "qwen2" || info.architecture == "qwen3") {
        ModelSpec spec = specFromGguf(f);
        info.supported = true;
        if (info.contextLength == 0) info.contextLength = spec.contextLength;
        if (info.vocabSize == 0) info.vocabSize = spec.vocabSize;
    }
    return info;
}

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

void addSafetensorsTensor(ModelInfo& info, std::map<std::string, uint64_t>& bytesByType,
                          const safetensors::TensorView& t, bool countParameters) {
    std::string type = lowercase(safetensors::dtypeName(t.dtype));
    if (countParameters) info.parameters += t.elements();
    ++info.typeCounts[type];
    bytesByType[type] += t.bytes;
}

// A lone .safetensors file: tensors only, no config to say what model it is.
ModelInfo describeSafetensorsFile(const std::filesystem::path& path) {
    auto f = safetensors::SafetensorsFile::open(path);
    ModelInfo info;
    info.format = ModelInfo::Format::Safetensors;
    info.path = path;
    info.architecture = "unknown";
    std::error_code ec;
    info.fileSize = std::filesystem::file_size(path, ec);
    std::map<std::string, uint64_t> bytesByType;
    for (const auto& t : f.tensors()) addSafetensorsTensor(info, bytesByType, t, true);
    info.tensorCount = f.tensors().size();
    info.dominantType = dominant(bytesByType);
    return info;
}

bool hasChatTemplateFiles(const std::filesystem::path& folder) {
    std::error_code ec;
    if (std::filesystem::exists(folder / "chat_template.jinja", ec) ||
        std::filesystem::exists(folder / "chat_template.json", ec))
        return true;
    auto cfg = folder / "tokenizer_config.json";
    if (!std::filesystem::exists(cfg, ec)) return false;
    std::ifstream in(cfg, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    try {
        auto j = nlohmann::json::parse(ss.str());
        return j.is_object() && j.contains("chat_template") && !j["chat_template"].is_null();
    } catch (const nlohmann::json::exception& e) {
        throw FormatError(cfg.string() + ": not valid JSON (" + e.what() + ")");
    }
}

ModelInfo describeFolder(const std::filesystem::path& folder) {
    std::error_code ec;
    if (!std::filesystem::exists(folder / "config.json", ec))
        throw FormatError(folder.string() + ": no config.json (expected a .gguf file or a Hugging Face model folder)");
    ModelSpec spec = specFromHfConfig(folder / "config.json");
    auto ck = safetensors::SafetensorsCheckpoint::open(folder);
    ModelInfo info;
    info.format = ModelInfo::Format::Safetensors;
    info.path = folder;
    info.architecture = spec.architecture;
    info.name = spec.name;
    info.supported = true;
    info.contextLength = spec.contextLength;
    info.vocabSize = spec.vocabSize;
    info.hasChatTemplate = hasChatTemplateFiles(folder);
    std::map<std::string, uint64_t> bytesByType;
    for (const auto& name : ck.tensorNames()) {
        // transformers counts a tied output projection once, even when the checkpoint stores it.
        addSafetensorsTensor(info, bytesByType, *ck.tensor(name), !(spec.tiedEmbeddings && name == "lm_head.weight"));
    }
    info.tensorCount = ck.tensorNames().size();
    info.dominantType = dominant(bytesByType);
    for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
        if (entry.path().extension() == ".safetensors" && entry.is_regular_file(ec)) info.fileSize += entry.file_size(ec);
    }
    return info;
}

}  // namespace

ModelInfo describeModel(const std::filesystem::path& path) {
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status))
        throw FormatError(path.string() + ": no such file or folder");
    if (std::filesystem::is_directory(status)) return describeFolder(path);
    if (path.extension() == ".safetensors") return describeSafetensorsFile(path);
    if (path.filename() == "config.json") return describeFolder(path.parent_path().empty() ? "." : path.parent_path());
    return describeGguf(path);
}

std::string formatParameterCount(uint64_t n) {
    char buf[32];
    auto x = static_cast<double>(n);
    if (n >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.2f B", x / 1e9);
    else if (n >= 1000000ull) std::snprintf(buf, sizeof buf, "%.1f M", x / 1e6);
    else if (n >= 1000ull) std::snprintf(buf, sizeof buf, "%.1f K", x / 1e3);
    else std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
    return buf;
}

std::string formatFileSize(uint64_t bytes) { return formats_detail::humanBytes(bytes); }

}  // namespace hearth
