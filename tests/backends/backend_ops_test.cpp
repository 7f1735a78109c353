// The op-level suite every backend runs: each op x data type x several shapes, on random inputs
// (a fresh seed per run, printed on failure; HEARTH_TEST_SEED repeats one), against a float64
// reference computed here from the dequantized inputs. Outputs are filled with NaN before each
// op, so an element the backend forgets to write fails the comparison.
//
// The device comes from $HEARTH_TEST_DEVICE (default "cpu"); on the CPU every kernel set this
// machine can run (scalar, avx2, avx512) is checked in turn.
#include <QtTest/QtTest>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "tests/backends/reference_quants.h"
#include "tests/backends/sample_reference.h"

using namespace hearth;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

const DType kWeightTypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0,
                              DType::Q4_1, DType::Q5_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

std::string deviceId() {
    const char* d = std::getenv("HEARTH_TEST_DEVICE");
    return d && *d ? d : "cpu";
}

uint64_t freshSeed() {
    if (const char* s = std::getenv("HEARTH_TEST_SEED"); s && *s) return std::strtoull(s, nullptr, 10);
    return std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32);
}

// Normalised mean squared error; NaN anywhere makes it infinite.
double nmse(const std::vector<float>& got, const std::vector<double>& want) {
    double err = 0, ref = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
        err += (got[i] - want[i]) * (got[i] - want[i]);
        ref += want[i] * want[i];
    }
    return ref > 0 ? err / ref : err;
}

// A device tensor with its buffer.
struct DeviceTensor {
    std::unique_ptr<Buffer> buffer;
    Tensor t;
};

}  // namespace

class BackendOpsTest : public QObject {
    Q_OBJECT

private:
    BackendRegistry registry_;
    std::unique_ptr<Backend> be_;
    std::mt19937_64 rng_;
    uint64_t seed_ = 0;
    std::string kernelSet_;  // CPU kernel set under test, for messages

    std::string where() const {
        return " [device " + deviceId() + (kernelSet_.empty() ? "" : " kernels " + kernelSet_) + ", seed " +
               std::to_string(seed_) + "]";
    }

    std::vector<float> randomFloats(size_t n, float scale = 1.0f) {
        std::normal_distribution<float> dist(0.0f, scale);
        std::vector<float> v(n);
        for (auto& x : v) x = dist(rng_);
        return v;
    }

    DeviceTensor make(DType type, std::initializer_list<int64_t> ne, const void* init = nullptr) {
        DeviceTensor d;
        int i = 0;
        for (auto e : ne) d.t.ne[i++] = e;
        d.t.type = type;
        d.buffer = be_->allocate(d.t.bytes(), BufferUsage::Activations);
        d.t.buffer = d.buffer.get();
        if (init) {
            be_->upload(d.t, init, d.t.bytes());
        } else if (type == DType::F32) {  // poison
            std::vector<float> nan(static_cast<size_t>(d.t.elements()), kNaN);
            be_->upload(d.t, nan.data(), d.t.bytes());
        } else {
            std::vector<uint8_t> junk(d.t.bytes(), 0xFF);  // NaN as f16, -1 as i32
            be_->upload(d.t, junk.data(), d.t.bytes());
        }
        return d;
    }

    template <class T>
    std::vector<T> read(const Tensor& t) {
        std::vector<T> v(t.bytes() / sizeof(T));
        be_->download(v.data(), t, t.bytes());
        return v;
    }

    // Runs `body` once per kernel set on the CPU (the AVX-512 set twice: with and without the AMX
    // prefill path), once elsewhere.
    template <class F>
    void forEachKernelSet(F body) {
        if (deviceId().rfind("cpu", 0) != 0) {
            body();
            return;
        }
        for (std::string set : {"scalar", "avx2", "avx512", "avx512+amx"}) {
            const bool amx = set == "avx512+amx";
            const std::string kernels = amx ? "avx512" : set;
            qputenv("HEARTH_CPU_KERNELS", kernels.c_str());
            qputenv("HEARTH_CPU_AMX", amx ? "1" : "0");
            be_ = registry_.open(deviceId(), {});
            bool present = false;
            for (const auto& f : be_->device().features) present |= f == "kernels:" + kernels;
            // The device description reports the best set; a lower one is used when asked for.
            kernelSet_ = set;
            if (set != "scalar" && !present && !hasKernelSet(kernels.c_str())) continue;
            if (amx && !hasFeature("amx_bf16")) continue;
            QVERIFY2(hasFeature("prefill:amx") == amx, ("the AMX path is not " + std::string(amx ? "on" : "off") + where()).c_str());
            body();
            if (QTest::currentTestFailed()) break;
        }
        qunsetenv("HEARTH_CPU_KERNELS");
        qunsetenv("HEARTH_CPU_AMX");
        kernelSet_.clear();
        be_ = registry_.open(deviceId(), {});
    }

    bool hasFeature(const char* f) {
        for (const auto& x : be_->device().features) if (x == f) return true;
        return false;
    }

    bool hasKernelSet(const char* set) {
        // The CPU device's features list the instruction sets; avx2 needs avx2+fma+f16c.
        auto has = [&](const char* f) {
            for (const auto& x : be_->device().features) if (x == f) return true;
            return false;
        };
        if (std::string(set) == "avx2") return has("avx2") && has("fma") && has("f16c");
        return has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512vnni");
    }

