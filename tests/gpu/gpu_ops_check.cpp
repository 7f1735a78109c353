// Checks every op of a GPU backend against the CPU backend and a float64 reference, without Qt,
// so it builds and runs on the device machine (tests/gpu/run-on-device.sh). The tolerances follow
// tests/backends/backend_ops_test.cpp: matmul against float64 with the noise that activation
// quantization adds; the other ops against the CPU backend by normalised mean squared error.
// Outputs are poisoned with NaN first, so an element a kernel forgets to write fails. Weights
// go through Backend::prepareWeights as the engine's do (the CUDA backend rewrites Q4_0 / Q6_K
// rows into planar layouts there; HEARTH_CUDA_REPACK=0 checks the GGUF-layout kernels instead).
//
//   gpu_ops_check [device]      (default $HEARTH_TEST_DEVICE, else cuda:0); exit 0 = all passed
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "backends/registry.h"
#include "tests/backends/sample_reference.h"

using namespace hearth;

namespace {

const DType kWeightTypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0,
                              DType::Q4_1, DType::Q5_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

int failures = 0;
int checks = 0;
std::mt19937_64 rng;

void report(bool ok, const std::string& what, double value, double limit) {
    ++checks;
    if (!ok) ++failures;
    std::printf("%-4s %-70s %.3g (limit %.3g)\n", ok ? "ok" : "FAIL", what.c_str(), value, limit);
}

struct Dev {
    std::unique_ptr<Buffer> buffer;
    Tensor t;
};

size_t tensorBytes(DType type, const std::vector<int64_t>& ne) {
    Tensor t;
    t.type = type;
    for (size_t i = 0; i < ne.size(); ++i) t.ne[i] = ne[i];
    return t.bytes();
}

Dev make(Backend& be, DType type, std::vector<int64_t> ne, const void* data = nullptr) {
    Dev d;
    d.t.type = type;
    for (size_t i = 0; i < ne.size(); ++i) d.t.ne[i] = ne[i];
    d.buffer = be.allocate(d.t.bytes(), BufferUsage::Activations);
    d.t.buffer = d.buffer.get();
    if (data) {
        be.upload(d.t, data, d.t.bytes());
    } else {  // poison: NaN floats (0xFF bytes)
        std::vector<uint8_t> nan(d.t.bytes(), 0xFF);
        be.upload(d.t, nan.data(), nan.size());
    }
    return d;
}

// What the engine does once after loading: lets the backend rewrite the weights in place.
size_t prepare(Backend& be, std::initializer_list<Tensor> weights) {
    std::vector<Tensor> list(weights);
    return be.prepareWeights(list);
}

bool repackOff() {
    const char* e = std::getenv("HEARTH_CUDA_REPACK");
    return e && e[0] == '0';
}

template <class T>
std::vector<T> read(Backend& be, const Tensor& t) {
    std::vector<T> out(t.bytes() / sizeof(T));
    be.download(out.data(), t, t.bytes());
    return out;
}

std::vector<float> randomFloats(size_t n, float scale = 1.0f) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

double nmse(const std::vector<float>& got, const std::vector<float>& want) {
    double err = 0, ref = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
        err += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
        ref += double(want[i]) * want[i];
    }
    return ref > 0 ? err / ref : err;
}

void putHalf(uint8_t* p, float v) {
    f16_t h = f32ToF16(v);
    std::memcpy(p, &h, 2);
}

// Random weights of any supported type: random quants, sane scales (never NaN or huge).
// `scale` shrinks the weights (scales) for checks that chain many ops, where random full-size
// weights would grow the activations without bound.
std::vector<uint8_t> randomWeights(DType type, int64_t k, int64_t rows, float scale = 1.0f) {
    size_t bytes = tensorBytes(type, {k, rows});
    std::vector<uint8_t> w(bytes);
    size_t count = static_cast<size_t>(k * rows);
    if (type == DType::F32 || type == DType::F16 || type == DType::BF16) {
        auto f = randomFloats(count, 0.1f * scale);
        for (size_t i = 0; i < count; ++i) {
            if (type == DType::F32) std::memcpy(&w[4 * i], &f[i], 4);
            else if (type == DType::F16) putHalf(&w[2 * i], f[i]);
            else { bf16_t b = f32ToBf16(f[i]); std::memcpy(&w[2 * i], &b, 2); }
        }
        return w;
    }
    for (auto& b : w) b = static_cast<uint8_t>(rng());
    auto tr = *dtypeTraits(type);
    std::uniform_real_distribution<float> d(0.001f * scale, 0.02f * scale), m(-0.05f * scale, 0.05f * scale);
    // Blocks with a minimum get one that cancels their mean on average (as real weights, centred
    // on zero, have): at one column every row meets the same rounding errors of the input, so a
    // common offset in the weights gave every row the same error term, and the noise ratio below
    // then rested on one random draw (q4_1 / q5_k at n = 1 failed it now and then: 4.84x at seed
    // 3776628226; over seeds 1-8 the largest ratio of those types was 1.1-2.2x, now 1.0-1.4x).
    // Q4_1: d * q + m with q ~ 7.5 on average; Q4_K / Q5_K: d * sc * q - dmin * m with sc and m
    // ~ 31.5 and q ~ 7.5 (Q5_K: 15.5).
    for (size_t at = 0; at < bytes; at += tr.typeSize) {
        uint8_t* b = &w[at];
        const float dv = d(rng);
        switch (type) {
            case DType::Q4_1: putHalf(b, dv); putHalf(b + 2, -7.5f * dv + 0.1f * m(rng)); break;
            case DType::Q4_K: putHalf(b, dv); putHalf(b + 2, 7.5f * dv); break;
            case DType::Q5_K: putHalf(b, dv); putHalf(b + 2, 15.5f * dv); break;
            case DType::Q6_K: putHalf(b + 208, dv); break;
            default: putHalf(b, dv); break;  // Q4_0, Q5_0, Q8_0: d first
        }
    }
    return w;
}

