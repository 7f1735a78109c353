// A summary of a model on disk, for `hearth info` and the model manager: what it is, how big,
// how it is quantized. Works on a .gguf file or a Hugging Face folder (config.json + safetensors).
//
//   ModelInfo info = describeModel("Llama-3.2-1B-Q4_K_M.gguf");
//   std::cout << info.architecture << " " << formatParameterCount(info.parameters);
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "models/formats/format_error.h"

namespace hearth {

struct ModelInfo {
    enum class Format { Gguf, Safetensors };
    Format format = Format::Gguf;
    std::filesystem::path path;
    std::string architecture;          // GGUF general.architecture, or the ModelSpec's
    std::string name;
    uint64_t parameters = 0;           // sum of the tensors' element counts
    uint64_t tensorCount = 0;
    uint64_t fileSize = 0;             // bytes on disk (all shards of a folder)
    std::map<std::string, uint64_t> typeCounts;  // "q4_k" -> tensors of that type
    std::string dominantType;          // the type holding the most bytes
    uint64_t contextLength = 0;        // 0 when the file does not say
    uint64_t vocabSize = 0;
    bool hasChatTemplate = false;
    bool supported = false;            // an architecture Hearth can run
    uint32_t splitCount = 1;           // GGUF split into several files (llama.cpp's gguf-split)
};

// A split GGUF ("name-00001-of-00003.gguf", key split.count) is described as a whole: every shard
// is opened and validated, and a missing shard is an error.
// Throws FormatError naming the file and the problem for anything unreadable or inconsistent.
ModelInfo describeModel(const std::filesystem::path& path);

// "1.24 B", "135.1 M", "12.3 K", "999".
std::string formatParameterCount(uint64_t n);
// "807.7 MB".
std::string formatFileSize(uint64_t bytes);

}  // namespace hearth