    // Several random projections sharing one input; checks each against float64.
    void checkMatmul(const std::vector<DType>& types, int64_t k, std::vector<int64_t> rows, int64_t n, bool bias) {
        auto x = randomFloats(static_cast<size_t>(k * n));
        auto xd = make(DType::F32, {k, n}, x.data());
        struct Weight {
            std::vector<uint8_t> bytes;
            std::unique_ptr<Buffer> buffer;
            DeviceTensor out, bias;
            std::vector<float> biasValues;
        };
        std::vector<Weight> ws(types.size());
        std::vector<Projection> projections;
        for (size_t p = 0; p < types.size(); ++p) {
            // Rows with different magnitudes, as real weight matrices have.
            auto w = randomFloats(static_cast<size_t>(k * rows[p]));
            std::uniform_real_distribution<float> scale(0.02f, 2.0f);
            for (int64_t r = 0; r < rows[p]; ++r) {
                float s = scale(rng_);
                for (int64_t i = 0; i < k; ++i) w[static_cast<size_t>(r * k + i)] *= s;
            }
            ws[p].bytes = testref::quantize(types[p], w, rows[p], k);
            ws[p].buffer = be_->loadWeights(ws[p].bytes.data(), ws[p].bytes.size());
            Tensor wt;
            wt.buffer = ws[p].buffer.get();
            wt.type = types[p];
            wt.ne[0] = k;
            wt.ne[1] = rows[p];
            ws[p].out = make(DType::F32, {rows[p], n});
            Projection proj{ws[p].out.t, wt, {}};
            if (bias) {
                ws[p].biasValues = randomFloats(static_cast<size_t>(rows[p]));
                ws[p].bias = make(DType::F32, {rows[p]}, ws[p].biasValues.data());
                proj.bias = ws[p].bias.t;
            }
            projections.push_back(proj);
        }
        be_->matmul(xd.t, projections);
        for (size_t p = 0; p < types.size(); ++p) {
            auto wd = testref::dequantize(types[p], ws[p].bytes.data(), rows[p], k);
            // The backend may quantize the input to 8 bits per block of the weight type (32, or 256
            // for the K-quants); rounding to that step adds an error of variance step^2/12 per
            // element. The bound allows that (8 sigma) for quantized weights and float rounding.
            const bool quantized = dtypeTraits(types[p])->quantized;
            const int64_t block = dtypeTraits(types[p])->blockSize;
            std::vector<double> step(x.size(), 0.0);
            if (quantized)
                for (size_t b0 = 0; b0 < x.size(); b0 += static_cast<size_t>(block)) {
                    double amax = 0;
                    for (size_t i = b0; i < b0 + static_cast<size_t>(block); ++i) amax = std::max(amax, double(std::fabs(x[i])));
                    for (size_t i = b0; i < b0 + static_cast<size_t>(block); ++i) step[i] = amax / 127.0;
                }
            std::vector<double> want(static_cast<size_t>(rows[p] * n)), sigma(want.size()), l1(want.size());
            for (int64_t c = 0; c < n; ++c)
                for (int64_t r = 0; r < rows[p]; ++r) {
                    double s = bias ? ws[p].biasValues[static_cast<size_t>(r)] : 0.0, var = 0, abs = 0;
                    for (int64_t i = 0; i < k; ++i) {
                        const size_t xi = static_cast<size_t>(c * k + i);
                        const double w = wd[static_cast<size_t>(r * k + i)];
                        s += w * x[xi];
                        abs += std::fabs(w * x[xi]);
                        var += w * w * step[xi] * step[xi] / 12.0;
                    }
                    const size_t o = static_cast<size_t>(c * rows[p] + r);
                    want[o] = s;
                    sigma[o] = std::sqrt(var);
                    l1[o] = abs;
                }
            auto got = read<float>(ws[p].out.t);
            const std::string what = std::string(dtypeName(types[p])) + " k=" + std::to_string(k) +
                                     " rows=" + std::to_string(rows[p]) + " n=" + std::to_string(n) +
                                     (bias ? " +bias" : "") + where();
            double err2 = 0, var2 = 0;
            for (size_t i = 0; i < got.size(); ++i) {
                const double diff = std::fabs(got[i] - want[i]);
                const double tol = 8.0 * sigma[i] + 1e-5 * l1[i] + 1e-6;
                if (!(diff <= tol))
                    QFAIL(("matmul element " + std::to_string(i) + ": " + std::to_string(got[i]) + " vs " +
                           std::to_string(want[i]) + " (tolerance " + std::to_string(tol) + ") " + what).c_str());
                err2 += diff * diff;
                var2 += sigma[i] * sigma[i] + (1e-6 * l1[i]) * (1e-6 * l1[i]);
            }
            // Over many elements the total error must also match the expected noise, which catches a
            // small systematic error that no single element shows.
            const double ratio = err2 / var2;
            if (std::getenv("HEARTH_TEST_VERBOSE")) qInfo("matmul error/expected %.3g %s", ratio, what.c_str());
            if (got.size() >= 64)
                QVERIFY2(ratio < 3.0, ("matmul error " + std::to_string(ratio) + "x the expected noise " + what).c_str());
        }
    }