// The weights as floats, through the CPU backend's embed (which its own suite checks).
std::vector<float> dequantize(Backend& cpu, DType type, const std::vector<uint8_t>& w, int64_t k, int64_t rows) {
    auto table = make(cpu, type, {k, rows}, w.data());
    std::vector<int32_t> ids(static_cast<size_t>(rows));
    for (int64_t i = 0; i < rows; ++i) ids[i] = static_cast<int32_t>(i);
    auto idt = make(cpu, DType::I32, {rows}, ids.data());
    auto out = make(cpu, DType::F32, {k, rows});
    cpu.embed(out.t, table.t, idt.t);
    return read<float>(cpu, out.t);
}

void checkMatmul(Backend& gpu, Backend& cpu) {
    struct Case { int64_t k, rows, n; bool bias; };
    // 3000 rows (6000 in the two projections): more row groups than the H100 holds blocks, so
    // each block of the persistent mat-vec grid walks several (one and two warps a row).
    const Case cases[] = {{256, 96, 1, false}, {512, 300, 3, true}, {1024, 257, 8, false}, {768, 130, 17, true},
                          {512, 200, 64, false}, {4096, 128, 1, false}, {256, 64, 130, true}, {2048, 512, 2, false},
                          {256, 3000, 1, true},
                          // rows of 8 Q6_K blocks and more: planar after prepareWeights; odd row
                          // counts; decode, a few columns, and prefill (tiled / BLAS)
                          {2048, 257, 1, true}, {4096, 33, 3, false}, {2048, 77, 20, true}};
    for (DType type : kWeightTypes) {
        for (const Case& c : cases) {
            auto w = randomWeights(type, c.k, c.rows);
            auto wd = dequantize(cpu, type, w, c.k, c.rows);
            auto x = randomFloats(static_cast<size_t>(c.k * c.n));
            auto bias = randomFloats(static_cast<size_t>(c.rows));
            auto wt = make(gpu, type, {c.k, c.rows}, w.data());
            prepare(gpu, {wt.t, wt.t});
            auto xt = make(gpu, DType::F32, {c.k, c.n}, x.data());
            auto bt = make(gpu, DType::F32, {c.rows}, bias.data());
            auto out = make(gpu, DType::F32, {c.rows, c.n});
            auto out2 = make(gpu, DType::F32, {c.rows, c.n});
            Projection p[2] = {{out.t, wt.t, c.bias ? bt.t : Tensor{}}, {out2.t, wt.t, Tensor{}}};
            gpu.matmul(xt.t, p);
            auto got = read<float>(gpu, out.t);
            auto got2 = read<float>(gpu, out2.t);
            bool quantized = dtypeTraits(type)->quantized;
            int64_t block = dtypeTraits(type)->blockSize;
            double err2 = 0, var2 = 0, worst = 0;
            bool elementsOk = true;
            for (int64_t col = 0; col < c.n; ++col) {
                std::vector<double> step(static_cast<size_t>(c.k), 0.0);
                const float* xc = &x[static_cast<size_t>(col * c.k)];
                if (quantized) {
                    for (int64_t b0 = 0; b0 < c.k; b0 += block) {
                        double amax = 0;
                        for (int64_t i = b0; i < b0 + block; ++i) amax = std::max(amax, double(std::fabs(xc[i])));
                        for (int64_t i = b0; i < b0 + block; ++i) step[i] = amax / 127.0;
                    }
                }
                for (int64_t r = 0; r < c.rows; ++r) {
                    double s = c.bias ? bias[r] : 0.0, var = 0, l1 = 0;
                    for (int64_t i = 0; i < c.k; ++i) {
                        double wv = wd[static_cast<size_t>(r * c.k + i)];
                        s += wv * xc[i];
                        l1 += std::fabs(wv * xc[i]);
                        var += wv * wv * step[i] * step[i] / 12.0;
                    }
                    size_t o = static_cast<size_t>(col * c.rows + r);
                    double diff = std::fabs(got[o] - s), tol = 8.0 * std::sqrt(var) + 1e-5 * l1 + 1e-6;
                    double s2 = s - (c.bias ? bias[r] : 0.0);
                    double diff2 = std::fabs(got2[o] - s2);
                    if (!(diff <= tol) || !(diff2 <= tol)) elementsOk = false;
                    worst = std::max(worst, std::max(diff, diff2) / tol);
                    err2 += diff * diff;
                    var2 += var + (1e-6 * l1) * (1e-6 * l1);
                }
            }
            std::string what = "matmul " + std::string(dtypeName(type)) + " k=" + std::to_string(c.k) + " rows=" +
                               std::to_string(c.rows) + " n=" + std::to_string(c.n) + (c.bias ? " +bias" : "");
            report(elementsOk, what + " worst/tol", worst, 1.0);
            if (c.rows * c.n >= 64) report(err2 / var2 < 3.0, what + " noise ratio", err2 / var2, 3.0);
        }
    }
}

void compare(const std::string& what, const std::vector<float>& got, const std::vector<float>& want, double limit) {
    double e = nmse(got, want);
    report(e < limit, what + " nmse", e, limit);
}

