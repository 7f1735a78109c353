// The tokenizer of a Hugging Face folder as GGUF metadata (tokenizer.ggml.*), the way the GGUF
// ecosystem's converter writes it, so GGUF readers tokenize exactly as the HF tokenizer does:
//   byte-level BPE (tokenizer.json "BPE" without byte_fallback) -> model "gpt2" + merges + pre
//   SentencePiece-style BPE (byte_fallback)                    -> model "llama" + scores
// plus token types, special-token ids, add_bos/add_eos and the chat template.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "models/formats/gguf.h"

namespace hearth::convert {

using Metadata = std::vector<std::pair<std::string, gguf::Value>>;

// Reads tokenizer.json (required), tokenizer_config.json, config.json, generation_config.json and
// chat_template.jinja from `folder`. `vocabSize` is the model's embedding rows (config vocab_size);
// ids without a token are padded as "[PAD<id>]" of type unused. Throws FormatError naming the file.
Metadata tokenizerMetadata(const std::filesystem::path& folder, uint32_t vocabSize);

// The tokenizer.ggml.pre name for a tokenizer.json pre-tokenizer: "llama-bpe", "qwen2",
// "deepseek-v3", "gpt-4o", "gpt2" or "default" (exposed for tests).
std::string detectPreTokenizer(const std::string& tokenizerJsonText);

}  // namespace hearth::convert