    // siluMul and add on random inputs, sizes below, at and above the threading threshold.
    void elementwiseOnce() {
        for (int64_t n : {1, 37, 100003}) {  // the last one is split across threads
            for (bool inPlace : {false, true}) {
                auto a = randomFloats(static_cast<size_t>(n), 4.0f), b = randomFloats(static_cast<size_t>(n));
                auto at = make(DType::F32, {n}, a.data());
                auto bt = make(DType::F32, {n}, b.data());
                auto out = inPlace ? DeviceTensor{nullptr, at.t} : make(DType::F32, {n});
                be_->siluMul(out.t, at.t, bt.t);
                std::vector<double> want(a.size());
                for (size_t i = 0; i < a.size(); ++i) want[i] = a[i] / (1.0 + std::exp(-double(a[i]))) * b[i];
                double e = nmse(read<float>(out.t), want);
                QVERIFY2(e < 1e-11, ("siluMul n=" + std::to_string(n) + " NMSE " + std::to_string(e) + where()).c_str());

                auto at2 = make(DType::F32, {n}, a.data());
                auto out2 = inPlace ? DeviceTensor{nullptr, at2.t} : make(DType::F32, {n});
                be_->add(out2.t, at2.t, bt.t);
                for (size_t i = 0; i < a.size(); ++i) want[i] = double(a[i]) + b[i];
                e = nmse(read<float>(out2.t), want);
                QVERIFY2(e < 1e-13, ("add n=" + std::to_string(n) + " NMSE " + std::to_string(e) + where()).c_str());
            }
        }
    }

    // Rows of 40 and 100 end in a partial vector of 16 lanes.
    void rmsNormOnce() {
        for (int64_t d : {40, 64, 100, 896, 4096})
            for (int64_t rows : {1, 3, 7}) {
                for (bool inPlace : {false, true}) {
                    auto x = randomFloats(static_cast<size_t>(d * rows), 3.0f);
                    auto w = randomFloats(static_cast<size_t>(d));
                    auto xt = make(DType::F32, {d, rows}, x.data());
                    auto wt = make(DType::F32, {d}, w.data());
                    auto out = inPlace ? DeviceTensor{nullptr, xt.t} : make(DType::F32, {d, rows});
                    const float eps = 1e-5f;
                    be_->rmsNorm(out.t, xt.t, wt.t, eps);
                    std::vector<double> want(x.size());
                    for (int64_t r = 0; r < rows; ++r) {
                        double ss = 0;
                        for (int64_t i = 0; i < d; ++i) ss += double(x[r * d + i]) * x[r * d + i];
                        double inv = 1.0 / std::sqrt(ss / d + eps);
                        for (int64_t i = 0; i < d; ++i) want[r * d + i] = x[r * d + i] * inv * w[i];
                    }
                    double e = nmse(read<float>(out.t), want);
                    QVERIFY2(e < 1e-11, ("rmsNorm d=" + std::to_string(d) + " rows=" + std::to_string(rows) +
                                         (inPlace ? " in place" : "") + " NMSE " + std::to_string(e) + where()).c_str());
                }
            }
    }

private slots:
    void initTestCase() {
        seed_ = freshSeed();
        rng_.seed(seed_);
        qInfo("device %s, seed %llu", deviceId().c_str(), static_cast<unsigned long long>(seed_));
        try {
            be_ = registry_.open(deviceId(), {});
        } catch (const BackendError& e) {
            QFAIL(e.what());
        }
    }

    void matmulEveryType() {
        forEachKernelSet([&] {
            for (DType type : kWeightTypes) {
                // (k, rows, n): a single row, odd row counts, decode and prefill with leftover columns, and
                // k with whole interleave groups plus a remainder (the AVX-512 Q4_0 / Q4_K layouts), and
                // prefill shapes for AMX tiles of 16 rows x 16 tokens: whole tiles, odd tails of both,
                // an odd number of 32-element blocks (k = 768: 24, k = 1280: 40, k = 256 + 32 = 288:
                // for the 32-element types only, see below), and k over two AMX slices of 2048 plus a
                // remainder (the later slices add to the output, edge tiles included).
                const int64_t shapes[][3] = {{256, 1, 1}, {768, 37, 1}, {512, 64, 5}, {256, 7, 17}, {1024, 19, 4},
                                              {1280, 9, 3}, {2048, 5, 1}, {512, 32, 16}, {768, 37, 33},
                                              {1280, 21, 9}, {256, 48, 50}, {4352, 37, 33}};
                for (const auto& s : shapes) {
                    checkMatmul({type}, s[0], {s[1]}, s[2], false);
                    if (QTest::currentTestFailed()) return;
                }
            }
        });
    }

