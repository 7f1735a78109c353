#include "inference/tokenizer/bpe_model.h"

#include <algorithm>
#include <climits>
#include <cstdio>

#include "inference/tokenizer/utf8.h"

namespace hearth {

namespace {
constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kMaxCachedWords = 200000;
constexpr std::string_view kMetaspace = "\u2581";

uint64_t pairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
}  // namespace

BpeModel::BpeModel(StringIdMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   Options options)
    : vocab_(std::move(vocab)), options_(options) {
    int32_t maxId = -1;
    for (const auto& [s, id] : vocab_) maxId = std::max(maxId, id);
    extraBase_ = maxId + 1;
    for (const auto& [piece, id] : vocab_) fastVocab_.set(piece, id);
    merges_.reserve(merges.size() * 2);
    std::string joined;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const auto& [a, b] = merges[rank];
        joined.assign(a).append(b);
        int32_t ia = internId(a), ib = internId(b), ir = internId(joined);
        merges_[pairKey(ia, ib)] = Merge{static_cast<int32_t>(rank), ir};
    }
    if (!options_.byteLevel) {
        splitAtMetaspace_ = true;
        auto check = [&](std::string_view piece) {
            for (size_t p = piece.find(kMetaspace, 1); p != std::string_view::npos; p = piece.find(kMetaspace, p + 1))
                if (p < 3 || piece.substr(p - 3, 3) != kMetaspace) splitAtMetaspace_ = false;
        };
        for (const auto& [piece, id] : vocab_) check(piece);
        for (const auto& [piece, id] : extra_) check(piece);
    }
    byteSymbol_.assign(256, -1);
    byteFallback_.assign(256, -1);
    for (int b = 0; b < 256; ++b) {
        if (options_.byteLevel) byteSymbol_[b] = symbolId(std::string(1, static_cast<char>(b)));
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        if (auto id = find(name)) byteFallback_[b] = *id;
    }
}

BpeModel::BpeModel(StringIdMap vocab, std::vector<float> scores, Options options)
    : BpeModel(std::move(vocab), std::vector<std::pair<std::string, std::string>>{}, options) {
    // Higher score merges first; the id breaks ties.
    std::vector<int32_t> order(scores.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return scores[a] > scores[b]; });
    scoreRank_.assign(scores.size(), INT32_MAX);
    for (size_t r = 0; r < order.size(); ++r) scoreRank_[order[r]] = static_cast<int32_t>(r);
    scoreMode_ = true;
}

std::optional<int32_t> BpeModel::find(std::string_view piece) const {
    auto it = vocab_.find(piece);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
}

int32_t BpeModel::internId(const std::string& s) {
    if (const int64_t* id = fastVocab_.find(s)) return static_cast<int32_t>(*id);
    if (auto it = extra_.find(s); it != extra_.end()) return it->second;
    int32_t id = extraBase_ + static_cast<int32_t>(extra_.size());
    extra_.emplace(s, id);
    return id;
}

int32_t BpeModel::symbolId(std::string_view s) const {
    if (const int64_t* id = fastVocab_.find(s)) return static_cast<int32_t>(*id);
    if (auto it = extra_.find(s); it != extra_.end()) return it->second;
    return -1;
}

std::optional<BpeModel::Merge> BpeModel::lookupMerge(int32_t a, int32_t b, std::string_view left,
                                                     std::string_view right) const {
    if (scoreMode_) {
        std::string joined;
        joined.reserve(left.size() + right.size());
        joined.append(left).append(right);
        auto it = vocab_.find(joined);
        if (it == vocab_.end()) return std::nullopt;
        int32_t id = it->second;
        int32_t rank = id >= 0 && static_cast<size_t>(id) < scoreRank_.size() ? scoreRank_[id] : INT32_MAX;
        return Merge{rank, id};
    }
    if (a < 0 || b < 0) return std::nullopt;
    auto it = merges_.find(pairKey(a, b));
    if (it == merges_.end()) return std::nullopt;
    return it->second;
}

void BpeModel::emitUnknown(std::string_view text, std::vector<int32_t>& out) const {
    if (options_.byteFallback) {
        bool all = true;
        for (char c : text) all = all && byteFallback_[static_cast<uint8_t>(c)] >= 0;
        if (all) {
            for (char c : text) out.push_back(byteFallback_[static_cast<uint8_t>(c)]);
            return;
        }
    }
    if (options_.unkId) out.push_back(*options_.unkId);
}

