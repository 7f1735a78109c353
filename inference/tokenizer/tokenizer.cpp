#include "inference/tokenizer/tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <functional>
#include <fstream>
#include <set>
#include <unordered_set>

#include "inference/tokenizer/tokenizer_data.h"
#include "inference/tokenizer/utf8.h"
#include "models/formats/gguf.h"

namespace hearth {

// ---------------------------------------------------------------- byte-level map

const std::vector<std::string>& byteToUnicode() {
    static const std::vector<std::string> table = [] {
        std::vector<std::string> t(256);
        int extra = 0;
        for (int b = 0; b < 256; ++b) {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            std::string s;
            utf8::append(s, printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++));
            t[b] = s;
        }
        return t;
    }();
    return table;
}

namespace {
const std::unordered_map<char32_t, uint8_t>& unicodeToByte() {
    static const std::unordered_map<char32_t, uint8_t> table = [] {
        std::unordered_map<char32_t, uint8_t> t;
        for (int b = 0; b < 256; ++b) {
            size_t pos = 0;
            t[utf8::next(byteToUnicode()[b], pos)] = static_cast<uint8_t>(b);
        }
        return t;
    }();
    return table;
}

// Like the reference's decoder: characters outside the map become byte 0.
std::string byteLevelDecodeLossy(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (pos < s.size()) {
        auto it = unicodeToByte().find(utf8::next(s, pos));
        out += static_cast<char>(it == unicodeToByte().end() ? 0 : it->second);
    }
    return out;
}

bool parseByteToken(std::string_view s, uint8_t& byte) {
    if (s.size() != 6 || s.substr(0, 3) != "<0x" || s[5] != '>') return false;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    int hi = hex(s[3]), lo = hex(s[4]);
    if (hi < 0 || lo < 0) return false;
    byte = static_cast<uint8_t>(hi * 16 + lo);
    return true;
}
}  // namespace

std::optional<std::string> byteLevelDecode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (pos < s.size()) {
        auto it = unicodeToByte().find(utf8::next(s, pos));
        if (it == unicodeToByte().end()) return std::nullopt;
        out += static_cast<char>(it->second);
    }
    return out;
}

// ---------------------------------------------------------------- building

void completeTokenizerData(TokenizerData& d, ModelSource src) {
    const bool byteLevel = src.options.byteLevel;
    int32_t maxId = -1;
    for (const auto& [s, id] : src.vocab) maxId = std::max(maxId, id);
    for (const auto& a : d.added) {
        if (a.id < 0) throw TokenizerError(d.source + ": added token '" + a.content + "' has a negative id");
        maxId = std::max(maxId, a.id);
    }
    if (maxId < 0) throw TokenizerError(d.source + ": the vocabulary is empty");
    // Real vocabularies have at most a few hundred thousand ids; a huge one is a damaged file,
    // not a reason to allocate gigabytes.
    const size_t entries = src.vocab.size() + d.added.size();
    if (static_cast<size_t>(maxId) > entries + 1000000)
        throw TokenizerError(d.source + ": token id " + std::to_string(maxId) + " is far beyond the " +
                             std::to_string(entries) + " tokens listed");
    d.pieces.assign(static_cast<size_t>(maxId) + 1, std::string());
    d.present.assign(d.pieces.size(), 0);

    StringIdMap modelVocab;
    modelVocab.reserve(src.vocab.size());
    for (auto& [s, id] : src.vocab) {
        if (id < 0) throw TokenizerError(d.source + ": negative token id for '" + s + "'");
        if (byteLevel) {
            if (auto raw = byteLevelDecode(s)) modelVocab.emplace(std::move(*raw), id);
        } else {
            modelVocab.emplace(s, id);
        }
        d.pieces[id] = std::move(s);
        d.present[id] = 1;
    }
    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve(src.merges.size());
    for (auto& [a, b] : src.merges) {
        if (!byteLevel) {
            merges.emplace_back(std::move(a), std::move(b));
            continue;
        }
        auto ra = byteLevelDecode(a), rb = byteLevelDecode(b);
        if (ra && rb) merges.emplace_back(std::move(*ra), std::move(*rb));
    }
    src.options.unkId = d.unk;
    if (!src.scores.empty() && merges.empty()) {
        d.model = std::make_unique<BpeModel>(std::move(modelVocab), std::move(src.scores), src.options);
    } else {
        d.model = std::make_unique<BpeModel>(std::move(modelVocab), merges, src.options);
    }

    std::unordered_set<std::string> addedContents;
    std::vector<std::string> rawContents, normContents;
    for (size_t i = 0; i < d.added.size(); ++i) {
        const AddedTokenInfo& a = d.added[i];
        d.pieces[a.id] = a.content;
        d.present[a.id] = 1;
        addedContents.insert(a.content);
        d.addedByText.insert_or_assign(a.content, static_cast<int32_t>(i));
        if (a.normalized && d.normalizer.present()) {
            std::string n = d.normalizer.apply(a.content);
            d.addedByText.insert_or_assign(n, static_cast<int32_t>(i));
            normContents.push_back(std::move(n));
            d.normMatcherTokens.push_back(static_cast<int32_t>(i));
        } else {
            rawContents.push_back(a.content);
            d.rawMatcherTokens.push_back(static_cast<int32_t>(i));
        }
    }
    d.rawMatcher = AddedTokenMatcher(rawContents);
    d.normMatcher = AddedTokenMatcher(normContents);

    std::unordered_set<std::string> specialTexts(src.extraSpecialTexts.begin(), src.extraSpecialTexts.end());
    for (const auto& a : d.added)
        if (a.special) specialTexts.insert(a.content);
    d.pieceIds.reserve(d.pieces.size());
    for (size_t id = 0; id < d.pieces.size(); ++id)
        if (d.present[id]) d.pieceIds.emplace(d.pieces[id], static_cast<int32_t>(id));
    d.special.assign(d.pieces.size(), 0);
    d.decodeKind.assign(d.pieces.size(), PieceKind::Missing);
    d.decodeText.assign(d.pieces.size(), std::string());
    for (size_t id = 0; id < d.pieces.size(); ++id) {
        if (!d.present[id]) continue;
        const std::string& p = d.pieces[id];
        d.special[id] = specialTexts.count(p) ? 1 : 0;
        uint8_t byte = 0;
        if (d.decoder.byteLevel) {
            if (addedContents.count(p)) {
                d.decodeKind[id] = PieceKind::Text;
                d.decodeText[id] = p;
            } else {
                d.decodeKind[id] = PieceKind::Bytes;
                d.decodeText[id] = byteLevelDecodeLossy(p);
            }
        } else if (d.decoder.byteFallback && parseByteToken(p, byte)) {
            d.decodeKind[id] = PieceKind::Bytes;
            d.decodeText[id] = std::string(1, static_cast<char>(byte));
        } else {
            std::string text = p;
            for (const auto& [from, to] : d.decoder.replacements) text = replaceAll(text, from, to);
            d.decodeKind[id] = PieceKind::Text;
            d.decodeText[id] = std::move(text);
        }
    }
}

