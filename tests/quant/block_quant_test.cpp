// Block formats: Q8_0 / Q4_0 byte-identical to a plain transcription of the specification's
// reference formula; every type's round trip inside an error bound that fits its bit width; the
// K-quant scale search beats plain min/max rounding; mixture presets pick the ecosystem's types.
#include <QtTest>

#include <cmath>
#include <cstring>
#include <random>
#include <tuple>
#include <vector>

#include "models/quant/block_quant.h"
#include "models/quant/quant_preset.h"

using namespace hearth;

namespace {

// Independent f16 conversion (exact arithmetic in double, ties to even) so the test does not share
// the code under test.
uint16_t toHalf(float f) {
    const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
    const double a = std::fabs(static_cast<double>(f));
    if (std::isnan(f)) return sign | 0x7e00;
    if (a >= 65520.0) return sign | 0x7c00;  // halfway to 2^16 and beyond round to infinity
    if (a < std::ldexp(1.0, -14)) return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(a * std::ldexp(1.0, 24))));
    int e;
    double m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
    double q = std::nearbyint(std::ldexp(m, 11));  // 1.mantissa scaled to [1024, 2048]
    int exp = e - 1;
    if (q == 2048) {
        q = 1024;
        ++exp;
    }
    return static_cast<uint16_t>(sign | ((exp + 15) << 10) | static_cast<uint16_t>(q - 1024));
}

float fromHalf(uint16_t h) {
    int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
    return static_cast<float>((h & 0x8000) ? -v : v);
}

float roundToHalf(float f) { return fromHalf(toHalf(f)); }

// Q8_0 per the specification: d = max|x| / 127, q = round(x * (1/d)) (half away from zero).
std::vector<uint8_t> specQ8_0(const std::vector<float>& x) {
    std::vector<uint8_t> out;
    for (size_t b = 0; b < x.size(); b += 32) {
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b + j]));
        float d = amax / 127;
        float id = d ? 1.0f / d : 0.0f;
        uint16_t h = toHalf(d);
        out.push_back(static_cast<uint8_t>(h & 0xff));
        out.push_back(static_cast<uint8_t>(h >> 8));
        for (int j = 0; j < 32; ++j) out.push_back(static_cast<uint8_t>(static_cast<int8_t>(roundf(x[b + j] * id))));
    }
    return out;
}

// Q4_0 per the specification: d = (value of largest magnitude) / -8, q = min(15, trunc(x/d + 8.5)),
// element j in the low nibble of byte j, element j+16 in its high nibble.
std::vector<uint8_t> specQ4_0(const std::vector<float>& x) {
    std::vector<uint8_t> out;
    for (size_t b = 0; b < x.size(); b += 32) {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; ++j)
            if (amax < std::fabs(x[b + j])) {
                amax = std::fabs(x[b + j]);
                max = x[b + j];
            }
        float d = max / -8;
        float id = d ? 1.0f / d : 0.0f;
        uint16_t h = toHalf(d);
        out.push_back(static_cast<uint8_t>(h & 0xff));
        out.push_back(static_cast<uint8_t>(h >> 8));
        for (int j = 0; j < 16; ++j) {
            float x0 = x[b + j] * id, x1 = x[b + 16 + j] * id;
            int q0 = std::min(15, static_cast<int>(x0 + 8.5f));
            int q1 = std::min(15, static_cast<int>(x1 + 8.5f));
            out.push_back(static_cast<uint8_t>(q0 | (q1 << 4)));
        }
    }
    return out;
}

// Random rows with the features that break quantizers: outliers, zeros, all-equal blocks,
// all-negative blocks, tiny and huge magnitudes, exact ties at .5 steps.
std::vector<float> randomRow(std::mt19937& rng, size_t n, int variant) {
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> x(n);
    float scale = std::pow(10.f, static_cast<float>(variant % 7) - 3.f);
    for (auto& v : x) v = normal(rng) * scale;
    if (variant % 5 == 1) x[rng() % n] *= 40.f;                       // an outlier
    if (variant % 5 == 2) std::fill(x.begin(), x.begin() + 32, 0.f);   // a zero block
    if (variant % 5 == 3) std::fill(x.begin() + 32, x.begin() + 64, -0.75f);  // constant block
    if (variant % 5 == 4)
        for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(static_cast<int>(i % 17) - 8) * 0.5f;  // ties
    return x;
}

std::vector<uint8_t> quantize(DType t, const std::vector<float>& x) {
    std::vector<uint8_t> out(*dtypeRowBytes(t, x.size()));
    quant::quantizeRow(t, x.data(), out.data(), static_cast<int64_t>(x.size()));
    return out;
}

