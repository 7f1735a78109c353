// A string -> integer hash map for the tokenizer's hot lookups (vocabulary, word cache): open
// addressing over one slot array with the keys' bytes in one pool, so a lookup touches about two
// cache lines instead of chasing node and string pointers as std::unordered_map does.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

class FlatStringMap {
public:
    static uint64_t hash(std::string_view s) {
        const char* p = s.data();
        size_t n = s.size();
        uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xff51afd7ed558ccdULL);
        while (n >= 8) {
            uint64_t k;
            std::memcpy(&k, p, 8);
            h = (h ^ k) * 0xbf58476d1ce4e5b9ULL;
            h ^= h >> 31;
            p += 8;
            n -= 8;
        }
        uint64_t k = 0;
        std::memcpy(&k, p, n);
        h = (h ^ k) * 0x94d049bb133111ebULL;
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 32;
        return h | 1;  // 0 marks an empty slot
    }

    size_t size() const { return count_; }
    void clear() {
        slots_.assign(slots_.size(), Slot{});
        pool_.clear();
        count_ = 0;
    }

    const int64_t* find(std::string_view key) const {
        if (slots_.empty()) return nullptr;
        const uint64_t h = hash(key);
        const size_t mask = slots_.size() - 1;
        for (size_t i = h & mask;; i = (i + 1) & mask) {
            const Slot& s = slots_[i];
            if (s.hash == 0) return nullptr;
            if (s.hash == h && s.length == key.size() && std::memcmp(pool_.data() + s.offset, key.data(), key.size()) == 0)
                return &s.value;
        }
    }

    // Inserts or replaces.
    void set(std::string_view key, int64_t value) {
        if ((count_ + 1) * 2 > slots_.size()) grow();
        const uint64_t h = hash(key);
        const size_t mask = slots_.size() - 1;
        for (size_t i = h & mask;; i = (i + 1) & mask) {
            Slot& s = slots_[i];
            if (s.hash == 0) {
                s = Slot{h, static_cast<uint32_t>(pool_.size()), static_cast<uint32_t>(key.size()), value};
                pool_.append(key);
                ++count_;
                return;
            }
            if (s.hash == h && s.length == key.size() && std::memcmp(pool_.data() + s.offset, key.data(), key.size()) == 0) {
                s.value = value;
                return;
            }
        }
    }

private:
    struct Slot {
        uint64_t hash = 0;
        uint32_t offset = 0, length = 0;
        int64_t value = 0;
    };
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
        const size_t mask = slots_.size() - 1;
        for (const Slot& s : old) {
            if (s.hash == 0) continue;
            size_t i = s.hash & mask;
            while (slots_[i].hash != 0) i = (i + 1) & mask;
            slots_[i] = s;
        }
    }
    std::vector<Slot> slots_;
    std::string pool_;
    size_t count_ = 0;
};

}  // namespace hearth