    void matmulSmallBlocks() {
        // The 32-element types and the float types also take rows shorter than a K-quant block.
        forEachKernelSet([&] {
            for (DType type : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0}) {
                checkMatmul({type}, 32, {3}, 1, false);
                checkMatmul({type}, 96, {5}, 6, false);
                checkMatmul({type}, 288, {17}, 19, false);  // 9 blocks: an odd one after the pairs
                if (QTest::currentTestFailed()) return;
            }
        });
    }

    void matmulSharedInputWithBias() {
        // q/k/v-like and gate/up-like groups: mixed types and sizes sharing one input.
        forEachKernelSet([&] {
            checkMatmul({DType::Q4_K, DType::Q6_K, DType::Q8_0}, 512, {64, 16, 16}, 1, true);
            checkMatmul({DType::Q4_0, DType::F16, DType::Q5_K}, 256, {33, 8, 21}, 9, true);
            checkMatmul({DType::Q4_1, DType::Q6_K, DType::Q5_0, DType::Q4_K}, 512, {40, 16, 24, 17}, 23, true);
        });
    }

    void moreThreadsThanCores() {
        // Work split across 3 and 1 threads must give the same kind of result (CPU: dynamic chunks,
        // a worker that is preempted mid-region); other backends ignore the thread count.
        for (int threads : {3, 1}) {
            BackendOptions options;
            options.threads = threads;
            be_ = registry_.open(deviceId(), options);
            checkMatmul({DType::Q4_0, DType::Q4_K}, 1024, {67, 45}, 6, true);
            checkMatmul({DType::Q8_0, DType::Q6_K}, 512, {67, 45}, 21, true);
            checkMatmul({DType::Q6_K}, 256, {300}, 1, false);
            if (QTest::currentTestFailed()) break;
        }
        be_ = registry_.open(deviceId(), {});
    }

    void matmulRejectsMismatch() {
        std::vector<uint8_t> bytes(static_cast<size_t>(2 * 256 / 256 * 144));
        auto w = be_->loadWeights(bytes.data(), bytes.size());
        Tensor wt;
        wt.buffer = w.get();
        wt.type = DType::Q4_K;
        wt.ne[0] = 256;
        wt.ne[1] = 2;
        auto x = make(DType::F32, {128, 1});
        auto out = make(DType::F32, {2, 1});
        Projection p{out.t, wt, {}};
        QVERIFY_THROWS_EXCEPTION(BackendError, be_->matmul(x.t, std::span<const Projection>(&p, 1)));
    }

    void embedEveryType() {
        for (DType type : kWeightTypes) {
            const int64_t dim = 512, vocab = 13;
            auto w = randomFloats(static_cast<size_t>(dim * vocab));
            auto bytes = testref::quantize(type, w, vocab, dim);
            auto table = be_->loadWeights(bytes.data(), bytes.size());
            Tensor tt;
            tt.buffer = table.get();
            tt.type = type;
            tt.ne[0] = dim;
            tt.ne[1] = vocab;
            std::vector<int32_t> ids = {12, 0, 5, 5, 7};
            auto idt = make(DType::I32, {static_cast<int64_t>(ids.size())}, ids.data());
            auto out = make(DType::F32, {dim, static_cast<int64_t>(ids.size())});
            be_->embed(out.t, tt, idt.t);
            auto ref = testref::dequantize(type, bytes.data(), vocab, dim);
            std::vector<double> want;
            for (int32_t id : ids) want.insert(want.end(), ref.begin() + id * dim, ref.begin() + (id + 1) * dim);
            double e = nmse(read<float>(out.t), want);
            QVERIFY2(e < 1e-12, ("embed " + std::string(dtypeName(type)) + " NMSE " + std::to_string(e) + where()).c_str());
        }
    }

    void rmsNorm() { forEachKernelSet([&] { rmsNormOnce(); }); }

    void rope() {
        struct Case { RopeStyle style; int64_t headDim; int rotary; int64_t heads, n; int32_t start; float theta, scale; bool factors; };
        const Case cases[] = {
            {RopeStyle::Interleaved, 64, 64, 4, 1, 0, 10000.0f, 1.0f, false},
            {RopeStyle::Interleaved, 128, 128, 3, 5, 17, 500000.0f, 1.0f, true},
            {RopeStyle::Neox, 64, 64, 2, 3, 1000, 1000000.0f, 1.0f, false},
            {RopeStyle::Neox, 128, 64, 5, 7, 4090, 10000.0f, 0.25f, true},  // partial rotary, linear scaling
            {RopeStyle::Interleaved, 80, 32, 1, 2, 123, 10000.0f, 1.0f, false},
            // Single tokens at one position, as a decode step calls it, with each parameter in
            // turn changed: a backend that keeps a position's angles must notice every change.
            {RopeStyle::Interleaved, 128, 128, 3, 1, 17, 500000.0f, 1.0f, true},
            {RopeStyle::Interleaved, 128, 128, 3, 1, 17, 500000.0f, 1.0f, true},  // other factor values
            {RopeStyle::Interleaved, 128, 128, 3, 1, 17, 500000.0f, 1.0f, false},
            {RopeStyle::Neox, 128, 64, 3, 1, 17, 500000.0f, 1.0f, false},
            {RopeStyle::Neox, 128, 64, 3, 1, 17, 10000.0f, 1.0f, false},
            {RopeStyle::Neox, 128, 64, 3, 1, 17, 10000.0f, 0.5f, false},
            {RopeStyle::Neox, 128, 64, 3, 1, 17, 10000.0f, 0.5f, false},
            {RopeStyle::Neox, 128, 64, 3, 1, 18, 10000.0f, 0.5f, false},
        };
        for (const auto& c : cases) {
            auto x = randomFloats(static_cast<size_t>(c.headDim * c.heads * c.n));
            std::vector<int32_t> pos(static_cast<size_t>(c.n));
            for (int64_t i = 0; i < c.n; ++i) pos[i] = c.start + static_cast<int32_t>(i * 3);  // not contiguous
            std::vector<float> factors(static_cast<size_t>(c.rotary / 2));
            std::uniform_real_distribution<float> f(1.0f, 8.0f);
            for (auto& v : factors) v = f(rng_);
            auto xt = make(DType::F32, {c.headDim, c.heads, c.n}, x.data());
            auto pt = make(DType::I32, {c.n}, pos.data());
            auto ft = make(DType::F32, {c.rotary / 2}, factors.data());
            RopeParams params;
            params.style = c.style;
            params.rotaryDims = c.rotary;
            params.theta = c.theta;
            params.positionScale = c.scale;
            if (c.factors) params.freqFactors = ft.t;
            be_->rope(xt.t, pt.t, params);
            std::vector<double> want(x.begin(), x.end());
            const int half = c.rotary / 2;
            for (int64_t t = 0; t < c.n; ++t)
                for (int64_t h = 0; h < c.heads; ++h)
                    for (int i = 0; i < half; ++i) {
                        double freq = std::pow(double(c.theta), -2.0 * i / c.rotary) / (c.factors ? factors[i] : 1.0);
                        double a = double(pos[t]) * c.scale * freq;
                        size_t base = static_cast<size_t>((t * c.heads + h) * c.headDim);
                        size_t i0 = base + (c.style == RopeStyle::Neox ? i : 2 * i);
                        size_t i1 = base + (c.style == RopeStyle::Neox ? i + half : 2 * i + 1);
                        want[i0] = x[i0] * std::cos(a) - x[i1] * std::sin(a);
                        want[i1] = x[i0] * std::sin(a) + x[i1] * std::cos(a);
                    }
            double e = nmse(read<float>(xt.t), want);
            QVERIFY2(e < 1e-11, ("rope headDim=" + std::to_string(c.headDim) + " rotary=" + std::to_string(c.rotary) +
                                 " start=" + std::to_string(c.start) + " NMSE " + std::to_string(e) + where()).c_str());
        }
    }

    void storeKv() { forEachKernelSet([&] { storeKvOnce(); }); }

    void storeKvOnce() {
        // ctx 12: one block of 12 positions where the CPU's AVX-512 kernels keep keys in blocks
        // of 16; 40: two whole blocks and one of 8.
        for (const int64_t ctx : {12, 40})
        for (DType cacheType : {DType::F16, DType::F32}) {
            const int64_t hd = 64, kvHeads = 2;
            std::vector<int32_t> pos = {7, 2, 9};
            if (ctx > 32) pos = {7, 2, 9, 16, 31, 33, 39};
            const int64_t n = static_cast<int64_t>(pos.size());
            auto k = randomFloats(static_cast<size_t>(hd * kvHeads * n));
            auto v = randomFloats(static_cast<size_t>(hd * kvHeads * n));
            // Values where a conversion to f16 may round wrongly: ties (to even), the largest
            // half and what overflows it, subnormals and what underflows, signed zero, infinity.
            const float edges[] = {1.0f + 0x1p-11f, 1.0f + 0x3p-11f, -(2.0f + 0x1p-10f), 65504.0f, 65519.0f, 65520.0f,
                                   -1e6f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f, 0x3p-25f, 1e-7f, -5e-8f, -0.0f,
                                   std::numeric_limits<float>::infinity()};
            std::copy(std::begin(edges), std::end(edges), k.begin() + 3);
            auto kc = make(cacheType, {hd, kvHeads, ctx});  // poisoned: untouched rows must stay so
            auto vc = make(cacheType, {hd, kvHeads, ctx});
            auto kt = make(DType::F32, {hd, kvHeads, n}, k.data());
            auto vt = make(DType::F32, {hd, kvHeads, n}, v.data());
            auto pt = make(DType::I32, {n}, pos.data());
            be_->storeKv(kc.t, vc.t, kt.t, vt.t, pt.t);
            // Read back through readKv: how the rows lie in the caches is the backend's own.
            const size_t row = static_cast<size_t>(hd * kvHeads), elems = static_cast<size_t>(ctx) * row;
            std::vector<char> kBytes(elems * 4), vBytes(elems * 4);
            be_->readKv(kBytes.data(), vBytes.data(), kc.t, vc.t, ctx);
            for (int which = 0; which < 2; ++which) {
                const auto& src = which ? v : k;
                const char* bytes = (which ? vBytes : kBytes).data();
                std::vector<float> got(elems);
                for (size_t i = 0; i < elems; ++i) {
                    if (cacheType == DType::F32) {
                        std::memcpy(&got[i], bytes + 4 * i, 4);
                    } else {
                        uint16_t bits;
                        std::memcpy(&bits, bytes + 2 * i, 2);
                        got[i] = f16ToF32(bits);
                    }
                }
                for (int64_t p = 0; p < ctx; ++p) {
                    int64_t token = -1;
                    for (int64_t i = 0; i < n; ++i) if (pos[i] == p) token = i;
                    for (size_t j = 0; j < row; ++j) {
                        float g = got[p * row + j];
                        if (token < 0) {
                            QVERIFY2(std::isnan(g), ("storeKv wrote cache row " + std::to_string(p) + " it was not given" + where()).c_str());
                        } else {
                            float want = src[token * row + j];
                            if (cacheType == DType::F16) want = f16ToF32(f32ToF16(want));
                            QVERIFY2(g == want && std::signbit(g) == std::signbit(want),
                                     ("storeKv row " + std::to_string(p) + " element " + std::to_string(j) + where()).c_str());
                        }
                    }
                }
            }
        }
    }

    void attention() {
        struct Case {
            int64_t hd, heads, kvHeads, n;
            int32_t start;
            int64_t ctx;
            DType cache;
            bool growing = false;
        };
        const Case cases[] = {
            {64, 4, 4, 1, 0, 8, DType::F16},      // first token sees only itself
            {64, 8, 2, 3, 70, 80, DType::F16},    // GQA 4:1, crosses a 64-row block
            {128, 6, 1, 1, 200, 256, DType::F16}, // multi-query, long row
            {80, 4, 2, 5, 5, 16, DType::F32},     // prefill chunk not starting at 0
            {64, 2, 1, 17, 0, 17, DType::F32},    // whole causal prefill
            // Prefill tiles of 64 query rows (AVX-512): GQA 7:1 leaves 9 tokens per tile and a tail;
            // 70 tokens cross three 64-row blocks of the cache, the first tile starting mid-block.
            {128, 14, 2, 20, 40, 64, DType::F16},
            {64, 4, 1, 70, 100, 200, DType::F16},
            {48, 3, 3, 33, 0, 40, DType::F32},
            // Decode (one token, AVX-512: 16 keys per vector): a head size with no fixed-width
            // path and an f32 cache; GQA 7:1 ending on a whole 16-key block; the largest head;
            // a long context whose running maximum is rescaled over many blocks; 3 kv heads at a
            // short context, which the CPU's threads split unevenly.
            {80, 4, 2, 1, 37, 40, DType::F32},
            {64, 6, 3, 1, 40, 48, DType::F16},
            {64, 14, 2, 1, 47, 64, DType::F16},
            {256, 8, 1, 1, 16, 32, DType::F16},
            {128, 8, 2, 1, 600, 640, DType::F16},
            // Keys that grow along the cache, so that the scores climb past the running maximum
            // by more than the decode kernel lets it lag (it rescales only then), decode and prefill.
            {64, 8, 2, 1, 600, 640, DType::F16, true},
            {64, 4, 1, 70, 100, 200, DType::F32, true},
            // More query heads to a kv head than a prefill tile holds (66): prefill takes the
            // generic path, which gathers key rows out of the AVX-512 kernels' blocks; decode takes
            // the heads 8 at a time and then 2. The caches end in a block of 8 positions.
            {64, 66, 1, 3, 10, 24, DType::F16},
            {64, 66, 1, 1, 20, 24, DType::F32},
        };
        forEachKernelSet([&] {
        for (const auto& c : cases) {
            auto q = randomFloats(static_cast<size_t>(c.hd * c.heads * c.n));
            const size_t cacheElems = static_cast<size_t>(c.hd * c.kvHeads * c.ctx);
            auto kf = randomFloats(cacheElems, 2.0f), vf = randomFloats(cacheElems);
            const size_t row = static_cast<size_t>(c.hd * c.kvHeads);  // elements per cache position
            if (c.growing)
                for (size_t i = 0; i < cacheElems; ++i) kf[i] *= 1.0f + static_cast<float>(i / row) / 8.0f;
            if (c.cache == DType::F16)  // the reference sees what the cache holds
                for (size_t i = 0; i < cacheElems; ++i) {
                    kf[i] = f16ToF32(f32ToF16(kf[i]));
                    vf[i] = f16ToF32(f32ToF16(vf[i]));
                }
            // The caches are filled by storeKv: how their rows lie is the backend's own.
            auto kc = make(c.cache, {c.hd, c.kvHeads, c.ctx});
            auto vc = make(c.cache, {c.hd, c.kvHeads, c.ctx});
            {
                auto ks = make(DType::F32, {c.hd, c.kvHeads, c.ctx}, kf.data());
                auto vs = make(DType::F32, {c.hd, c.kvHeads, c.ctx}, vf.data());
                std::vector<int32_t> all(static_cast<size_t>(c.ctx));
                for (int64_t t = 0; t < c.ctx; ++t) all[static_cast<size_t>(t)] = static_cast<int32_t>(t);
                auto at = make(DType::I32, {c.ctx}, all.data());
                be_->storeKv(kc.t, vc.t, ks.t, vs.t, at.t);
            }
            std::vector<int32_t> pos(static_cast<size_t>(c.n));
            for (int64_t i = 0; i < c.n; ++i) pos[i] = c.start + static_cast<int32_t>(i);
            auto qt = make(DType::F32, {c.hd, c.heads, c.n}, q.data());
            auto pt = make(DType::I32, {c.n}, pos.data());
            auto out = make(DType::F32, {c.hd, c.heads, c.n});
            const float scale = 1.0f / std::sqrt(static_cast<float>(c.hd));
            be_->attention(out.t, qt.t, kc.t, vc.t, pt.t, scale);
            std::vector<double> want(q.size());
            const int64_t group = c.heads / c.kvHeads;
            for (int64_t i = 0; i < c.n; ++i)
                for (int64_t h = 0; h < c.heads; ++h) {
                    const int64_t kvh = h / group;
                    std::vector<double> s(static_cast<size_t>(pos[i] + 1));
                    double mx = -1e300;
                    for (int64_t t = 0; t <= pos[i]; ++t) {
                        double dot = 0;
                        for (int64_t d = 0; d < c.hd; ++d)
                            dot += double(q[(i * c.heads + h) * c.hd + d]) * kf[(t * c.kvHeads + kvh) * c.hd + d];
                        s[t] = dot * scale;
                        mx = std::max(mx, s[t]);
                    }
                    double sum = 0;
                    for (auto& v : s) sum += (v = std::exp(v - mx));
                    for (int64_t d = 0; d < c.hd; ++d) {
                        double acc = 0;
                        for (int64_t t = 0; t <= pos[i]; ++t) acc += s[t] * vf[(t * c.kvHeads + kvh) * c.hd + d];
                        want[(i * c.heads + h) * c.hd + d] = acc / sum;
                    }
                }
            // Growing keys give scores in the hundreds, and a float score's rounding (~1e-5 of it
            // absolute) becomes the relative error of its weight: up to ~1e-10 NMSE on the scalar
            // path (seed 15401457118513227278: 1.5e-10). A missing rescale gives inf or NaN.
            const double tolerance = c.growing ? 1e-8 : 1e-10;
            double e = nmse(read<float>(out.t), want);
            const std::string what = "attention hd=" + std::to_string(c.hd) + " heads=" +
                                     std::to_string(c.heads) + "/" + std::to_string(c.kvHeads) +
                                     " n=" + std::to_string(c.n) + " start=" + std::to_string(c.start) +
                                     " NMSE " + std::to_string(e) + where();
            QVERIFY2(e < tolerance, what.c_str());
        }
        });
    }

    void elementwise() { forEachKernelSet([&] { elementwiseOnce(); }); }

    void argmax() {
        for (int64_t vocab : {1, 1000, 151936})
            for (int64_t n : {1, 3}) {
                auto x = randomFloats(static_cast<size_t>(vocab * n));
                std::vector<int32_t> want(static_cast<size_t>(n));
                for (int64_t r = 0; r < n; ++r) {
                    float* row = x.data() + r * vocab;
                    row[vocab / 3] = -std::numeric_limits<float>::infinity();
                    // NaN is skipped (row 1 starts with one); a row of nothing but NaN gives 0.
                    if (r == 1) row[0] = std::nanf("");
                    if (r == 2)
                        for (int64_t i = 0; i < vocab; ++i) row[i] = std::nanf("");
                    int64_t best = -1;
                    for (int64_t i = 0; i < vocab; ++i)
                        if (!std::isnan(row[i]) && (best < 0 || row[i] > row[best])) best = i;
                    if (best >= 0 && vocab > 10) row[vocab - 1] = row[best];  // a later tie: the first one wins
                    want[r] = static_cast<int32_t>(best < 0 ? 0 : best);
                }
                auto xt = make(DType::F32, {vocab, n}, x.data());
                auto out = make(DType::I32, {n});
                be_->argmax(out.t, xt.t);
                auto got = read<int32_t>(out.t);
                for (int64_t r = 0; r < n; ++r)
                    QVERIFY2(got[r] == want[r], ("argmax vocab=" + std::to_string(vocab) + " row " + std::to_string(r) +
                                                 ": " + std::to_string(got[r]) + " vs " + std::to_string(want[r]) + where()).c_str());
            }
    }

    // sample: each row with its own u against the float64 reference of backend.h's distribution:
    // u at 0 and just below 1, top_k 1, a tiny top_p, a tiny temperature, greedy, top_k off, ties
    // at the top-k boundary, fewer logits than k, and non-finite logits in every row.
    void sample() {
        struct Case {
            int64_t vocab;
            testref::SampleSettings s;
            bool coarse;  // logits rounded to 0.5: many equal values, also at the top-k boundary
            float scale = 3.0f;  // of the random logits: small = a flat distribution, many candidates
        };
        const Case cases[] = {
            {151936, {1.0f, 40, 0.95f, 0.05f}, false},  // the engine's defaults, Qwen's vocabulary
            {128256, {0.7f, 1024, 1.0f, 0.0f}, false},
            {128256, {1e-6f, 50, 0.9f, 0.0f}, false},
            {32000, {1.0f, 1, 1.0f, 0.0f}, false},
            {32000, {1.2f, 100, 1e-6f, 0.0f}, false},
            {32000, {1.0f, 200, 1.0f, 0.5f}, false, 0.5f},
            {32000, {0.9f, 300, 0.8f, 0.0f}, false, 0.5f},
            {50000, {0.0f, 40, 0.9f, 0.1f}, false},
            {5000, {1.0f, 0, 1.0f, 0.0f}, false, 0.3f},
            {5000, {2.0f, 300, 0.99f, 0.01f}, true},
            {151936, {1.5f, 64, 0.9f, 0.0f}, true},
            {7, {1.0f, 40, 1.0f, 0.0f}, false},
            {1, {1.0f, 40, 0.9f, 0.0f}, false},
        };
        std::uniform_real_distribution<double> uniform(0.0, 1.0);
        for (const Case& c : cases) {
            std::vector<double> us = {0.0, 1e-7, 0.5, 1.0 - 1.0 / 16777216};
            const int draws = c.vocab > 50000 ? 4 : 60;
            for (int i = 0; i < draws; ++i) us.push_back(std::floor(uniform(rng_) * 16777216) / 16777216);
            const auto n = static_cast<int64_t>(us.size());
            auto x = randomFloats(static_cast<size_t>(c.vocab * n), c.scale);
            for (int64_t r = 0; r < n; ++r) {
                float* row = x.data() + r * c.vocab;
                if (c.coarse) for (int64_t i = 0; i < c.vocab; ++i) row[i] = std::round(row[i] * 2) / 2;
                if (c.vocab > 3) {
                    row[c.vocab / 2] = -std::numeric_limits<float>::infinity();
                    row[c.vocab / 3] = kNaN;
                    row[c.vocab - 1] = std::numeric_limits<float>::infinity();  // not finite: never a candidate
                }
            }
            std::vector<float> params(static_cast<size_t>(kSampleParamCount * n));
            for (int64_t r = 0; r < n; ++r) {
                testref::writeSampleParams(params.data() + r * kSampleParamCount, c.s,
                                           static_cast<float>(us[static_cast<size_t>(r)]));
            }
            auto xt = make(DType::F32, {c.vocab, n}, x.data());
            auto pt = make(DType::F32, {kSampleParamCount, n}, params.data());
            auto out = make(DType::I32, {n});
            be_->sample(out.t, xt.t, pt.t);
            auto got = read<int32_t>(out.t);
            for (int64_t r = 0; r < n; ++r) {
                testref::SampleReference ref(x.data() + r * c.vocab, c.vocab, c.s);
                const double u = us[static_cast<size_t>(r)];
                QVERIFY2(ref.acceptable(got[r], u),
                         ("sample vocab=" + std::to_string(c.vocab) + " t=" + std::to_string(c.s.temperature) +
                          " top_k=" + std::to_string(c.s.topK) + " top_p=" + std::to_string(c.s.topP) + " min_p=" +
                          std::to_string(c.s.minP) + " u=" + std::to_string(u) + ": got " + std::to_string(got[r]) +
                          ", want " + std::to_string(ref.pick(u)) + where()).c_str());
            }
        }
        // A row without a finite logit gives 0.
        std::vector<float> bad(100, -std::numeric_limits<float>::infinity());
        bad[7] = kNaN;
        float p[kSampleParamCount] = {1.0f, 40, 0.9f, 0.0f, 0.5f};
        auto bt = make(DType::F32, {100, 1}, bad.data());
        auto pt = make(DType::F32, {kSampleParamCount, 1}, p);
        auto out = make(DType::I32, {1});
        be_->sample(out.t, bt.t, pt.t);
        QCOMPARE(read<int32_t>(out.t)[0], 0);
        auto wrong = make(DType::F32, {kSampleParamCount - 1, 1}, p);
        QVERIFY_THROWS_EXCEPTION(BackendError, be_->sample(out.t, bt.t, wrong.t));
    }

    // sample's frequencies over an even grid of u equal the reference probabilities: each
    // candidate is picked for a share of the grid within 2 steps of its probability. One setting
    // where top-p makes the cut, one where min-p does.
    void sampleHistogram_data() {
        QTest::addColumn<float>("temperature");
        QTest::addColumn<float>("topP");
        QTest::addColumn<float>("minP");
        QTest::newRow("top-p") << 0.8f << 0.9f << 0.0f;
        QTest::newRow("min-p") << 1.3f << 1.0f << 0.3f;
    }
    void sampleHistogram() {
        QFETCH(float, temperature);
        QFETCH(float, topP);
        QFETCH(float, minP);
        const int64_t vocab = 256, n = 8192;
        const testref::SampleSettings s{temperature, 100, topP, minP};
        auto logits = randomFloats(static_cast<size_t>(vocab), 0.5f);  // flat: many candidates survive min-p
        const testref::SampleGrid grid = testref::sampleGrid(logits, n, s);
        auto xt = make(DType::F32, {vocab, n}, grid.x.data());
        auto pt = make(DType::F32, {kSampleParamCount, n}, grid.params.data());
        auto out = make(DType::I32, {n});
        be_->sample(out.t, xt.t, pt.t);
        std::vector<double> freq(static_cast<size_t>(vocab));
        for (int32_t id : read<int32_t>(out.t)) {
            QVERIFY(id >= 0 && id < vocab);
            freq[static_cast<size_t>(id)] += 1.0 / n;
        }
        std::vector<double> want(static_cast<size_t>(vocab));
        auto dist = testref::SampleReference(logits.data(), vocab, s).distribution(s.topP, s.minP);
        QVERIFY(dist.size() > 3);  // the check means something only with a real choice
        for (const auto& c : dist) want[static_cast<size_t>(c.id)] = c.p;
        for (int64_t i = 0; i < vocab; ++i)
            QVERIFY2(std::abs(freq[i] - want[i]) <= 2.0 / n,
                     ("sample histogram id " + std::to_string(i) + ": frequency " + std::to_string(freq[i]) +
                      ", probability " + std::to_string(want[i]) + where()).c_str());
    }

    void badInputIsAnError() {
        // Out-of-range ids and positions are refused with a message, not a crash.
        std::vector<float> table(64 * 4, 1.0f);
        auto tt = make(DType::F32, {64, 4}, table.data());
        int32_t id = 4;
        auto idt = make(DType::I32, {1}, &id);
        auto out = make(DType::F32, {64, 1});
        if (deviceId().rfind("cpu", 0) == 0) {
            QVERIFY_THROWS_EXCEPTION(BackendError, be_->embed(out.t, tt.t, idt.t));
            auto kc = make(DType::F16, {64, 1, 4});
            auto kv = make(DType::F32, {64, 1, 1});
            int32_t p = 4;
            auto pt = make(DType::I32, {1}, &p);
            QVERIFY_THROWS_EXCEPTION(BackendError, be_->storeKv(kc.t, kc.t, kv.t, kv.t, pt.t));
        }
        QVERIFY_THROWS_EXCEPTION(BackendError, registry_.open("no-such-device:0"));
        QVERIFY_THROWS_EXCEPTION(BackendError, registry_.open("cpu:x"));
    }
};

QTEST_GUILESS_MAIN(BackendOpsTest)
#include "backend_ops_test.moc"
