// Backend::sample on the CPU: the distribution of backend.h step by step, in double. The GPU
// kernels (backends/cuda/sample.cu) are checked against it.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"

namespace hearth::cpu {

namespace {

struct Candidate {
    float logit;
    int32_t id;
};

bool before(const Candidate& a, const Candidate& b) {
    return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
}

int clampTopK(float topK) {
    if (!(topK >= 1.0f) || topK > static_cast<float>(kSampleMaxTopK)) return kSampleMaxTopK;
    return static_cast<int>(topK);
}

// A lower bound of the k-th largest finite logit: the k-th largest of the maxima of up to 1024
// slices of the row (those k maxima are k logits >= it). Only the few logits at or above it can
// be candidates, so they are all that gets collected and sorted. -inf when there are fewer
// slices than k.
float candidateBound(const float* row, int64_t vocab, size_t k, std::vector<float>& maxima) {
    const int64_t slices = std::min<int64_t>(vocab, 1024);
    if (static_cast<int64_t>(k) > slices) return -std::numeric_limits<float>::infinity();
    maxima.assign(static_cast<size_t>(slices), -std::numeric_limits<float>::infinity());
    for (int64_t j = 0; j < slices; ++j) {
        float& m = maxima[static_cast<size_t>(j)];
        for (int64_t i = j * vocab / slices, end = (j + 1) * vocab / slices; i < end; ++i)
            if (std::isfinite(row[i]) && row[i] > m) m = row[i];
    }
    std::nth_element(maxima.begin(), maxima.begin() + static_cast<ptrdiff_t>(k - 1), maxima.end(), std::greater<>());
    return maxima[k - 1];
}

int32_t sampleRow(const float* row, int64_t vocab, const float* params, std::vector<Candidate>& c,
                  std::vector<float>& maxima) {
    const float temperature = params[kSampleTemperature];
    const bool greedy = !(temperature > 0.0f);
    const auto topK = static_cast<size_t>(greedy ? 1 : clampTopK(params[kSampleTopK]));
    const float bound = candidateBound(row, vocab, topK, maxima);
    c.clear();
    for (int64_t i = 0; i < vocab; ++i)
        if (std::isfinite(row[i]) && row[i] >= bound) c.push_back({row[i], static_cast<int32_t>(i)});
    if (c.empty()) return 0;
    const size_t k = std::min(c.size(), topK);
    std::partial_sort(c.begin(), c.begin() + static_cast<ptrdiff_t>(k), c.end(), before);
    if (greedy) return c.front().id;

    // Weights relative to the best candidate (weight 1), so min-p compares weights directly.
    const double best = c.front().logit;
    std::vector<double> w(k);
    double total = 0;
    for (size_t i = 0; i < k; ++i) total += w[i] = std::exp(double(c[i].logit) - best);
    size_t keep = k;
    if (const float topP = params[kSampleTopP]; topP < 1.0f) {
        double cum = 0;
        size_t n = 0;
        while (n < keep) {
            cum += w[n++];
            if (cum >= double(topP) * total) break;
        }
        keep = n;
    }
    if (const float minP = params[kSampleMinP]; minP > 0.0f) {
        size_t n = 1;
        while (n < keep && w[n] >= double(minP)) ++n;
        keep = n;
    }
    total = 0;
    for (size_t i = 0; i < keep; ++i) total += w[i] = std::exp((double(c[i].logit) - best) / temperature);
    const double target = double(params[kSampleUniform]) * total;
    double cum = 0;
    for (size_t i = 0; i < keep; ++i) {
        cum += w[i];
        if (target < cum) return c[i].id;
    }
    return c[keep - 1].id;
}

}  // namespace

void CpuBackend::sample(const Tensor& out, const Tensor& x, const Tensor& params) {
    const char* op = "sample";
    if (out.type != DType::I32 || x.type != DType::F32 || params.type != DType::F32)
        throw BackendError("cpu: sample: out must be i32, x and params f32");
    const int64_t vocab = x.ne[0], n = x.rows();
    if (out.elements() != n || params.ne[0] != kSampleParamCount || params.rows() != n)
        throw BackendError("cpu: sample: out must hold one id and params " + std::to_string(kSampleParamCount) +
                           " values per row of x (" + std::to_string(n) + " rows)");
    int32_t* o = data<int32_t>(out, op, "out");
    const float* v = data<const float>(x, op, "x");
    const float* p = data<const float>(params, op, "params");
    std::vector<Candidate> scratch;
    std::vector<float> maxima;
    for (int64_t r = 0; r < n; ++r) o[r] = sampleRow(v + r * vocab, vocab, p + r * kSampleParamCount, scratch, maxima);
}

}  // namespace hearth::cpu
