// Backend::sample on the CPU: the distribution of backend.h step by step, in double. The GPU
// kernels (backends/cuda/sample.cu) are checked against it.
#include <algorithm>
#include <cmath>
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

int32_t sampleRow(const float* row, int64_t vocab, const float* params, std::vector<Candidate>& c) {
    const float temperature = params[kSampleTemperature];
    const bool greedy = !(temperature > 0.0f);
    c.clear();
    for (int64_t i = 0; i < vocab; ++i)
        if (std::isfinite(row[i])) c.push_back({row[i], static_cast<int32_t>(i)});
    if (c.empty()) return 0;
    const size_t k = std::min(c.size(), static_cast<size_t>(greedy ? 1 : clampTopK(params[kSampleTopK])));
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
    for (int64_t r = 0; r < n; ++r) o[r] = sampleRow(v + r * vocab, vocab, p + r * kSampleParamCount, scratch);
}

}  // namespace hearth::cpu