double rmse(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    return std::sqrt(s / static_cast<double>(a.size()));
}

std::vector<float> roundTrip(DType t, const std::vector<float>& x) {
    auto q = quantize(t, x);
    std::vector<float> y(x.size());
    quant::dequantizeRow(t, q.data(), y.data(), static_cast<int64_t>(x.size()));
    return y;
}


// ---- the reference K-quant search, transcribed with sequential sums (the reference's order) ----

int refNearest(float v) {
    float shifted = v + 12582912.f;
    int32_t bits;
    std::memcpy(&bits, &shifted, 4);
    return (bits & 0x007fffff) - 0x00400000;
}

float refFitScaleMin(int n, int nmax, const float* x, const float* w, uint8_t* L, float* negMin, float rmin,
                     float rdelta, int nstep) {
    uint8_t aux[32];
    float lo = x[0], hi = x[0], sumW = w[0], sumX = w[0] * x[0];
    for (int i = 1; i < n; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
        sumW += w[i];
        sumX += w[i] * x[i];
    }
    if (lo > 0) lo = 0;
    if (hi == lo) {
        std::fill(L, L + n, uint8_t{0});
        *negMin = -lo;
        return 0.f;
    }
    float iscale = nmax / (hi - lo), scale = 1 / iscale, best = 0, min = lo;
    for (int i = 0; i < n; ++i) {
        L[i] = static_cast<uint8_t>(std::clamp(refNearest(iscale * (x[i] - lo)), 0, nmax));
        float d = scale * L[i] + lo - x[i];
        best += w[i] * d * d;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (hi - lo);
        float sl = 0, sl2 = 0, sxl = 0;
        for (int i = 0; i < n; ++i) {
            int l = std::clamp(refNearest(iscale * (x[i] - lo)), 0, nmax);
            aux[i] = static_cast<uint8_t>(l);
            sl += w[i] * l;
            sl2 += w[i] * l * l;
            sxl += w[i] * l * x[i];
        }
        float det = sumW * sl2 - sl * sl;
        if (det <= 0) continue;
        float s = (sumW * sxl - sumX * sl) / det, m = (sl2 * sumX - sl * sxl) / det;
        if (m > 0) {
            m = 0;
            s = sxl / sl2;
        }
        float err = 0;
        for (int i = 0; i < n; ++i) {
            float d = s * aux[i] + m - x[i];
            err += w[i] * d * d;
        }
        if (err < best) {
            std::copy(aux, aux + n, L);
            best = err;
            scale = s;
            min = m;
        }
    }
    *negMin = -min;
    return scale;
}

// Reference Q4_K (nmax 15, rmin -1, 20 steps) / Q5_K (31, -0.5, 15) super-block, dequantized.
std::vector<float> refScaleMinBlock(const float* x, int nmax, float rmin, int nstep) {
    float scales[8], mins[8], w[32];
    uint8_t L[256];
    float maxScale = 0, maxMin = 0;
    for (int j = 0; j < 8; ++j) {
        float s2 = 0;
        for (int l = 0; l < 32; ++l) s2 += x[32 * j + l] * x[32 * j + l];
        float av = std::sqrt(s2 / 32);
        for (int l = 0; l < 32; ++l) w[l] = av + std::fabs(x[32 * j + l]);
        scales[j] = refFitScaleMin(32, nmax, x + 32 * j, w, L + 32 * j, &mins[j], rmin, 0.1f, nstep);
        maxScale = std::max(maxScale, scales[j]);
        maxMin = std::max(maxMin, mins[j]);
    }
    float invS = maxScale > 0 ? 63.f / maxScale : 0.f, invM = maxMin > 0 ? 63.f / maxMin : 0.f;
    float d = roundToHalf(maxScale / 63.f);
    float dmin = roundToHalf(maxMin / 63.f);
    std::vector<float> y(256);
    for (int j = 0; j < 8; ++j) {
        int ls = std::min(63, refNearest(invS * scales[j])), lm = std::min(63, refNearest(invM * mins[j]));
        float ds = d * ls, dm = dmin * lm;
        for (int i = 0; i < 32; ++i) {
            int l = ds != 0.f ? std::clamp(refNearest((x[32 * j + i] + dm) / ds), 0, nmax) : L[32 * j + i];
            y[32 * j + i] = ds * l - dm;
        }
    }
    return y;
}