void checkEmbed(Backend& gpu, Backend& cpu) {
    for (DType type : kWeightTypes) {
        int64_t dim = 512, vocab = 100, n = 7;
        auto w = randomWeights(type, dim, vocab);
        std::vector<int32_t> ids(n);
        for (auto& id : ids) id = static_cast<int32_t>(rng() % vocab);
        auto want = dequantize(cpu, type, w, dim, vocab);
        std::vector<float> expect;
        for (int32_t id : ids) expect.insert(expect.end(), want.begin() + id * dim, want.begin() + (id + 1) * dim);
        auto table = make(gpu, type, {dim, vocab}, w.data());
        prepare(gpu, {table.t});
        auto idt = make(gpu, DType::I32, {n}, ids.data());
        auto out = make(gpu, DType::F32, {dim, n});
        gpu.embed(out.t, table.t, idt.t);
        compare("embed " + std::string(dtypeName(type)), read<float>(gpu, out.t), expect, 1e-12);
    }
}

// Runs `op` on both backends with the same inputs; compares the tensor `result` returns.
using OpFn = std::function<std::vector<float>(Backend&)>;
void both(const std::string& what, Backend& gpu, Backend& cpu, const OpFn& op, double limit) {
    compare(what, op(gpu), op(cpu), limit);
}

void checkSmallOps(Backend& gpu, Backend& cpu) {
    for (auto [d, rows] : {std::pair<int64_t, int64_t>{4096, 1}, {4096, 5}, {100, 3}, {2048, 64}}) {
        auto x = randomFloats(static_cast<size_t>(d * rows));
        auto w = randomFloats(static_cast<size_t>(d));
        both("rmsNorm d=" + std::to_string(d) + " rows=" + std::to_string(rows) + " (in place)", gpu, cpu,
             [&](Backend& be) {
                 auto xt = make(be, DType::F32, {d, rows}, x.data());
                 auto wt = make(be, DType::F32, {d}, w.data());
                 be.rmsNorm(xt.t, xt.t, wt.t, 1e-5f);
                 return read<float>(be, xt.t);
             }, 1e-11);
    }
    struct RopeCase { RopeStyle style; int64_t headDim; int rotary; int64_t heads, n; int start; float theta, scale; bool factors; };
    const RopeCase ropes[] = {{RopeStyle::Interleaved, 128, 128, 3, 5, 17, 500000.0f, 1.0f, true},
                              {RopeStyle::Neox, 64, 64, 2, 3, 1000, 1000000.0f, 1.0f, false},
                              {RopeStyle::Neox, 128, 64, 5, 7, 4090, 10000.0f, 0.25f, true},
                              {RopeStyle::Interleaved, 80, 32, 1, 2, 123, 10000.0f, 1.0f, false},
                              {RopeStyle::Interleaved, 128, 128, 32, 1, 100000, 500000.0f, 1.0f, false}};
    for (const auto& c : ropes) {
        auto x = randomFloats(static_cast<size_t>(c.headDim * c.heads * c.n));
        std::vector<int32_t> pos(c.n);
        for (int64_t i = 0; i < c.n; ++i) pos[i] = c.start + static_cast<int32_t>(3 * i);
        std::vector<float> factors(c.rotary / 2);
        std::uniform_real_distribution<float> f(1.0f, 8.0f);
        for (auto& v : factors) v = f(rng);
        both("rope " + std::string(c.style == RopeStyle::Neox ? "neox" : "interleaved") + " hd=" +
                 std::to_string(c.headDim) + " rot=" + std::to_string(c.rotary) + " pos=" + std::to_string(c.start),
             gpu, cpu, [&](Backend& be) {
                 auto xt = make(be, DType::F32, {c.headDim, c.heads, c.n}, x.data());
                 auto pt = make(be, DType::I32, {c.n}, pos.data());
                 auto ft = make(be, DType::F32, {c.rotary / 2}, factors.data());
                 RopeParams params;
                 params.style = c.style;
                 params.rotaryDims = c.rotary;
                 params.theta = c.theta;
                 params.positionScale = c.scale;
                 if (c.factors) params.freqFactors = ft.t;
                 be.rope(xt.t, pt.t, params);
                 return read<float>(be, xt.t);
             }, 1e-11);
    }
    for (int64_t n : {1000, 4097}) {
        auto a = randomFloats(n), b = randomFloats(n);
        both("siluMul n=" + std::to_string(n), gpu, cpu, [&](Backend& be) {
            auto at = make(be, DType::F32, {n}, a.data());
            auto bt = make(be, DType::F32, {n}, b.data());
            be.siluMul(at.t, at.t, bt.t);
            return read<float>(be, at.t);
        }, 1e-11);
        both("add n=" + std::to_string(n), gpu, cpu, [&](Backend& be) {
            auto at = make(be, DType::F32, {n}, a.data());
            auto bt = make(be, DType::F32, {n}, b.data());
            auto ot = make(be, DType::F32, {n});
            be.add(ot.t, at.t, bt.t);
            return read<float>(be, ot.t);
        }, 1e-13);
    }
    // argmax: exact, ties to the first index.
    int64_t vocab = 128256, rows = 3;
    auto x = randomFloats(static_cast<size_t>(vocab * rows));
    x[5000] = x[90000] = 100.0f;                 // tie in row 0
    x[vocab + vocab - 1] = 50.0f;                // last element of row 1
    x[2 * vocab] = std::nanf("");                // NaN first in row 2: skipped
    auto run = [&](Backend& be) {
        auto xt = make(be, DType::F32, {vocab, rows}, x.data());
        auto ot = make(be, DType::I32, {rows});
        be.argmax(ot.t, xt.t);
        return read<int32_t>(be, ot.t);
    };
    auto g = run(gpu), c = run(cpu);
    report(g == c && g[0] == 5000 && g[1] == vocab - 1 && g[2] != 0, "argmax vocab=128256 rows=3 (ties, last, NaN)",
           g == c ? 0 : 1, 0.5);
}

