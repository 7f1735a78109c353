// A float64 reference of Backend::sample's distribution (backends/backend.h), written from the
// definition rather than from either backend: normalised probabilities as the engine's Sampler
// computes them. Header-only and Qt-free: the op suite and tests/gpu/gpu_ops_check.cpp use it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "backends/backend.h"

namespace hearth::testref {

struct SampleCandidate {
    int32_t id;
    double logit;
    double p = 0;  // final probability (after the cuts and the temperature)
};

struct SampleSettings {
    float temperature = 1.0f;
    float topK = 40;
    float topP = 1.0f;
    float minP = 0.0f;
};

class SampleReference {
public:
    SampleReference(const float* row, int64_t vocab, const SampleSettings& s) : s_(s) {
        for (int64_t i = 0; i < vocab; ++i)
            if (std::isfinite(row[i])) sorted_.push_back({static_cast<int32_t>(i), row[i]});
        std::sort(sorted_.begin(), sorted_.end(), [](const SampleCandidate& a, const SampleCandidate& b) {
            return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
        });
        size_t k = s.topK >= 1 && s.topK <= kSampleMaxTopK ? static_cast<size_t>(s.topK) : kSampleMaxTopK;
        if (!(s.temperature > 0)) k = 1;
        if (sorted_.size() > k) sorted_.resize(k);
    }

    bool greedy() const { return !(s_.temperature > 0); }

    // The candidates left after the cuts, with their probabilities.
    std::vector<SampleCandidate> distribution(double topP, double minP) const {
        std::vector<SampleCandidate> c = sorted_;
        if (c.empty()) return c;
        if (greedy()) {
            c[0].p = 1;
            return c;
        }
        softmax(c, 1.0);
        if (topP < 1.0) {
            double cum = 0;
            size_t n = 0;
            while (n < c.size()) {
                cum += c[n++].p;
                if (cum >= topP) break;
            }
            c.resize(std::max<size_t>(n, 1));
        }
        if (minP > 0) {
            const double threshold = c.front().p * minP;
            size_t n = 1;
            while (n < c.size() && c[n].p >= threshold) ++n;
            c.resize(n);
        }
        softmax(c, s_.temperature);
        return c;
    }

    int32_t pick(double u, double topP, double minP) const {
        auto c = distribution(topP, minP);
        if (c.empty()) return 0;
        double cum = 0;
        for (const auto& x : c) {
            cum += x.p;
            if (u < cum) return x.id;
        }
        return c.back().id;
    }

    int32_t pick(double u) const { return pick(u, s_.topP, s_.minP); }

    // Whether `got` is what the definition gives for u, allowing for float rounding: u, top_p and
    // min_p each moved by a relative `eps` either way (the ambiguity backend.h documents).
    bool acceptable(int32_t got, double u, double eps = 1e-5) const {
        for (double du : {0.0, -eps, eps})
            for (double dp : {0.0, -eps, eps})
                for (double dm : {0.0, -eps, eps}) {
                    double uu = std::clamp(u + du, 0.0, 1.0);
                    double tp = s_.topP < 1.0f ? s_.topP * (1 + dp) : s_.topP;
                    double mp = s_.minP * (1 + dm);
                    if (pick(uu, tp, mp) == got) return true;
                }
        return false;
    }

private:
    static void softmax(std::vector<SampleCandidate>& c, double temperature) {
        const double best = c.front().logit;
        double sum = 0;
        for (auto& x : c) sum += x.p = std::exp((x.logit - best) / temperature);
        for (auto& x : c) x.p /= sum;
    }

    SampleSettings s_;
    std::vector<SampleCandidate> sorted_;
};

// One column of Backend::sample's parameters (kSampleParamCount floats at p).
inline void writeSampleParams(float* p, const SampleSettings& s, float u) {
    p[kSampleTemperature] = s.temperature;
    p[kSampleTopK] = s.topK;
    p[kSampleTopP] = s.topP;
    p[kSampleMinP] = s.minP;
    p[kSampleUniform] = u;
}

// The input of a histogram check: n copies of one row of logits, row r drawn with u on an even
// grid, (r + 0.5) / n, so each id's frequency must match its probability to within 2 / n.
struct SampleGrid {
    std::vector<float> x;       // F32 {vocab, n}
    std::vector<float> params;  // F32 {kSampleParamCount, n}
};

inline SampleGrid sampleGrid(const std::vector<float>& logits, int64_t n, const SampleSettings& s) {
    const auto vocab = static_cast<int64_t>(logits.size());
    SampleGrid g{std::vector<float>(static_cast<size_t>(vocab * n)),
                 std::vector<float>(static_cast<size_t>(kSampleParamCount * n))};
    for (int64_t r = 0; r < n; ++r) {
        std::copy(logits.begin(), logits.end(), g.x.begin() + r * vocab);
        writeSampleParams(g.params.data() + r * kSampleParamCount, s,
                          (static_cast<float>(r) + 0.5f) / static_cast<float>(n));
    }
    return g;
}

}  // namespace hearth::testref