// ---------------------------------------------------------------- loading

Tokenizer Tokenizer::fromModelPath(const std::filesystem::path& model) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(model, ec)) {
        if (fs::exists(model / "tokenizer.json"))
            return fromHfFiles(model / "tokenizer.json", model / "tokenizer_config.json");
        std::vector<fs::path> ggufs;
        for (const auto& entry : fs::directory_iterator(model, ec))
            if (entry.path().extension() == ".gguf") ggufs.push_back(entry.path());
        if (ggufs.size() == 1) return fromGguf(gguf::GgufFile::open(ggufs[0]));
        throw TokenizerError(model.string() +
                             ": this folder has no tokenizer.json (and not exactly one .gguf file); "
                             "point --model at a .gguf file or a Hugging Face model folder");
    }
    if (!fs::exists(model, ec)) throw TokenizerError(model.string() + ": no such file or folder");
    if (model.extension() == ".json") return fromHfFiles(model, model.parent_path() / "tokenizer_config.json");
    std::ifstream in(model, std::ios::binary);
    char magic[4] = {};
    in.read(magic, 4);
    if (in.gcount() == 4 && std::string_view(magic, 4) == "GGUF") return fromGguf(gguf::GgufFile::open(model));
    throw TokenizerError(model.string() + ": not a .gguf file, a tokenizer.json or a model folder");
}

// ---------------------------------------------------------------- encoding

namespace {
// single_word: the token counts only when no word character (the Rust crate's \w: letters, marks,
// decimal and letter numbers, connector punctuation) touches it on either side.
bool isWordChar(char32_t c) {
    auto cat = utf8proc_category(static_cast<int32_t>(c));
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME) || cat == UTF8PROC_CATEGORY_ND ||
           cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_PC;
}

std::function<bool(int32_t, size_t, size_t)> singleWordFilter(std::string_view text, const std::vector<int32_t>& matcherTokens,
                                                              const std::vector<AddedTokenInfo>& added) {
    bool any = false;
    for (int32_t t : matcherTokens) any = any || added[t].singleWord;
    if (!any) return {};
    return [text, &matcherTokens, &added](int32_t token, size_t begin, size_t end) {
        if (!added[matcherTokens[token]].singleWord) return true;
        if (begin > 0) {
            size_t p = begin - 1;
            while (p > 0 && (static_cast<uint8_t>(text[p]) & 0xC0) == 0x80) --p;
            size_t q = p;
            if (isWordChar(utf8::next(text, q))) return false;
        }
        if (end < text.size()) {
            size_t q = end;
            if (isWordChar(utf8::next(text, q))) return false;
        }
        return true;
    };
}