void checkAttention(Backend& gpu, Backend& cpu) {
    struct Case { int64_t hd, heads, kvHeads, n, ctx; int32_t start; DType cache; };
    const Case cases[] = {{128, 32, 8, 1, 512, 300, DType::F16},  {64, 4, 4, 5, 64, 10, DType::F32},
                          {128, 8, 2, 37, 128, 0, DType::F16},    {80, 6, 2, 3, 1000, 990, DType::F16},
                          {256, 4, 1, 1, 4096, 4000, DType::F32}, {128, 32, 8, 1, 4096, 5, DType::F16},
                          {128, 32, 8, 64, 512, 100, DType::F16},
                          // prefill (tiled tensor-core kernel): one head per kv head, two blocks;
                          // groups of 8 and 3; positions reaching the end of the cache
                          {64, 8, 8, 70, 256, 0, DType::F16},     {128, 32, 4, 100, 512, 400, DType::F16},
                          {96, 12, 4, 33, 160, 127, DType::F16},
                          // decode with a head size of no fixed-width CPU path, and GQA 7:1
                          {80, 4, 2, 1, 64, 37, DType::F32},      {64, 14, 2, 1, 64, 47, DType::F16}};
    for (const Case& c : cases) {
        auto kAll = randomFloats(static_cast<size_t>(c.hd * c.kvHeads * c.ctx));
        auto vAll = randomFloats(static_cast<size_t>(c.hd * c.kvHeads * c.ctx));
        auto q = randomFloats(static_cast<size_t>(c.hd * c.heads * c.n));
        std::vector<int32_t> all(c.ctx), pos(c.n);
        for (int64_t i = 0; i < c.ctx; ++i) all[i] = static_cast<int32_t>(i);
        for (int64_t i = 0; i < c.n; ++i) pos[i] = c.start + static_cast<int32_t>(i);
        float scale = 1.0f / std::sqrt(static_cast<float>(c.hd));
        both("storeKv+attention hd=" + std::to_string(c.hd) + " heads=" + std::to_string(c.heads) + "/" +
                 std::to_string(c.kvHeads) + " n=" + std::to_string(c.n) + " ctx=" + std::to_string(c.ctx) + " " +
                 std::string(dtypeName(c.cache)),
             gpu, cpu, [&](Backend& be) {
                 auto kc = make(be, c.cache, {c.hd, c.kvHeads, c.ctx});
                 auto vc = make(be, c.cache, {c.hd, c.kvHeads, c.ctx});
                 auto kt = make(be, DType::F32, {c.hd, c.kvHeads, c.ctx}, kAll.data());
                 auto vt = make(be, DType::F32, {c.hd, c.kvHeads, c.ctx}, vAll.data());
                 auto at = make(be, DType::I32, {c.ctx}, all.data());
                 be.storeKv(kc.t, vc.t, kt.t, vt.t, at.t);
                 auto qt = make(be, DType::F32, {c.hd, c.heads, c.n}, q.data());
                 auto pt = make(be, DType::I32, {c.n}, pos.data());
                 auto ot = make(be, DType::F32, {c.hd, c.heads, c.n});
                 be.attention(ot.t, qt.t, kc.t, vc.t, pt.t, scale);
                 return read<float>(be, ot.t);
             }, 1e-10);
    }
}

// A small decode step captured once and replayed with new ids must equal the eager result.
void checkGraph(Backend& gpu) {
    int64_t dim = 2048, vocab = 500;  // 8 Q6_K blocks a row: planar after prepareWeights
    auto table = randomWeights(DType::Q4_K, dim, vocab);
    auto w = randomWeights(DType::Q6_K, dim, vocab);
    auto norm = randomFloats(dim);
    auto tt = make(gpu, DType::Q4_K, {dim, vocab}, table.data());
    auto wt = make(gpu, DType::Q6_K, {dim, vocab}, w.data());
    prepare(gpu, {tt.t, wt.t});
    auto nt = make(gpu, DType::F32, {dim}, norm.data());
    int32_t first = 1;
    auto ids = make(gpu, DType::I32, {1}, &first);
    auto x = make(gpu, DType::F32, {dim, 1});
    auto logits = make(gpu, DType::F32, {vocab, 1});
    auto best = make(gpu, DType::I32, {1});
    auto step = [&] {
        gpu.embed(x.t, tt.t, ids.t);
        gpu.rmsNorm(x.t, x.t, nt.t, 1e-5f);
        Projection p{logits.t, wt.t, {}};
        gpu.matmul(x.t, {&p, 1});
        gpu.argmax(best.t, logits.t);
    };
    auto graph = gpu.capture(step);
    bool same = true;
    for (int32_t id : {3, 77, 499, 3}) {
        gpu.upload(ids.t, &id, 4);
        step();
        auto eager = read<float>(gpu, logits.t);
        auto eagerBest = read<int32_t>(gpu, best.t);
        std::vector<uint8_t> nan(logits.t.bytes(), 0xFF);
        gpu.upload(logits.t, nan.data(), nan.size());
        graph->run();
        auto replay = read<float>(gpu, logits.t);
        same = same && replay == eager && read<int32_t>(gpu, best.t) == eagerBest;
    }
    report(same, "graph capture + replay equals eager (4 ids)", same ? 0 : 1, 0.5);
}

