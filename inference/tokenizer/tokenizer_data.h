// Internal: everything a Tokenizer knows, built once by a loader (tokenizer.json or GGUF) and
// shared read-only between copies of the Tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inference/tokenizer/added_token_matcher.h"
#include "inference/tokenizer/bpe_model.h"
#include "inference/tokenizer/normalizer.h"
#include "inference/tokenizer/pre_tokenizer.h"

namespace hearth {

struct AddedTokenInfo {
    std::string content;
    int32_t id = 0;
    bool lstrip = false, rstrip = false, singleWord = false, normalized = false, special = false;
};

// How ids turn back into text. Every supported decoder chain reduces to: each token is either
// raw bytes (byte-level tokens, <0xXX> byte-fallback tokens) or literal text; consecutive bytes are
// decoded together (invalid sequences -> U+FFFD), then leading spaces are stripped and the
// tokenization spaces cleaned up.
struct DecoderPlan {
    bool byteLevel = false;
    bool byteFallback = false;
    bool dropGroupBom = false;     // ByteFallback decodes each byte run with a BOM-eating TextDecoder
    std::vector<std::pair<std::string, std::string>> replacements;  // per token, e.g. "▁" -> " "
    int stripStart = 0;            // Strip decoder after Fuse: leading spaces of the whole text
    bool stripFirstToken = false;  // Metaspace decoder: one leading space of the first token
    bool cleanUp = false;          // clean_up_tokenization_spaces
};

enum class PieceKind : uint8_t { Missing, Text, Bytes };

struct TokenizerData {
    std::string source;  // file name, for messages

    Normalizer normalizer;
    PreTokenizer preTokenizer;
    std::unique_ptr<BpeModel> model;

    std::vector<AddedTokenInfo> added;
    AddedTokenMatcher rawMatcher;    // tokens matched before normalization
    std::vector<int32_t> rawMatcherTokens;   // matcher index -> index into `added`
    AddedTokenMatcher normMatcher;   // normalized tokens, matched after normalization
    std::vector<int32_t> normMatcherTokens;
    StringIdMap addedByText;         // content or normalized content -> index into `added`

    std::vector<int32_t> prefix, suffix;  // ids added around the text when addSpecialTokens

    std::vector<std::string> pieces;  // by id, as in the vocabulary file
    std::vector<uint8_t> present;
    StringIdMap pieceIds;
    std::vector<uint8_t> special;     // dropped by decode(skipSpecialTokens)
    std::vector<PieceKind> decodeKind;
    std::vector<std::string> decodeText;
    DecoderPlan decoder;

    std::optional<int32_t> bos;
    std::vector<int32_t> eos;
    std::string bosText, eosText;
    std::optional<int32_t> unk;

};

// The model half of a loader's result: what tokenizer.json's "model" or GGUF's token arrays say,
// with strings as they appear in the file (byte-level strings like "Ġthe" included).
struct ModelSource {
    std::vector<std::pair<std::string, int32_t>> vocab;
    std::vector<std::pair<std::string, std::string>> merges;  // rank order
    std::vector<float> scores;  // by id; used when there are no merges (SentencePiece GGUF)
    BpeModel::Options options;
    std::vector<std::string> extraSpecialTexts;  // more strings that decode(skip) drops
};

// Builds the model, the added-token matchers and the by-id tables. `d` must already hold the
// normalizer, pre-tokenizer, added tokens, unk and decoder plan.
void completeTokenizerData(TokenizerData& d, ModelSource source);

// GPT-2's reversible byte <-> printable character map.
const std::vector<std::string>& byteToUnicode();
// Decodes a byte-level string ("Ġthe" -> " the"); nullopt if it has a character outside the map.
std::optional<std::string> byteLevelDecode(std::string_view s);

}  // namespace hearth