// Reference Q6_K super-block (16 sub-blocks of 16, symmetric 6-bit, x²-weighted search), dequantized.
std::vector<float> refQ6KBlock(const float* x) {
    float scales[16];
    int L[256];
    float maxScale = 0, maxAbs = 0;
    for (int ib = 0; ib < 16; ++ib) {
        const float* xs = x + 16 * ib;
        float max = 0, amax = 0;
        for (int i = 0; i < 16; ++i)
            if (std::fabs(xs[i]) > amax) {
                amax = std::fabs(xs[i]);
                max = xs[i];
            }
        float scale = 0;
        if (amax >= 1e-15f) {
            auto fit = [&](float iscale, bool assign, float& slx, float& sl2) {
                slx = sl2 = 0;
                for (int i = 0; i < 16; ++i) {
                    int l = std::clamp(refNearest(iscale * xs[i]), -32, 31);
                    if (assign) L[16 * ib + i] = l + 32;
                    float w = xs[i] * xs[i];
                    slx += w * xs[i] * l;
                    sl2 += w * l * l;
                }
            };
            float slx, sl2;
            fit(-32 / max, true, slx, sl2);
            scale = slx / sl2;
            float best = scale * slx;
            for (int is = -9; is <= 9; ++is) {
                if (is == 0) continue;
                float iscale = -(32 + 0.1f * is) / max;
                fit(iscale, false, slx, sl2);
                if (sl2 > 0 && slx * slx > best * sl2) {
                    fit(iscale, true, slx, sl2);
                    scale = slx / sl2;
                    best = scale * slx;
                }
            }
        } else {
            for (int i = 0; i < 16; ++i) L[16 * ib + i] = 0;
        }
        scales[ib] = scale;
        if (std::fabs(scale) > maxAbs) {
            maxAbs = std::fabs(scale);
            maxScale = scale;
        }
    }
    std::vector<float> y(256, 0.f);
    if (maxAbs < 1e-15f) return y;
    float iscale = -128.f / maxScale;
    float d = roundToHalf(1 / iscale);
    for (int j = 0; j < 16; ++j) {
        int sc = std::min(127, refNearest(iscale * scales[j]));
        float ds = d * static_cast<float>(static_cast<int8_t>(sc));
        for (int i = 0; i < 16; ++i) {
            int q = ds != 0.f ? std::clamp(refNearest(x[16 * j + i] / ds), -32, 31) + 32 : L[16 * j + i];
            y[16 * j + i] = d * static_cast<float>(static_cast<int8_t>(sc)) * static_cast<float>(q - 32);
        }
    }
    return y;
}

quant::TensorDesc desc(std::string name, std::vector<uint64_t> shape) {
    return {std::move(name), std::move(shape), DType::F16};
}

}  // namespace

class BlockQuantTest : public QObject {
    Q_OBJECT
private slots:
    void q8_0MatchesSpecByteForByte() {
        std::mt19937 rng(1);
        for (int v = 0; v < 200; ++v) {
            auto x = randomRow(rng, 512, v);
            QCOMPARE(quantize(DType::Q8_0, x), specQ8_0(x));
        }
    }

    void q4_0MatchesSpecByteForByte() {
        std::mt19937 rng(2);
        for (int v = 0; v < 200; ++v) {
            auto x = randomRow(rng, 512, v);
            QCOMPARE(quantize(DType::Q4_0, x), specQ4_0(x));
        }
    }

    // Error of a b-bit type relative to the block's range: half a step, plus f16 scale rounding.
    void roundTripErrorBounds_data() {
        QTest::addColumn<int>("type");
        QTest::addColumn<double>("maxRelRmse");  // rmse / rms(x) for unit-normal data
        QTest::newRow("f16") << int(DType::F16) << 0.0005;
        QTest::newRow("bf16") << int(DType::BF16) << 0.004;
        QTest::newRow("q8_0") << int(DType::Q8_0) << 0.01;
        QTest::newRow("q6_k") << int(DType::Q6_K) << 0.04;
        QTest::newRow("q5_0") << int(DType::Q5_0) << 0.07;
        QTest::newRow("q5_1") << int(DType::Q5_1) << 0.07;
        QTest::newRow("q5_k") << int(DType::Q5_K) << 0.06;
        QTest::newRow("q4_0") << int(DType::Q4_0) << 0.14;
        QTest::newRow("q4_1") << int(DType::Q4_1) << 0.14;
        QTest::newRow("q4_k") << int(DType::Q4_K) << 0.12;
    }
    void roundTripErrorBounds() {
        QFETCH(int, type);
        QFETCH(double, maxRelRmse);
        auto t = static_cast<DType>(type);
        std::mt19937 rng(3);
        std::normal_distribution<float> normal(0.f, 1.f);
        std::vector<float> x(256 * 64);
        for (auto& v : x) v = normal(rng);
        auto y = roundTrip(t, x);
        double rel = rmse(x, y);
        QVERIFY2(rel < maxRelRmse, qPrintable(QString("relative rmse %1").arg(rel)));
        // The max error of a block type never exceeds one quantization step of its block.
        for (size_t i = 0; i < x.size(); ++i) QVERIFY(std::isfinite(y[i]));
        // Constant and zero rows survive (no division by zero, no NaN).
        std::vector<float> zeros(256, 0.f), consts(256, 0.3f);
        for (float v : roundTrip(t, zeros)) QCOMPARE(v, 0.f);
        for (float v : roundTrip(t, consts)) QVERIFY(std::fabs(v - 0.3f) < 0.02f);
    }