// A whole Llama layer, twice (so the held-back residual add meets the next layer's norm), on
// both backends: checks the fused paths (add+norm+quantize, silu+quantize, rope+rope+storeKv).
void checkLayer(Backend& gpu, Backend& cpu, DType type, int64_t n) {
    const int64_t dim = 512, heads = 8, kvHeads = 2, hd = 64, ffn = 1024, ctx = 64;
    const float s = 0.1f;
    auto wq = randomWeights(type, dim, heads * hd, s), wk = randomWeights(type, dim, kvHeads * hd, s);
    auto wv = randomWeights(type, dim, kvHeads * hd, s), wo = randomWeights(type, heads * hd, dim, s);
    auto wg = randomWeights(type, dim, ffn, s), wu = randomWeights(type, dim, ffn, s), wd = randomWeights(type, ffn, dim, s);
    auto norm = randomFloats(dim);
    auto x0 = randomFloats(static_cast<size_t>(dim * n));
    std::vector<int32_t> pos(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(10 + i);
    auto run = [&](Backend& be) {
        auto q = make(be, type, {dim, heads * hd}, wq.data()), k = make(be, type, {dim, kvHeads * hd}, wk.data());
        auto v = make(be, type, {dim, kvHeads * hd}, wv.data()), o = make(be, type, {heads * hd, dim}, wo.data());
        auto g = make(be, type, {dim, ffn}, wg.data()), u = make(be, type, {dim, ffn}, wu.data());
        auto d = make(be, type, {ffn, dim}, wd.data()), nt = make(be, DType::F32, {dim}, norm.data());
        auto x = make(be, DType::F32, {dim, n}, x0.data()), xn = make(be, DType::F32, {dim, n});
        auto qt = make(be, DType::F32, {hd, heads, n}), kt = make(be, DType::F32, {hd, kvHeads, n});
        auto vt = make(be, DType::F32, {hd, kvHeads, n}), att = make(be, DType::F32, {hd, heads, n});
        auto tmp = make(be, DType::F32, {dim, n}), gt = make(be, DType::F32, {ffn, n}), ut = make(be, DType::F32, {ffn, n});
        std::vector<uint8_t> zeros(static_cast<size_t>(hd * kvHeads * ctx * 2), 0);
        auto kc = make(be, DType::F16, {hd, kvHeads, ctx}, zeros.data()), vc = make(be, DType::F16, {hd, kvHeads, ctx}, zeros.data());
        auto pt = make(be, DType::I32, {n}, pos.data());
        RopeParams rope;
        rope.rotaryDims = static_cast<int>(hd);
        for (int layer = 0; layer < 2; ++layer) {
            be.rmsNorm(xn.t, x.t, nt.t, 1e-5f);
            Projection qkv[3] = {{qt.t.reshaped(heads * hd, n), q.t, {}},
                                 {kt.t.reshaped(kvHeads * hd, n), k.t, {}},
                                 {vt.t.reshaped(kvHeads * hd, n), v.t, {}}};
            be.matmul(xn.t, qkv);
            be.rope(qt.t, pt.t, rope);
            be.rope(kt.t, pt.t, rope);
            be.storeKv(kc.t, vc.t, kt.t, vt.t, pt.t);
            be.attention(att.t, qt.t, kc.t, vc.t, pt.t, 0.125f);
            Projection po{tmp.t, o.t, {}};
            be.matmul(att.t.reshaped(heads * hd, n), {&po, 1});
            be.add(x.t, x.t, tmp.t);
            be.rmsNorm(xn.t, x.t, nt.t, 1e-5f);
            Projection gu[2] = {{gt.t, g.t, {}}, {ut.t, u.t, {}}};
            be.matmul(xn.t, gu);
            be.siluMul(gt.t, gt.t, ut.t);
            Projection pd{tmp.t, d.t, {}};
            be.matmul(gt.t, {&pd, 1});
            be.add(x.t, x.t, tmp.t);
        }
        return read<float>(be, x.t);
    };
    // Both backends quantize activations independently; through two layers of attention that
    // noise reaches ~2e-3 for Q8_0 (measured over 12 seeds). A wrong op gives ~1.
    compare("two llama layers " + std::string(dtypeName(type)) + " n=" + std::to_string(n), run(gpu), run(cpu),
            type == DType::F32 || type == DType::F16 ? 1e-7 : 5e-2);
}

// sample: the GPU and the CPU backend against the float64 reference of backend.h's distribution,
// each row with its own u; both must give the reference's pick (up to float rounding at a
// boundary, which the reference allows) and, away from ties, the same token as each other.
void checkSample(Backend& gpu, Backend& cpu) {
    struct Case { int64_t vocab; testref::SampleSettings s; bool coarse; float scale; };
    const Case cases[] = {
        {151936, {1.0f, 40, 0.95f, 0.05f}, false, 3.0f},  // the engine's defaults
        {128256, {0.7f, 1024, 1.0f, 0.0f}, false, 0.5f},  // the most candidates, a flat distribution
        {128256, {1e-6f, 50, 0.9f, 0.0f}, false, 3.0f},   // tiny temperature
        {32000, {1.0f, 1, 1.0f, 0.0f}, false, 3.0f},      // top_k 1
        {32000, {1.2f, 100, 1e-6f, 0.0f}, false, 3.0f},   // tiny top_p
        {32000, {1.0f, 300, 1.0f, 0.5f}, false, 0.5f},    // min_p makes the cut
        {50000, {0.0f, 40, 0.9f, 0.1f}, false, 3.0f},     // greedy
        {151936, {1.5f, 64, 0.9f, 0.0f}, true, 3.0f},     // equal logits at the top-k boundary
        {5000, {2.0f, 0, 0.99f, 0.01f}, true, 1.0f},      // top_k off: 1024, ties
        {3, {1.0f, 40, 1.0f, 0.0f}, false, 1.0f},         // fewer logits than k
    };
    // Under compute-sanitizer (100x slower, and racecheck tracks every shared access) fewer draws.
    const bool sanitizing = std::getenv("HEARTH_SANITIZE_RUN") != nullptr;
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    for (const Case& c : cases) {
        std::vector<double> us = {0.0, 1e-7, 0.5, 1.0 - 1.0 / 16777216};
        for (int i = 0; i < (sanitizing ? 0 : 28); ++i) us.push_back(std::floor(uniform(rng) * 16777216) / 16777216);
        const auto n = static_cast<int64_t>(us.size());
        auto x = randomFloats(static_cast<size_t>(c.vocab * n), c.scale);
        std::vector<float> params(static_cast<size_t>(kSampleParamCount * n));
        for (int64_t r = 0; r < n; ++r) {
            float* row = x.data() + r * c.vocab;
            if (c.coarse) for (int64_t i = 0; i < c.vocab; ++i) row[i] = std::round(row[i] * 2) / 2;
            if (c.vocab > 3) {
                row[c.vocab / 2] = -std::numeric_limits<float>::infinity();
                row[c.vocab / 3] = std::numeric_limits<float>::quiet_NaN();
            }
            testref::writeSampleParams(params.data() + r * kSampleParamCount, c.s,
                                       static_cast<float>(us[static_cast<size_t>(r)]));
        }
        auto run = [&](Backend& be) {
            auto xt = make(be, DType::F32, {c.vocab, n}, x.data());
            auto pt = make(be, DType::F32, {kSampleParamCount, n}, params.data());
            auto ot = make(be, DType::I32, {n});
            be.sample(ot.t, xt.t, pt.t);
            return read<int32_t>(be, ot.t);
        };
        auto g = run(gpu), k = run(cpu);
        int wrong = 0, differ = 0;
        for (int64_t r = 0; r < n; ++r) {
            testref::SampleReference ref(x.data() + r * c.vocab, c.vocab, c.s);
            const double u = us[static_cast<size_t>(r)];
            if (!ref.acceptable(g[r], u) || !ref.acceptable(k[r], u)) {
                ++wrong;
                std::printf("     row %lld u=%.9f: gpu %d cpu %d reference %d\n", static_cast<long long>(r), u, g[r], k[r],
                            ref.pick(u));
            }
            differ += g[r] != k[r];
        }
        char what[160];
        std::snprintf(what, sizeof what, "sample vocab=%lld t=%g top_k=%g top_p=%g min_p=%g%s (%lld u, %d differ)",
                      static_cast<long long>(c.vocab), c.s.temperature, c.s.topK, c.s.topP, c.s.minP,
                      c.coarse ? " ties" : "", static_cast<long long>(n), differ);
        report(wrong == 0 && differ <= 1, what, wrong, 0.5);
    }

    // Frequencies over an even grid of u equal the reference probabilities (within 2 steps).
    const int64_t vocab = 256, n = sanitizing ? 1024 : 8192;
    for (auto s : {testref::SampleSettings{0.8f, 100, 0.9f, 0.0f}, testref::SampleSettings{1.3f, 100, 1.0f, 0.3f}}) {
        auto logits = randomFloats(static_cast<size_t>(vocab), 0.5f);  // flat: many candidates survive min-p
        const testref::SampleGrid grid = testref::sampleGrid(logits, n, s);
        auto xt = make(gpu, DType::F32, {vocab, n}, grid.x.data());
        auto pt = make(gpu, DType::F32, {kSampleParamCount, n}, grid.params.data());
        auto ot = make(gpu, DType::I32, {n});
        gpu.sample(ot.t, xt.t, pt.t);
        std::vector<double> freq(static_cast<size_t>(vocab)), want(static_cast<size_t>(vocab));
        for (int32_t id : read<int32_t>(gpu, ot.t)) freq[static_cast<size_t>(std::clamp(id, 0, int32_t(vocab - 1)))] += 1.0 / n;
        auto dist = testref::SampleReference(logits.data(), vocab, s).distribution(s.topP, s.minP);
        for (const auto& c : dist) want[static_cast<size_t>(c.id)] = c.p;
        double worst = 0;
        for (int64_t i = 0; i < vocab; ++i) worst = std::max(worst, std::abs(freq[i] - want[i]) * n);
        report(worst <= 2 && dist.size() > 3,
               "sample histogram over " + std::to_string(n) + " u (" + std::to_string(dist.size()) + " candidates), worst in grid steps",
               worst, 2);
    }

    // Captured in a graph, it replays with the parameters uploaded before each run.
    const int64_t v = 151936;
    auto logits = randomFloats(static_cast<size_t>(v), 3.0f);
    auto xt = make(gpu, DType::F32, {v, 1}, logits.data());
    float p[kSampleParamCount] = {1.0f, 40, 0.95f, 0.0f, 0.5f};
    auto pt = make(gpu, DType::F32, {kSampleParamCount, 1}, p);
    auto ot = make(gpu, DType::I32, {1});
    auto graph = gpu.capture([&] { gpu.sample(ot.t, xt.t, pt.t); });
    bool same = true;
    for (float u : {0.01f, 0.3f, 0.77f, 0.999f}) {
        p[kSampleUniform] = u;
        gpu.upload(pt.t, p, sizeof p);
        gpu.sample(ot.t, xt.t, pt.t);
        int32_t eager = read<int32_t>(gpu, ot.t)[0];
        graph->run();
        same = same && read<int32_t>(gpu, ot.t)[0] == eager;
    }
    report(same, "sample in a captured graph replays with new parameters", same ? 0 : 1, 0.5);

    // Cost per call next to argmax (enqueued back to back, so launch gaps are included).
    if (!sanitizing) {
        auto best = make(gpu, DType::I32, {1});
        auto time = [&](const std::function<void()>& op) {
            for (int i = 0; i < 10; ++i) op();
            gpu.synchronize();
            auto t0 = std::chrono::steady_clock::now();
            const int reps = 200;
            for (int i = 0; i < reps; ++i) op();
            gpu.synchronize();
            return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / reps;
        };
        double us = time([&] { gpu.sample(ot.t, xt.t, pt.t); });
        double usArgmax = time([&] { gpu.argmax(best.t, xt.t); });
        p[kSampleTopK] = 1024;
        p[kSampleTemperature] = 0.7f;
        gpu.upload(pt.t, p, sizeof p);
        double usMax = time([&] { gpu.sample(ot.t, xt.t, pt.t); });
        std::printf("     sample vocab=151936: %.1f us per call at top_k 40, %.1f us at top_k 1024; argmax %.1f us\n",
                    us, usMax, usArgmax);
    }
}

// The planar layouts through row views, embed, a layer's worth of ops on one prepared buffer
// holding several tensors (as the engine's single weight buffer does), and the guards.
void checkPlanar(Backend& gpu, Backend& cpu) {
    bool off = repackOff();
    for (DType type : {DType::Q6_K, DType::Q4_0}) {
        std::string name(dtypeName(type));
        const int64_t k = 2048, rows = 301;
        // Two tensors in one buffer, the second at an offset, and a third whose rows are not a
        // multiple of 16 bytes (kept in the GGUF layout).
        const int64_t kc = type == DType::Q6_K ? 256 : 96;
        size_t bytesA = tensorBytes(type, {k, rows}), bytesB = tensorBytes(type, {k, 45});
        auto wa = randomWeights(type, k, rows), wb = randomWeights(type, k, 45);
        auto wc = randomWeights(type, kc, 10);
        std::vector<uint8_t> blob(wa);
        blob.insert(blob.end(), wb.begin(), wb.end());
        blob.insert(blob.end(), wc.begin(), wc.end());
        auto buffer = gpu.loadWeights(blob.data(), blob.size());
        Tensor ta{buffer.get(), 0, type, {k, rows, 1, 1}};
        Tensor tb{buffer.get(), bytesA, type, {k, 45, 1, 1}};
        Tensor tc{buffer.get(), bytesA + bytesB, type, {kc, 10, 1, 1}};
        size_t count = prepare(gpu, {ta, tb, tc, ta});  // ta twice, as tied embeddings come
        size_t want = off ? 0 : 2;
        report(count == want, "prepareWeights " + name + ": tensors rewritten", static_cast<double>(count),
               static_cast<double>(want));
        report(prepare(gpu, {ta, tb}) == 0, "prepareWeights " + name + " again rewrites nothing", 0, 0.5);

        auto da = dequantize(cpu, type, wa, k, rows);
        // Row views of the prepared tensor (rowRange) at decode, a few columns and prefill.
        for (auto [first, count2, n] : {std::tuple<int64_t, int64_t, int64_t>{100, 57, 1}, {0, 301, 3},
                                        {1, 129, 40}, {299, 2, 9}}) {
            auto x = randomFloats(static_cast<size_t>(k * n));
            auto xt = make(gpu, DType::F32, {k, n}, x.data());
            auto out = make(gpu, DType::F32, {count2, n});
            Projection p{out.t, ta.rowRange(first, count2), {}};
            gpu.matmul(xt.t, {&p, 1});
            std::vector<float> want2(static_cast<size_t>(count2 * n));
            for (int64_t col = 0; col < n; ++col)
                for (int64_t r = 0; r < count2; ++r) {
                    double acc = 0;
                    for (int64_t i = 0; i < k; ++i) acc += double(da[(first + r) * k + i]) * x[col * k + i];
                    want2[col * count2 + r] = static_cast<float>(acc);
                }
            // q8 activations leave ~1e-5; a misread layout gives ~1.
            compare("matmul " + name + " rows [" + std::to_string(first) + ", +" + std::to_string(count2) +
                        ") of a prepared tensor, n=" + std::to_string(n),
                    read<float>(gpu, out.t), want2, 1e-3);
        }
        // The second tensor of the buffer (offset bytesA), with a bias, through q/k/v-style grouping.
        auto db = dequantize(cpu, type, wb, k, 45);
        auto x = randomFloats(static_cast<size_t>(k));
        auto xt = make(gpu, DType::F32, {k, 1}, x.data());
        auto o1 = make(gpu, DType::F32, {45, 1}), o2 = make(gpu, DType::F32, {rows, 1});
        Projection pp[2] = {{o1.t, tb, {}}, {o2.t, ta, {}}};
        gpu.matmul(xt.t, pp);
        std::vector<float> w1(45), w2(static_cast<size_t>(rows));
        for (int64_t r = 0; r < 45; ++r)
            for (int64_t i = 0; i < k; ++i) w1[r] += db[r * k + i] * x[i];
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t i = 0; i < k; ++i) w2[r] += da[r * k + i] * x[i];
        compare("matmul " + name + " two prepared tensors of one buffer in one launch (1st)", read<float>(gpu, o1.t),
                w1, 1e-3);
        compare("matmul " + name + " two prepared tensors of one buffer in one launch (2nd)", read<float>(gpu, o2.t),
                w2, 1e-3);

        // embed from the prepared tensor, ids at both ends
        std::vector<int32_t> ids = {0, 300, 7, 150, 299, 1};
        auto idt = make(gpu, DType::I32, {6}, ids.data());
        auto eo = make(gpu, DType::F32, {k, 6});
        gpu.embed(eo.t, ta, idt.t);
        std::vector<float> expect;
        for (int32_t id : ids) expect.insert(expect.end(), da.begin() + id * k, da.begin() + (id + 1) * k);
        compare("embed " + name + " from a prepared tensor", read<float>(gpu, eo.t), expect, 1e-12);

        // The unrepackable third tensor still reads as GGUF.
        auto dc = dequantize(cpu, type, wc, kc, 10);
        std::vector<int32_t> idc = {9, 0};
        auto idct = make(gpu, DType::I32, {2}, idc.data());
        auto eco = make(gpu, DType::F32, {kc, 2});
        gpu.embed(eco.t, tc, idct.t);
        std::vector<float> expc(dc.begin() + 9 * kc, dc.begin() + 10 * kc);
        expc.insert(expc.end(), dc.begin(), dc.begin() + kc);
        compare("embed " + name + " of a tensor prepareWeights kept (k=" + std::to_string(kc) + ")",
                read<float>(gpu, eco.t), expc, 1e-12);

        if (!off) {
            bool threw = false;
            try {
                std::vector<uint8_t> junk(64);
                gpu.upload(ta, junk.data(), junk.size(), 3360);
            } catch (const BackendError& e) {
                threw = true;
                std::printf("     upload into a prepared weight: %s\n", e.what());
            }
            report(threw, "upload into a prepared " + name + " weight gives a BackendError", threw ? 0 : 1, 0.5);
            threw = false;
            try {
                Tensor half = ta;
                half.offset += ta.rowBytes() / 2;  // not on a row boundary
                half.ne[0] = k / 2;
                half.ne[1] = 4;
                auto o = make(gpu, DType::F32, {4, 1});
                auto xh = make(gpu, DType::F32, {k / 2, 1}, x.data());
                Projection ph{o.t, half, {}};
                gpu.matmul(xh.t, {&ph, 1});
                gpu.synchronize();
            } catch (const BackendError& e) {
                threw = true;
                std::printf("     view across rows of a prepared weight: %s\n", e.what());
            }
            report(threw, "a view of a prepared " + name + " weight off its rows gives a BackendError", threw ? 0 : 1,
                   0.5);
        }
    }
}

