// Picks the next token from a row of logits.
//
// Order of the steps (as llama.cpp's default chain): repetition / presence / frequency penalties
// over the last `repeatLastN` tokens, then — unless temperature is 0 (greedy) — top-k, top-p and
// min-p filtering on the untempered distribution, then temperature, then a draw. The random
// generator is our own (SplitMix64) so a seed gives the same tokens on every platform.
//
// Without penalties, Backend::sample draws from the same distribution on the device; Session
// uses it then (with u = nextUniform() per token) so only the token id reaches the host.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "inference/engine/engine.h"

namespace hearth {

class Sampler {
public:
    explicit Sampler(const SamplerSettings& settings);

    // `logits` is modified (penalties). `history` holds the previous tokens, oldest first.
    int32_t sample(std::span<float> logits, std::span<const int32_t> history);

    // The candidates left after penalties and filtering, with their probabilities after
    // temperature (sums to 1). Exposed for tests; sample() draws from exactly this.
    struct Candidate {
        int32_t id;
        float logit;
        double p;
    };
    std::vector<Candidate> distribution(std::span<float> logits, std::span<const int32_t> history);

    uint64_t seed() const { return seed_; }
    // [0, 1) in steps of 2^-24 (exactly representable as a float). sample() draws one per token.
    double nextUniform();

private:
    void applyPenalties(std::span<float> logits, std::span<const int32_t> history) const;

    SamplerSettings s_;
    uint64_t seed_;
    uint64_t state_;
};

}  // namespace hearth