void applyStrips(std::vector<AddedTokenMatcher::Segment>& segs, const std::vector<int32_t>& matcherTokens,
                 const std::vector<AddedTokenInfo>& added) {
    for (size_t i = 0; i < segs.size(); ++i) {
        if (segs[i].token < 0) continue;
        const AddedTokenInfo& a = added[matcherTokens[segs[i].token]];
        if (a.lstrip && i > 0 && segs[i - 1].token < 0) segs[i - 1].text = trimEndJs(segs[i - 1].text);
        if (a.rstrip && i + 1 < segs.size() && segs[i + 1].token < 0) segs[i + 1].text = trimStartJs(segs[i + 1].text);
    }
}
}  // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view input, bool addSpecialTokens) const {
    std::string sanitized;
    std::string_view text = input;
    if (!utf8::isValid(input)) {
        sanitized = utf8::sanitize(input);
        text = sanitized;
    }
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    if (addSpecialTokens) out = d->prefix;
    auto sections = d->rawMatcher.split(text, singleWordFilter(text, d->rawMatcherTokens, d->added));
    applyStrips(sections, d->rawMatcherTokens, d->added);
    for (size_t i = 0; i < sections.size(); ++i) {
        const auto& s = sections[i];
        if (s.token >= 0) {
            out.push_back(d->added[d->rawMatcherTokens[s.token]].id);
        } else if (!s.text.empty()) {
            encodeSection(s.text, i, out);
        }
    }
    if (addSpecialTokens) out.insert(out.end(), d->suffix.begin(), d->suffix.end());
    return out;
}

void Tokenizer::encodeSection(std::string_view text, size_t sectionIndex, std::vector<int32_t>& out) const {
    if (auto it = d->addedByText.find(text); it != d->addedByText.end()) {
        out.push_back(d->added[it->second].id);
        return;
    }
    std::string normalized;
    if (!d->normalizer.empty()) {
        normalized = d->normalizer.apply(text);
        text = normalized;
    }
    if (text.empty()) return;
    auto subs = d->normMatcher.split(text, singleWordFilter(text, d->normMatcherTokens, d->added));
    applyStrips(subs, d->normMatcherTokens, d->added);
    std::deque<std::string> arena;
    std::vector<int32_t> ids;
    const auto& opts = d->model->options();
    for (const auto& sub : subs) {
        if (sub.token >= 0) {
            out.push_back(d->added[d->normMatcherTokens[sub.token]].id);
            continue;
        }
        if (sub.text.empty()) continue;
        if (auto it = d->addedByText.find(sub.text); it != d->addedByText.end()) {
            out.push_back(d->added[it->second].id);
            continue;
        }
        ids.clear();
        d->preTokenizer.split(sub.text, sectionIndex, arena, [&](std::string_view w) { d->model->encodeWord(w, ids); });
        if (opts.fuseUnk && opts.unkId) {
            // Runs of unknown tokens collapse into one, as the reference's fuse_unk does.
            for (size_t i = 0; i < ids.size(); ++i)
                if (!(ids[i] == *opts.unkId && i > 0 && ids[i - 1] == *opts.unkId)) out.push_back(ids[i]);
        } else {
            out.insert(out.end(), ids.begin(), ids.end());
        }
    }
}

// ---------------------------------------------------------------- decoding

namespace {

// Turns ids into text before the text-level steps (strip, cleanup); shared by decode() and the
// streaming decoder so both produce the same characters.
struct DecodeCore {
    const TokenizerData* d;
    utf8::LossyDecoder utf;
    std::string out;
    bool groupOpen = false;
    bool bomPending = false;  // the first character of this byte run may still be a BOM to drop
    size_t groupStart = 0;
    size_t tokens = 0;

