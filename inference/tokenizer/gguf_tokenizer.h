// The tokenizer in GGUF terms: which tokenizer.ggml.pre names we know (and the split regexes
// each stands for), and the tokenizer.ggml.* metadata for a tokenizer.json, for the converter
// and for tests that build GGUF files.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "models/formats/gguf.h"

namespace hearth {

class Tokenizer;

struct GgufPreTokenizer {
    std::string name;                 // tokenizer.ggml.pre
    std::vector<std::string> splits;  // Split regexes (Isolated), applied in order
    bool gpt2Regex = false;           // ByteLevel's own regex instead
    bool nfc = false;
    bool ignoreMerges = false;
};

// nullptr for an unknown name.
const GgufPreTokenizer* findGgufPreTokenizer(const std::string& name);
std::vector<std::string> knownGgufPreTokenizers();

// tokenizer.ggml.* keys and values describing tokenizer.json (+ tokenizer_config.json).
// Throws TokenizerError when the pre-tokenizer matches none of the known names.
std::vector<std::pair<std::string, gguf::Value>> ggufMetadataFromHfTokenizer(
    const std::filesystem::path& tokenizerJson, const std::filesystem::path& tokenizerConfigJson);
// The same, for a tokenizer already loaded from that tokenizer.json.
std::vector<std::pair<std::string, gguf::Value>> ggufMetadataFromHfTokenizer(const Tokenizer& tok,
                                                                             const std::filesystem::path& tokenizerJson);

}  // namespace hearth
