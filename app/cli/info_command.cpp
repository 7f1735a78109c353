// `hearth info MODEL [--json]`: what a .gguf file or a Hugging Face model folder holds.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "models/formats/model_info.h"

namespace {

constexpr const char* kUsage =
    "Usage: hearth info MODEL [--json]\n\n"
    "Describe a model: a .gguf file or a Hugging Face model folder (config.json + safetensors).\n\n"
    "  --json   print one JSON object (architecture, parameters, tensor_count, quantization,\n"
    "           context_length, vocab_size, has_chat_template, file_size, types)\n";

std::string typeList(const hearth::ModelInfo& info) {
    std::string out;
    for (const auto& [type, count] : info.typeCounts) {
        if (!out.empty()) out += ", ";
        out += type + " ×" + std::to_string(count);
    }
    return out.empty() ? "none" : out;
}

void printHuman(const hearth::ModelInfo& info) {
    auto row = [](const char* label, const std::string& value) { std::printf("  %-16s %s\n", label, value.c_str()); };
    std::printf("%s\n", info.path.string().c_str());
    row("format", info.format == hearth::ModelInfo::Format::Gguf ? "GGUF" : "safetensors (Hugging Face folder)");
    row("architecture", info.architecture + (info.supported ? "" : " (not supported by Hearth)"));
    if (!info.name.empty()) row("name", info.name);
    row("parameters", hearth::formatParameterCount(info.parameters));
    row("quantization", info.dominantType.empty() ? "none" : info.dominantType);
    row("tensor types", typeList(info));
    row("tensors", std::to_string(info.tensorCount));
    row("file size", hearth::formatFileSize(info.fileSize) +
                         (info.splitCount > 1 ? " in " + std::to_string(info.splitCount) + " files" : ""));
    row("context length", info.contextLength ? std::to_string(info.contextLength) : "unknown");
    row("vocab size", info.vocabSize ? std::to_string(info.vocabSize) : "unknown");
    row("chat template", info.hasChatTemplate ? "yes" : "no");
}

void printJson(const hearth::ModelInfo& info) {
    nlohmann::json j;
    j["path"] = info.path.string();
    j["format"] = info.format == hearth::ModelInfo::Format::Gguf ? "gguf" : "safetensors";
    j["architecture"] = info.architecture;
    j["name"] = info.name;
    j["supported"] = info.supported;
    j["parameters"] = info.parameters;
    j["tensor_count"] = info.tensorCount;
    j["quantization"] = info.dominantType;
    j["types"] = info.typeCounts;
    j["file_size"] = info.fileSize;
    j["split_count"] = info.splitCount;
    j["context_length"] = info.contextLength;
    j["vocab_size"] = info.vocabSize;
    j["has_chat_template"] = info.hasChatTemplate;
    // Replace rather than throw on names that are not UTF-8: the output must always be printable.
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

int runInfo(hearth::cli::Args& args) {
    if (args.help()) {
        std::printf("%s", kUsage);
        return 0;
    }
    bool json = args.flag("--json");
    std::string model = args.positional(0, "MODEL");
    args.finish(1);
    hearth::ModelInfo info;
    try {
        info = hearth::describeModel(model);
    } catch (const hearth::FormatError& e) {
        std::fprintf(stderr, "hearth info: %s\n", e.what());
        return 1;
    }
    if (json) printJson(info);
    else printHuman(info);
    return 0;
}

}  // namespace

HEARTH_COMMAND(info, "Describe a GGUF file or a Hugging Face model folder", runInfo);
