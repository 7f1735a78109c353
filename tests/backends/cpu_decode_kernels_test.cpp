// The CPU backend's single-column (decode) kernels against its matrix kernels and a float64
// reference, on inputs chosen to expose what random ones hide: activations of one sign (every
// partial sum negative, or every one positive), the largest quants, and rows whose length leaves
// partial groups. Both kernels quantize the input the same way, so their integer sums are exact
// and they must agree to float rounding: a wrong sign extension or offset that stays inside the
// op suite's noise bound shows up here.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/kernels.h"
#include "tests/backends/reference_quants.h"

using namespace hearth;

namespace {

enum class Inputs { Mixed, Negative, Positive, Extreme };

std::vector<float> makeInputs(Inputs kind, size_t count, std::mt19937& rng) {
    std::normal_distribution<float> dist;
    std::vector<float> v(count);
    for (size_t i = 0; i < count; ++i) {
        float x = dist(rng);
        if (kind == Inputs::Negative) x = -std::fabs(x) - 0.1f;
        if (kind == Inputs::Positive) x = std::fabs(x) + 0.1f;
        if (kind == Inputs::Extreme) x = (i % 3 == 0) ? 4.0f : -4.0f;  // quants at both ends of their range
        v[i] = x;
    }
    return v;
}

const char* name(Inputs kind) {
    switch (kind) {
        case Inputs::Mixed:
            return "mixed";
        case Inputs::Negative:
            return "negative";
        case Inputs::Positive:
            return "positive";
        case Inputs::Extreme:
            return "extreme";
    }
    return "";
}

}  // namespace

class CpuDecodeKernelsTest : public QObject {
    Q_OBJECT

private slots:
    void decodeKernelsMatchMatrixKernelsAndReference() {
        std::mt19937 rng(7);
        int checked = 0;
        for (const cpu::KernelTable* table : cpu::availableKernels()) {
            for (DType type : {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q8_0, DType::Q4_K, DType::Q5_K,
                               DType::Q6_K}) {
                const auto id = static_cast<uint32_t>(type);
                if (!table->dot1[id]) continue;  // no decode kernel: matmul uses dot[] at n = 1 too
                for (int64_t k : {96, 256, 768, 800, 896, 2048, 4864}) {  // 96, 800: blocks after the last whole group
                    if (k % dtypeTraits(type)->blockSize != 0) continue;
                    for (Inputs wKind : {Inputs::Mixed, Inputs::Extreme, Inputs::Positive})
                        for (Inputs xKind :
                             {Inputs::Mixed, Inputs::Negative, Inputs::Positive, Inputs::Extreme}) {
                            checkRows(*table, type, k, wKind, xKind, rng);
                            if (QTest::currentTestFailed()) return;
                            ++checked;
                        }
                }
            }
        }
        if (checked == 0) QSKIP("this CPU runs no separate decode kernels");
        qInfo("%d cases", checked);
    }