    // Our K search vectorises its sums; the reference sums sequentially. The two must agree on
    // nearly every weight, and where they differ (ties between candidate scales) the error must
    // be no worse in aggregate.
    void kQuantsFollowTheReferenceSearch() {
        std::mt19937 rng(5);
        for (auto [type, nmax, rmin, nstep] : {std::tuple{DType::Q4_K, 15, -1.f, 20}, std::tuple{DType::Q5_K, 31, -0.5f, 15},
                                               std::tuple{DType::Q6_K, 0, 0.f, 0}}) {
            size_t same = 0, total = 0;
            double errOurs = 0, errRef = 0;
            for (int v = 0; v < 60; ++v) {
                auto x = randomRow(rng, 256, v);
                auto ours = roundTrip(type, x);
                auto ref = type == DType::Q6_K ? refQ6KBlock(x.data()) : refScaleMinBlock(x.data(), nmax, rmin, nstep);
                for (size_t i = 0; i < 256; ++i) {
                    same += ours[i] == ref[i];
                    ++total;
                    errOurs += (ours[i] - x[i]) * (ours[i] - x[i]);
                    errRef += (ref[i] - x[i]) * (ref[i] - x[i]);
                }
            }
            double agree = double(same) / double(total);
            qInfo("%s: %.4f of weights equal to the sequential reference, error ratio %.5f",
                  std::string(dtypeName(type)).c_str(), agree, errOurs / errRef);
            QVERIFY2(agree > 0.99, qPrintable(QString("%1: only %2 of weights agree").arg(int(type)).arg(agree)));
            QVERIFY2(errOurs <= errRef * 1.01, qPrintable(QString("error %1 vs reference %2").arg(errOurs).arg(errRef)));
        }
    }

    void moreBitsMeanLessError() {
        std::mt19937 rng(4);
        std::normal_distribution<float> normal(0.f, 1.f);
        std::vector<float> x(256 * 32);
        for (auto& v : x) v = normal(rng);
        double q4 = rmse(x, roundTrip(DType::Q4_K, x)), q5 = rmse(x, roundTrip(DType::Q5_K, x));
        double q6 = rmse(x, roundTrip(DType::Q6_K, x)), q8 = rmse(x, roundTrip(DType::Q8_0, x));
        QVERIFY(q4 > q5 && q5 > q6 && q6 > q8);
        // The K-quant scale search must do better than the legacy min/max rounding of equal width.
        QVERIFY(q4 < rmse(x, roundTrip(DType::Q4_1, x)));
        QVERIFY(q5 < rmse(x, roundTrip(DType::Q5_1, x)));
    }

    void nonFiniteRowsAreDetected() {
        std::vector<float> x(64, 1.f);
        QVERIFY(quant::rowIsFinite(x.data(), 64));
        x[7] = std::nanf("");
        QVERIFY(!quant::rowIsFinite(x.data(), 64));
        x[7] = INFINITY;
        QVERIFY(!quant::rowIsFinite(x.data(), 64));
    }