void BpeModel::encodeWord(std::string_view word, std::vector<int32_t>& out) const {
    if (!splitAtMetaspace_) {
        encodePart(word, out);
        return;
    }
    size_t start = 0;
    for (size_t p = word.find(kMetaspace, 1); p != std::string_view::npos; p = word.find(kMetaspace, p + 1)) {
        if (p >= 3 && word.substr(p - 3, 3) == kMetaspace) continue;  // inside a run of "▁"
        encodePart(word.substr(start, p - start), out);
        start = p;
    }
    encodePart(word.substr(start), out);
}

void BpeModel::encodePart(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (options_.ignoreMerges) {
        if (const int64_t* id = fastVocab_.find(word)) {
            out.push_back(static_cast<int32_t>(*id));
            return;
        }
    }
    const bool cacheable = word.size() <= kMaxCachedWordBytes;
    if (cacheable) {
        std::lock_guard lock(cache_->mutex);
        if (const int64_t* hit = cache_->words.find(word)) {
            const int32_t* first = cache_->ids.data() + (*hit >> 32);
            out.insert(out.end(), first, first + (*hit & 0xFFFFFFFF));
            return;
        }
    }
    size_t first = out.size();
    bpe(word, out);
    if (cacheable) {
        std::lock_guard lock(cache_->mutex);
        if (cache_->words.size() >= kMaxCachedWords) {
            cache_->words.clear();
            cache_->ids.clear();
        }
        auto offset = static_cast<int64_t>(cache_->ids.size());
        cache_->ids.insert(cache_->ids.end(), out.begin() + static_cast<ptrdiff_t>(first), out.end());
        cache_->words.set(word, offset << 32 | static_cast<int64_t>(out.size() - first));
    }
}

void BpeModel::bpe(std::string_view word, std::vector<int32_t>& out) const {
    struct Symbol {
        int32_t id;
        int32_t prev, next;
        uint32_t begin, len;
    };
    std::vector<Symbol> sym;
    sym.reserve(word.size());
    if (options_.byteLevel) {
        for (size_t i = 0; i < word.size(); ++i)
            sym.push_back({byteSymbol_[static_cast<uint8_t>(word[i])], static_cast<int32_t>(i) - 1,
                           static_cast<int32_t>(i) + 1, static_cast<uint32_t>(i), 1});
    } else {
        size_t pos = 0;
        while (pos < word.size()) {
            size_t start = pos;
            pos += std::max<size_t>(1, utf8::sequenceLength(static_cast<uint8_t>(word[pos])));
            pos = std::min(pos, word.size());
            int32_t index = static_cast<int32_t>(sym.size());
            sym.push_back({symbolId(word.substr(start, pos - start)), index - 1, index + 1,
                           static_cast<uint32_t>(start), static_cast<uint32_t>(pos - start)});
        }
    }
    sym.back().next = -1;
    auto text = [&](const Symbol& s) { return word.substr(s.begin, s.len); };

    struct Candidate {
        int32_t rank, pos, left, right;  // pos: index of the left symbol (its original position)
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::vector<Candidate> heap;
    auto push = [&](int32_t i) {
        int32_t j = sym[i].next;
        if (j < 0) return;
        auto m = lookupMerge(sym[i].id, sym[j].id, text(sym[i]), text(sym[j]));
        if (!m) return;
        heap.push_back({m->rank, i, sym[i].id, sym[j].id});
        std::push_heap(heap.begin(), heap.end(), std::greater<>());
    };
    for (int32_t i = 0; i + 1 < static_cast<int32_t>(sym.size()); ++i) push(i);

    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), std::greater<>());
        Candidate c = heap.back();
        heap.pop_back();
        Symbol& l = sym[c.pos];
        if (l.len == 0 || l.id != c.left || l.next < 0) continue;
        Symbol& r = sym[l.next];
        if (r.id != c.right) continue;
        auto m = lookupMerge(l.id, r.id, text(l), text(r));
        if (!m) continue;
        l.id = m->result;
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) sym[r.next].prev = c.pos;
        if (l.prev >= 0) push(l.prev);
        push(c.pos);
    }

    const int32_t realEnd = extraBase_;
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        const Symbol& s = sym[i];
        if (s.id >= 0 && s.id < realEnd) {
            out.push_back(s.id);
        } else {
            emitUnknown(text(s), out);
        }
    }
}

}  // namespace hearth
