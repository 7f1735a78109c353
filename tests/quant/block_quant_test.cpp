// Block formats: Q8_0 / Q4_0 byte-identical to a plain transcription of the specification's
// reference formula; every type's round trip inside an error bound that fits its bit width; the
// K-quant scale search beats plain min/max rounding; mixture presets pick the ecosystem's types.
#include <QtTest>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "models/quant/block_quant.h"
#include "models/quant/quant_preset.h"

using namespace hearth;

namespace {

// Independent f16 conversion (the compiler's, round to nearest even) so the test does not share
// the code under test.
uint16_t toHalf(float f) {
    _Float16 h = static_cast<_Float16>(f);
    uint16_t bits;
    std::memcpy(&bits, &h, 2);
    return bits;
}

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
