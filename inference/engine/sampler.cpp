#include "inference/engine/sampler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <unordered_map>

namespace hearth {

namespace {

uint64_t randomSeed() {
    std::random_device rd;
    uint64_t s = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    s ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    return s == 0 ? 1 : s;
}

}  // namespace

Sampler::Sampler(const SamplerSettings& settings)
    : s_(settings), seed_(settings.seed != 0 ? settings.seed : randomSeed()), state_(seed_) {}

double Sampler::nextUniform() {
    // SplitMix64; the top 24 bits, so that the value is exactly a float: the device sampler
    // (Backend::sample) gets the same u as a float that this one compares as a double.
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 40) * (1.0 / 16777216.0);
}

void Sampler::applyPenalties(std::span<float> logits, std::span<const int32_t> history) const {
    bool repeat = s_.repeatPenalty != 1.0f;
    if (!repeat && s_.presencePenalty == 0.0f && s_.frequencyPenalty == 0.0f) return;
    if (s_.repeatLastN == 0) return;
    size_t n = s_.repeatLastN < 0 ? history.size()
                                  : std::min(history.size(), static_cast<size_t>(s_.repeatLastN));
    std::unordered_map<int32_t, int> counts;
    for (int32_t id : history.subspan(history.size() - n)) ++counts[id];
    for (auto [id, count] : counts) {
        if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
        float& l = logits[static_cast<size_t>(id)];
        // Dividing a negative logit would raise it: multiply instead, as CTRL and llama.cpp do.
        if (repeat) l = l > 0 ? l / s_.repeatPenalty : l * s_.repeatPenalty;
        l -= static_cast<float>(count) * s_.frequencyPenalty + s_.presencePenalty;
    }
}

std::vector<Sampler::Candidate> Sampler::distribution(std::span<float> logits,
                                                      std::span<const int32_t> history) {
    applyPenalties(logits, history);
    std::vector<Candidate> c;
    if (logits.empty()) return c;
    if (s_.temperature <= 0.0f) {
        auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
        c.push_back({static_cast<int32_t>(best), logits[static_cast<size_t>(best)], 1.0});
        return c;
    }
    c.reserve(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) {
        if (std::isfinite(logits[i])) c.push_back({static_cast<int32_t>(i), logits[i], 0.0});
    }
    if (c.empty()) {  // all -inf/NaN: fall back to the first id rather than crash
        c.push_back({0, 0.0f, 1.0});
        return c;
    }
    auto byLogit = [](const Candidate& a, const Candidate& b) {
        return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
    };
    size_t keep = c.size();
    if (s_.topK > 0 && static_cast<size_t>(s_.topK) < keep) {
        keep = static_cast<size_t>(s_.topK);
        std::partial_sort(c.begin(), c.begin() + static_cast<ptrdiff_t>(keep), c.end(), byLogit);
        c.resize(keep);
    } else {
        std::sort(c.begin(), c.end(), byLogit);
    }

    // top-p and min-p look at the untempered distribution.
    auto softmax = [&](double temperature) {
        double maxL = c.front().logit, sum = 0;
        for (auto& x : c) sum += x.p = std::exp((x.logit - maxL) / temperature);
        for (auto& x : c) x.p /= sum;
    };
    softmax(1.0);
    if (s_.topP < 1.0f) {
        double cum = 0;
        size_t n = 0;
        while (n < c.size()) {
            cum += c[n++].p;
            if (cum >= s_.topP) break;
        }
        c.resize(std::max<size_t>(n, 1));
    }
    if (s_.minP > 0.0f) {
        double threshold = c.front().p * s_.minP;
        size_t n = 1;
        while (n < c.size() && c[n].p >= threshold) ++n;
        c.resize(n);
    }
    softmax(static_cast<double>(s_.temperature));
    return c;
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
    auto c = distribution(logits, history);
    // One u per token, drawn even when there is no choice, so the host and the device sampler
    // (which cannot know in advance) consume the same sequence for a seed.
    double r = nextUniform(), cum = 0;
    if (c.size() == 1) return c.front().id;
    for (const auto& x : c) {
        cum += x.p;
        if (r < cum) return x.id;
    }
    return c.back().id;
}

}  // namespace hearth
