// Text <-> token ids, exactly as Hugging Face's tokenizers compute them.
//
// A Tokenizer is built from a model's tokenizer.json (+ tokenizer_config.json) or from the
// tokenizer.ggml.* metadata of a GGUF file, and supports byte-level BPE (GPT-2, llama-3, qwen2/3,
// deepseek-v3, gpt-oss) and SentencePiece-style BPE with byte fallback (llama-2, mistral, gemma).
// Copies share the (immutable) vocabulary; encode/decode may run on several threads at once.
//
//   Tokenizer tok = Tokenizer::fromModelPath("models/Qwen3-0.6B");
//   std::vector<int32_t> ids = tok.encode("Hello world");      // == HF tokenizer.encode(text)
//   std::string text = tok.decode(ids);
//
//   StreamingDecoder out(tok);                  // for the chat view, one id at a time
//   for (int32_t id : generated) show(out.push(id));
//   show(out.flush());
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "inference/tokenizer/tokenizer_error.h"

namespace hearth {

namespace gguf {
class GgufFile;
}

struct TokenizerData;

class Tokenizer {
public:
    // tokenizer.ggml.* metadata; an unknown tokenizer.ggml.pre is refused with TokenizerError.
    static Tokenizer fromGguf(const gguf::GgufFile& file);
    // tokenizerConfigJson may not exist (then: no add_bos_token override, cleanup on).
    static Tokenizer fromHfFiles(const std::filesystem::path& tokenizerJson,
                                 const std::filesystem::path& tokenizerConfigJson);
    // A .gguf file, a Hugging Face model folder, a folder with only tokenizer.json
    // (+ tokenizer_config.json), or a tokenizer.json file.
    static Tokenizer fromModelPath(const std::filesystem::path& model);

    // Invalid UTF-8 in `text` is read as U+FFFD, as a JavaScript string would hold it.
    std::vector<int32_t> encode(std::string_view text, bool addSpecialTokens = true) const;
    // Throws TokenizerError for an id outside the vocabulary.
    std::string decode(std::span<const int32_t> ids, bool skipSpecialTokens = false) const;

    size_t vocabSize() const;  // highest id + 1
    std::string_view tokenText(int32_t id) const;  // raw piece ("Ġthe", "▁the", "<0x0A>"); "" if none
    std::optional<int32_t> tokenId(std::string_view piece) const;
    std::optional<int32_t> bosId() const;
    std::vector<int32_t> eosIds() const;  // every id that ends a generation
    bool isSpecial(int32_t id) const;
    std::string bosToken() const;
    std::string eosToken() const;
    const std::string& source() const;

private:
    friend class StreamingDecoder;
    explicit Tokenizer(std::shared_ptr<const TokenizerData> data) : d(std::move(data)) {}
    void encodeSection(std::string_view text, size_t sectionIndex, std::vector<int32_t>& out) const;
    std::shared_ptr<const TokenizerData> d;
};

// Turns ids into text incrementally: never emits a broken UTF-8 sequence, never drops or repeats
// a byte; the concatenation of everything push() and flush() return equals
// tokenizer.decode(all ids, skipSpecialTokens).
class StreamingDecoder {
public:
    explicit StreamingDecoder(const Tokenizer& tok, bool skipSpecialTokens = true);
    ~StreamingDecoder();
    StreamingDecoder(StreamingDecoder&&) noexcept;
    StreamingDecoder& operator=(StreamingDecoder&&) noexcept;

    std::string push(int32_t id);  // the newly complete text (may be empty)
    std::string flush();           // whatever is left at the end of the stream

private:
    friend class Tokenizer;
    struct State;
    std::unique_ptr<State> s;
};

}  // namespace hearth