    // The activation quantizers (SIMD where the CPU has it) against the definition: d = max|x| /
    // 127, q = x / d rounded to nearest, ties to even. Bit for bit, since every dot kernel's
    // exactness rests on it; the inputs include exact ties, an all-zero block and tiny values.
    void activationQuantizersMatchTheDefinition() {
        std::mt19937 rng(11);
        std::normal_distribution<float> dist;
        const int64_t k = 1024;
        std::vector<float> x(static_cast<size_t>(k));
        for (int round = 0; round < 20; ++round) {
            for (auto& v : x) v = dist(rng) * (round % 2 ? 1e-30f : 3.0f);
            for (int64_t i = 0; i < 32; ++i) x[static_cast<size_t>(64 + i)] = 0.0f;  // Q8A block 2
            // Block 0: max 127, so the quants are the values themselves; .5 steps make ties.
            for (int64_t i = 0; i < 32; ++i) x[static_cast<size_t>(i)] = i == 0 ? 127.0f : static_cast<float>(i) - 14.5f;
            auto quant = [](float v, float id) {
                return static_cast<int8_t>(std::clamp(static_cast<int>(std::nearbyint(v * id)), -127, 127));
            };
            std::vector<uint8_t> got(cpu::activationRowBytes(cpu::ActFormat::Q8A, k));
            cpu::quantizeActivation(cpu::ActFormat::Q8A, x.data(), got.data(), k);
            for (int64_t b = 0; b < k / kQK; ++b) {
                cpu::BlockQ8A want{};
                float amax = 0.0f;
                for (int64_t i = 0; i < kQK; ++i) amax = std::max(amax, std::fabs(x[static_cast<size_t>(b * kQK + i)]));
                want.d = amax / 127.0f;
                const float id = want.d > 0.0f ? 1.0f / want.d : 0.0f;
                int sum = 0;
                for (int64_t i = 0; i < kQK; ++i) sum += want.qs[i] = quant(x[static_cast<size_t>(b * kQK + i)], id);
                want.s = want.d * static_cast<float>(sum);
                QVERIFY2(std::memcmp(&want, got.data() + b * sizeof(cpu::BlockQ8A), sizeof want) == 0,
                         ("Q8A block " + std::to_string(b) + " of round " + std::to_string(round)).c_str());
            }
            // Q8N4 is the same blocks rearranged (kernels.h): per group of 4, dword 4L + b holds
            // quants 4L..4L+3 of block b, then 16+4L.., then -8 * each block's sum, the scales and
            // zero padding.
            std::vector<uint8_t> q8a = got;
            got.assign(cpu::activationRowBytes(cpu::ActFormat::Q8N4, k), 0xAA);
            cpu::quantizeActivation(cpu::ActFormat::Q8N4, x.data(), got.data(), k);
            for (int64_t g = 0; g < k / kQK / cpu::kDecodeGroup; ++g) {
                std::vector<uint8_t> want(cpu::kDecodeGroupBytes, 0);
                for (int b = 0; b < cpu::kDecodeGroup; ++b) {
                    cpu::BlockQ8A block;
                    std::memcpy(&block, q8a.data() + (g * cpu::kDecodeGroup + b) * sizeof block, sizeof block);
                    int32_t sum = 0;
                    for (int i = 0; i < kQK; ++i) sum += block.qs[i];
                    for (int lane = 0; lane < 4; ++lane) {
                        std::memcpy(want.data() + 16 * lane + 4 * b, block.qs + 4 * lane, 4);
                        std::memcpy(want.data() + 64 + 16 * lane + 4 * b, block.qs + 16 + 4 * lane, 4);
                    }
                    const int32_t offset = -8 * sum;
                    std::memcpy(want.data() + 128 + 4 * b, &offset, 4);
                    std::memcpy(want.data() + 144 + 4 * b, &block.d, 4);
                }
                QVERIFY2(std::memcmp(want.data(), got.data() + g * cpu::kDecodeGroupBytes, want.size()) == 0,
                         ("Q8N4 group " + std::to_string(g) + " of round " + std::to_string(round)).c_str());
            }
            got.assign(cpu::activationRowBytes(cpu::ActFormat::Q8K, k), 0);
            cpu::quantizeActivation(cpu::ActFormat::Q8K, x.data(), got.data(), k);
            for (int64_t b = 0; b < k / kQKK; ++b) {
                BlockQ8_K want{};
                float amax = 0.0f;
                for (int64_t i = 0; i < kQKK; ++i) amax = std::max(amax, std::fabs(x[static_cast<size_t>(b * kQKK + i)]));
                want.d = amax / 127.0f;
                const float id = want.d > 0.0f ? 1.0f / want.d : 0.0f;
                for (int64_t i = 0; i < kQKK; ++i) {
                    want.qs[i] = quant(x[static_cast<size_t>(b * kQKK + i)], id);
                    want.bsums[i / 16] = static_cast<int16_t>(want.bsums[i / 16] + want.qs[i]);
                }
                QVERIFY2(std::memcmp(&want, got.data() + b * sizeof(BlockQ8_K), sizeof want) == 0,
                         ("Q8K block " + std::to_string(b) + " of round " + std::to_string(round)).c_str());
            }
        }
    }

private:
    void checkRows(const cpu::KernelTable& table, DType type, int64_t k, Inputs wKind, Inputs xKind,
                   std::mt19937& rng) {
        // 8 + 3 rows for the multi-row kernels: paired steps, a whole 4-row step and single rows.
        const int64_t rows = 11;
        const auto w = makeInputs(wKind, static_cast<size_t>(rows * k), rng);
        const auto x = makeInputs(xKind, static_cast<size_t>(k), rng);
        const auto bytes = testref::quantize(type, w, rows, k);
        const auto wd = testref::dequantize(type, bytes.data(), rows, k);
        const size_t rowBytes = bytes.size() / static_cast<size_t>(rows);

        auto run = [&](int64_t n) {
            const auto [dot, format] = cpu::dotFor(table, type, n);
            std::vector<uint8_t> act(cpu::activationRowBytes(format, k) + 64);
            cpu::quantizeActivation(format, x.data(), act.data(), k);
            std::vector<float> out(static_cast<size_t>(rows));
            for (int64_t r = 0; r < rows; ++r)
                dot(k, bytes.data() + rowBytes * static_cast<size_t>(r), act.data(), act.size(), 1,
                    &out[static_cast<size_t>(r)]);
            return out;
        };
        const auto decode = run(1), matrix = run(cpu::kMaxCols);
        // The multi-row decode kernel, where there is one, on the same activations as dot1.
        std::vector<float> several(decode);
        if (const cpu::RowsDotFn rowsDot = table.rows1[static_cast<uint32_t>(type)]) {
            const auto format = cpu::dotFor(table, type, 1).act;
            std::vector<uint8_t> act(cpu::activationRowBytes(format, k) + 64);
            cpu::quantizeActivation(format, x.data(), act.data(), k);
            std::fill(several.begin(), several.end(), std::nanf(""));
            // Two runs of unequal length, so that the longer one's rest is covered too.
            const int64_t front = rows - rows / 3;
            rowsDot(k, rowBytes, {bytes.data(), front, several.data()},
                    {bytes.data() + rowBytes * static_cast<size_t>(front), rows - front, several.data() + front},
                    act.data());
        }
        const std::string what = std::string(table.name) + " " + std::string(dtypeName(type)) +
                                 " k=" + std::to_string(k) + " weights " + name(wKind) + ", inputs " +
                                 name(xKind);
        for (int64_t r = 0; r < rows; ++r) {
            double want = 0, l1 = 0;
            for (int64_t i = 0; i < k; ++i) {
                const double p = wd[static_cast<size_t>(r * k + i)] * x[static_cast<size_t>(i)];
                want += p;
                l1 += std::fabs(p);
            }
            const double got = decode[static_cast<size_t>(r)], other = matrix[static_cast<size_t>(r)];
            // Same quantized input, exact integer sums: only float rounding may differ.
            QVERIFY2(std::fabs(got - other) <= 2e-6 * l1 + 1e-6,
                     ("decode kernel " + std::to_string(got) + " vs matrix kernel " + std::to_string(other) +
                      ", " + what)
                         .c_str());
            QVERIFY2(std::fabs(got - several[static_cast<size_t>(r)]) <= 2e-6 * l1 + 1e-6,
                     ("decode kernel " + std::to_string(got) + " vs multi-row kernel " +
                      std::to_string(several[static_cast<size_t>(r)]) + ", " + what)
                         .c_str());
            // And both near the float64 truth (8-bit inputs: about 1 % of the absolute sum at worst).
            QVERIFY2(std::fabs(got - want) <= 0.02 * l1 + 1e-6,
                     ("decode kernel " + std::to_string(got) + " vs reference " + std::to_string(want) +
                      ", " + what)
                         .c_str());
        }
    }
};

QTEST_GUILESS_MAIN(CpuDecodeKernelsTest)
#include "cpu_decode_kernels_test.moc"