    void q4_k_mMixtureFollowsTheLayerPattern() {
        auto preset = quant::presetFromName("Q4_K_M");
        QVERIFY(preset);
        QCOMPARE(preset->fileType, 15u);
        const int layers = 16;
        std::vector<quant::TensorDesc> ts = {desc("token_embd.weight", {512, 1000})};
        for (int l = 0; l < layers; ++l) {
            std::string p = "blk." + std::to_string(l) + ".";
            ts.push_back(desc(p + "attn_norm.weight", {512}));
            ts.push_back(desc(p + "attn_q.weight", {512, 512}));
            ts.push_back(desc(p + "attn_v.weight", {512, 128}));
            ts.push_back(desc(p + "ffn_down.weight", {1536, 512}));
        }
        ts.push_back(desc("output.weight", {512, 1000}));
        ts.push_back(desc("output_norm.weight", {512}));
        auto plan = quant::planTensorTypes(*preset, ts, layers);
        QCOMPARE(plan.front().type, DType::Q4_K);  // token_embd: base type when output exists
        QCOMPARE(plan[plan.size() - 2].type, DType::Q6_K);
        QCOMPARE(plan.back().type, DType::F32);
        // use_more_bits(i, 16): i < 2, i >= 14, or (i - 2) % 3 == 2.
        for (int l = 0; l < layers; ++l) {
            bool more = l < 2 || l >= 14 || (l - 2) % 3 == 2;
            size_t base = 1 + 4 * static_cast<size_t>(l);
            QCOMPARE(plan[base].type, DType::F32);
            QCOMPARE(plan[base + 1].type, DType::Q4_K);
            QCOMPARE(plan[base + 2].type, more ? DType::Q6_K : DType::Q4_K);
            QCOMPARE(plan[base + 3].type, more ? DType::Q6_K : DType::Q4_K);
        }
    }

    void tiedEmbeddingsGetTheOutputType() {
        auto plan = quant::planTensorTypes(*quant::presetFromName("q4_0"),
                                           {desc("token_embd.weight", {512, 1000}), desc("blk.0.attn_q.weight", {512, 512})}, 1);
        QCOMPARE(plan[0].type, DType::Q6_K);
        QCOMPARE(plan[1].type, DType::Q4_0);
        plan = quant::planTensorTypes(*quant::presetFromName("q8_0"), {desc("token_embd.weight", {512, 1000})}, 1);
        QCOMPARE(plan[0].type, DType::Q8_0);
    }

    void rowsThatDoNotFitFallBack() {
        auto p = *quant::presetFromName("q4_k_m");
        auto plan = quant::planTensorTypes(p, {desc("blk.0.attn_q.weight", {96, 96}), desc("blk.0.ffn_down.weight", {96, 64}),
                                               desc("blk.0.attn_k.weight", {100, 64}), desc("output.weight", {96, 10})}, 1);
        QCOMPARE(plan[0].type, DType::Q5_0);
        QVERIFY(!plan[0].fallbackNote.empty());
        QCOMPARE(plan[1].type, DType::Q8_0);  // wanted Q6_K
        QCOMPARE(plan[2].type, DType::F16);   // not even a multiple of 32
        QCOMPARE(plan[3].type, DType::Q8_0);
    }

    void overridesLikeTheEcosystemsQuantizeTool() {
        auto p = *quant::presetFromName("q4_k_m");
        std::vector<quant::TensorDesc> ts = {desc("token_embd.weight", {512, 1000}), desc("blk.0.attn_v.weight", {512, 128}),
                                             desc("blk.0.ffn_down.weight", {512, 512}), desc("output.weight", {512, 1000})};
        quant::PlanOverrides pure;
        pure.pure = true;
        auto plan = quant::planTensorTypes(p, ts, 1, pure);
        for (const auto& t : plan) QCOMPARE(t.type, DType::Q4_K);
        quant::PlanOverrides types;
        types.outputType = DType::Q8_0;
        types.embeddingType = DType::F16;
        plan = quant::planTensorTypes(p, ts, 1, types);
        QCOMPARE(plan[0].type, DType::F16);
        QCOMPARE(plan[1].type, DType::Q6_K);  // layer 0 of 1: more bits
        QCOMPARE(plan[3].type, DType::Q8_0);
        QCOMPARE(quant::tensorTypeFromName("Q6_K"), std::optional<DType>(DType::Q6_K));
        QVERIFY(!quant::tensorTypeFromName("iq2_xs"));
        QVERIFY(!quant::tensorTypeFromName("q4_k_m"));
    }

    void floatPresetsKeep1DInF32() {
        auto plan = quant::planTensorTypes(*quant::presetFromName("bf16"),
                                           {desc("blk.0.attn_q.weight", {64, 64}), desc("blk.0.attn_q.bias", {64})}, 1);
        QCOMPARE(plan[0].type, DType::BF16);
        QCOMPARE(plan[1].type, DType::F32);
        QVERIFY(!quant::presetFromName("q3_k_xl"));
    }
};

QTEST_APPLESS_MAIN(BlockQuantTest)
#include "block_quant_test.moc"
