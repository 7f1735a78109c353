// Byte-pair encoding over a fixed vocabulary and merge list.
//
// Words are cut into initial symbols (bytes for byte-level models, code points otherwise), then the
// adjacent pair with the lowest merge rank is merged, leftmost first, until no pair has a rank:
// a binary heap over the pairs of a per-word linked list, so a word of n symbols costs
// O(n log n). Results are cached per word. Symbols that end up outside the vocabulary become
// <0xXX> byte tokens (byte_fallback) or the unknown token; with neither they are dropped, as
// the reference does.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "inference/tokenizer/flat_string_map.h"

namespace hearth {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
public:
    struct Options {
        bool byteLevel = false;     // symbols are raw bytes; vocabulary keys are raw bytes
        bool byteFallback = false;
        bool ignoreMerges = false;  // a word that is itself in the vocabulary is one token
        bool fuseUnk = false;
        std::optional<int32_t> unkId;
    };

    // `vocab` maps model-space strings (raw bytes for byte-level models) to ids; `merges` are
    // pairs of model-space strings in rank order (a later duplicate wins, as in the reference).
    BpeModel(StringIdMap vocab, const std::vector<std::pair<std::string, std::string>>& merges, Options options);
    // SentencePiece models in GGUF carry scores instead of merges: a pair may merge when the
    // concatenation is in the vocabulary, higher score first.
    BpeModel(StringIdMap vocab, std::vector<float> scores, Options options);

    // Appends the ids of one pre-tokenized word.
    void encodeWord(std::string_view word, std::vector<int32_t>& out) const;
    const Options& options() const { return options_; }
    const StringIdMap& vocab() const { return vocab_; }
    std::optional<int32_t> find(std::string_view piece) const;

private:
    struct Merge {
        int32_t rank;
        int32_t result;
    };
    struct Cache {
        std::mutex mutex;
        FlatStringMap words;  // word -> offset << 32 | count into ids
        std::vector<int32_t> ids;
    };

    int32_t symbolId(std::string_view s) const;
    int32_t internId(const std::string& s);
    std::optional<Merge> lookupMerge(int32_t a, int32_t b, std::string_view left, std::string_view right) const;
    void bpe(std::string_view word, std::vector<int32_t>& out) const;
    void encodePart(std::string_view word, std::vector<int32_t>& out) const;
    void emitUnknown(std::string_view text, std::vector<int32_t>& out) const;

    StringIdMap vocab_;
    FlatStringMap fastVocab_;  // the same, for the hot path
    StringIdMap extra_;         // strings that appear only inside merges, ids >= extraBase_
    int32_t extraBase_ = 0;
    std::unordered_map<uint64_t, Merge> merges_;
    std::vector<int32_t> scoreRank_;  // score mode: merge order of each id
    bool scoreMode_ = false;
    std::vector<int32_t> byteSymbol_;    // byte-level: id of each single byte
    std::vector<int32_t> byteFallback_;  // id of <0xXX> per byte, -1 when missing
    Options options_;
    // SentencePiece text between special tokens is one long "word". When no token has "▁" right
    // after another character, no merge can cross the start of a "▁" run, so the word is cut
    // there: same result, linear time, and the word cache works.
    bool splitAtMetaspace_ = false;
    std::unique_ptr<Cache> cache_ = std::make_unique<Cache>();
};

}  // namespace hearth