    void push(int32_t id, bool skipSpecial) {
        if (id < 0 || static_cast<size_t>(id) >= d->pieces.size() || (!d->present[id] && !d->unk))
            throw TokenizerError("token id " + std::to_string(id) + " is not in the vocabulary of " + d->source +
                                 " (" + std::to_string(d->pieces.size()) + " ids)");
        if (!d->present[id]) id = *d->unk;
        if (skipSpecial && d->special[id]) return;
        const std::string& text = d->decodeText[id];
        if (d->decodeKind[id] == PieceKind::Bytes) {
            if (!groupOpen) {
                groupOpen = true;
                bomPending = d->decoder.dropGroupBom;
                groupStart = out.size();
            }
            utf.feed(text, out);
            checkBom(false);
        } else {
            closeGroup();
            std::string_view piece = text;
            if (d->decoder.stripFirstToken && tokens == 0 && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
            out += piece;
        }
        ++tokens;
    }
    // The first character of a byte run is final once emitted: drop it if it is a BOM.
    void checkBom(bool) {
        if (!bomPending || out.size() == groupStart) return;
        if (out.size() - groupStart >= 3 && out.compare(groupStart, 3, "\xEF\xBB\xBF") == 0) out.erase(groupStart, 3);
        bomPending = false;
    }
    void closeGroup() {
        if (!groupOpen) return;
        utf.finish(out);
        checkBom(true);
        bomPending = false;
        groupOpen = false;
    }
    // Text that can no longer change.
    std::string drain() {
        size_t limit = bomPending ? groupStart : out.size();
        std::string ready = out.substr(0, limit);
        out.erase(0, limit);
        groupStart -= std::min(groupStart, limit);
        return ready;
    }
};

const std::vector<std::pair<std::string_view, std::string_view>>& cleanupRules() {
    static const std::vector<std::pair<std::string_view, std::string_view>> rules = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    return rules;
}

std::string cleanUp(std::string text) {
    for (const auto& [from, to] : cleanupRules()) text = replaceAll(text, from, to);
    return text;
}

// Where text may be cut so that cleanUp(left) + cleanUp(right) == cleanUp(left + right): not
// after a proper prefix of a cleanup pattern (they all start with a space).
size_t safeCleanupCut(std::string_view text) {
    static const std::string_view unsafe[] = {" ", " '", " n", " n'", " 'v", " 'r"};
    size_t q = text.size();
    bool moved = true;
    while (q > 0 && moved) {
        moved = false;
        for (std::string_view u : unsafe) {
            if (q >= u.size() && text.substr(q - u.size(), u.size()) == u) {
                q -= u.size();
                moved = true;
                break;
            }
        }
    }
    return q;
}

}  // namespace

struct StreamingDecoder::State {
    std::shared_ptr<const TokenizerData> data;
    DecodeCore core;
    bool skip;
    int stripLeft;
    std::string pending;  // text held back for the cleanup rules

    std::string post(std::string text, bool final) {
        while (stripLeft > 0 && !text.empty()) {
            if (text[0] != ' ') {
                stripLeft = 0;
                break;
            }
            text.erase(0, 1);
            --stripLeft;
        }
        if (!data->decoder.cleanUp) return text;
        pending += text;
        size_t cut = final ? pending.size() : safeCleanupCut(pending);
        std::string ready = cleanUp(pending.substr(0, cut));
        pending.erase(0, cut);
        return ready;
    }
};

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skipSpecialTokens) const {
    StreamingDecoder::State s{d, DecodeCore{d.get()}, skipSpecialTokens, d->decoder.stripStart, {}};
    for (int32_t id : ids) s.core.push(id, skipSpecialTokens);
    s.core.closeGroup();
    return s.post(s.core.drain(), true);
}

StreamingDecoder::StreamingDecoder(const Tokenizer& tok, bool skipSpecialTokens)
    : s(std::make_unique<State>(State{tok.d, DecodeCore{tok.d.get()}, skipSpecialTokens, tok.d->decoder.stripStart, {}})) {}
StreamingDecoder::~StreamingDecoder() = default;
StreamingDecoder::StreamingDecoder(StreamingDecoder&&) noexcept = default;
StreamingDecoder& StreamingDecoder::operator=(StreamingDecoder&&) noexcept = default;

std::string StreamingDecoder::push(int32_t id) {
    s->core.push(id, s->skip);
    return s->post(s->core.drain(), false);
}

std::string StreamingDecoder::flush() {
    s->core.closeGroup();
    std::string text = s->post(s->core.drain(), true);
    s->core = DecodeCore{s->data.get()};
    s->stripLeft = s->data->decoder.stripStart;
    return text;
}

// ---------------------------------------------------------------- lookups

size_t Tokenizer::vocabSize() const { return d->pieces.size(); }

std::string_view Tokenizer::tokenText(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= d->pieces.size()) return {};
    return d->pieces[id];
}

std::optional<int32_t> Tokenizer::tokenId(std::string_view piece) const {
    if (auto it = d->addedByText.find(piece); it != d->addedByText.end()) return d->added[it->second].id;
    if (auto it = d->pieceIds.find(piece); it != d->pieceIds.end()) return it->second;
    return std::nullopt;
}

std::optional<int32_t> Tokenizer::bosId() const { return d->bos; }
std::vector<int32_t> Tokenizer::eosIds() const { return d->eos; }
bool Tokenizer::isSpecial(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < d->special.size() && d->special[id];
}
std::string Tokenizer::bosToken() const { return d->bosText; }
std::string Tokenizer::eosToken() const { return d->eosText; }
const std::string& Tokenizer::source() const { return d->source; }

}  // namespace hearth