void checkErrors(Backend& gpu) {
    bool threw = false;
    std::string message;
    try {
        static const char dummy = 0;
        gpu.loadWeights(&dummy, size_t{1} << 50);  // refused before the host memory is read
    } catch (const BackendError& e) {
        threw = true;
        message = e.what();
    }
    std::printf("     loadWeights(1 PiB): %s\n", message.c_str());
    report(threw && message.find("GiB") != std::string::npos, "too-large model gives a BackendError with sizes",
           threw ? 0 : 1, 0.5);
    threw = false;
    try {
        auto x = make(gpu, DType::F32, {256, 1});
        auto w = make(gpu, DType::Q4_0, {512, 8});
        auto o = make(gpu, DType::F32, {8, 1});
        Projection p{o.t, w.t, {}};
        gpu.matmul(x.t, {&p, 1});
    } catch (const BackendError& e) {
        threw = true;
        std::printf("     mismatched matmul: %s\n", e.what());
    }
    report(threw, "mismatched shapes give a BackendError", threw ? 0 : 1, 0.5);
}

}  // namespace

int main(int argc, char** argv) {
    std::string device = argc > 1 ? argv[1] : (std::getenv("HEARTH_TEST_DEVICE") ? std::getenv("HEARTH_TEST_DEVICE") : "cuda:0");
    uint64_t seed = std::getenv("HEARTH_TEST_SEED") ? std::strtoull(std::getenv("HEARTH_TEST_SEED"), nullptr, 10)
                                                    : std::random_device{}();
    rng.seed(seed);
    BackendRegistry registry;
    std::unique_ptr<Backend> gpu, cpu;
    try {
        gpu = registry.open(device);
        cpu = registry.open("cpu");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gpu_ops_check: %s\n", e.what());
        return 1;
    }
    std::printf("gpu_ops_check: %s (%s, %s), seed %llu\n", gpu->device().id.c_str(), gpu->device().name.c_str(),
                gpu->device().computeCapability.c_str(), static_cast<unsigned long long>(seed));
    try {
        checkMatmul(*gpu, *cpu);
        checkEmbed(*gpu, *cpu);
        checkPlanar(*gpu, *cpu);
        checkSmallOps(*gpu, *cpu);
        checkAttention(*gpu, *cpu);
        // Q4_K is left out here: random 4-bit layers amplify the two backends' different
        // activation rounding (CPU: 256-blocks) chaotically (NMSE up to 0.5 on some seeds, fused
        // or not); its ops are checked one by one above against float64.
        for (DType t : {DType::F32, DType::F16, DType::Q8_0})
            for (int64_t n : {1, 3, 20}) checkLayer(*gpu, *cpu, t, n);
        checkGraph(*gpu);
        checkSample(*gpu, *cpu);
        checkErrors(*gpu);
    } catch (const std::exception& e) {
        std::printf("FAIL exception: %s\n", e.what());
        ++failures;
    }
    std::printf("gpu_ops_check: %d of %d checks failed (seed %llu)\n", failures, checks,
                static_cast<unsigned long long>(seed));
    return failures == 0 ? 0 : 1;
}
