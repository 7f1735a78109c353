// The planar Q4_0 / Q6_K layouts the CUDA backend rewrites weights into (backends/cuda/
// weight_repack.h), checked on the host: the rewrite is a bijection on random blocks, every quant
// lands where the planar readers look, and repack::q6kQuad, the word arithmetic every device
// reader of planar Q6_K uses, gives the GGUF block's quants from the words each reader loads.
// Needs no GPU or CUDA.
#include <QtTest/QtTest>

#include <cstring>
#include <random>
#include <vector>

#include "backends/cuda/weight_repack.h"

using namespace hearth;
using namespace hearth::cuda;

namespace {

// GGUF Q6_K weights of one block the way the format describes them (ql, qh, scales, d), written
// independently of weight_repack.h: 2 halves of 128, each 32 columns l giving 4 weights.
std::vector<float> ggufQ6K(const uint8_t* b) {
    std::vector<float> y(256);
    f16_t dh;
    std::memcpy(&dh, b + 208, 2);
    float d = f16ToF32(dh);
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    for (int half = 0; half < 2; ++half) {
        const uint8_t* ql = b + 64 * half;
        const uint8_t* qh = b + 128 + 32 * half;
        for (int l = 0; l < 32; ++l) {
            int q[4] = {(ql[l] & 0xF) | ((qh[l] & 3) << 4), (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4),
                        (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4), (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)};
            for (int j = 0; j < 4; ++j) {
                int i = 128 * half + 32 * j + l;
                y[i] = d * sc[i / 16] * (q[j] - 32);
            }
        }
    }
    return y;
}

std::vector<uint8_t> randomBytes(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    for (size_t at = 208; at + 2 <= n; at += 210) {  // Q6_K d: finite halves (callers reuse for Q4_0)
        f16_t h = f32ToF16(0.01f * static_cast<float>(rng() % 100 + 1));
        std::memcpy(&v[at], &h, 2);
    }
    return v;
}

uint32_t word(const uint8_t* p) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
}

}  // namespace

class WeightRepackTest : public QObject {
    Q_OBJECT

private slots:
    void whichRowsAreRewritten() {
        QVERIFY(repack::repackable(DType::Q6_K, 2048));    // 8 blocks: 1680 bytes
        QVERIFY(repack::repackable(DType::Q6_K, 14336));
        QVERIFY(!repack::repackable(DType::Q6_K, 256));    // 210 bytes
        QVERIFY(!repack::repackable(DType::Q6_K, 3072));   // 12 blocks: 2520 bytes
        QVERIFY(repack::repackable(DType::Q4_0, 256));     // 144 bytes
        QVERIFY(!repack::repackable(DType::Q4_0, 96));
        QVERIFY(!repack::repackable(DType::Q4_0, 100));    // not whole blocks
        QVERIFY(!repack::repackable(DType::Q4_K, 4096));
        QVERIFY(!repack::repackable(DType::F16, 4096));
    }

    void typeTags() {
        QCOMPARE(fileType(kQ6_KPlanar), DType::Q6_K);
        QCOMPARE(fileType(kQ4_0Planar), DType::Q4_0);
        QCOMPARE(planarType(DType::Q6_K), kQ6_KPlanar);
        QCOMPARE(planarType(DType::Q4_K), DType::Q4_K);
        QVERIFY(isPlanar(kQ4_0Planar) && !isPlanar(DType::Q4_0));
        QVERIFY(!dtypeTraits(kQ6_KPlanar).has_value());  // never a GGUF id
        QCOMPARE(weightRowBytes(kQ6_KPlanar, 4096), size_t{3360});
        QCOMPARE(weightRowBytes(kQ4_0Planar, 4096), size_t{2304});
    }

    void q6kRoundTripAndValues() {
        for (int64_t nb : {8, 16, 56}) {
            auto gguf = randomBytes(static_cast<size_t>(210 * nb), static_cast<uint64_t>(nb));
            std::vector<uint8_t> row(gguf.size(), 0xAA), back(210);
            for (int64_t b = 0; b < nb; ++b) repack::packQ6K(&gguf[210 * b], row.data(), nb, b);
            // Same bytes, moved: every plane starts 16-byte aligned in a 16-aligned row.
            QCOMPARE(repack::q6kQh(nb, 0) % 16, int64_t{0});
            QCOMPARE(repack::q6kScales(nb, 0) % 16, int64_t{0});
            QCOMPARE(repack::q6kD(nb, 0) % 16, int64_t{0});
            QCOMPARE(repack::q6kD(nb, nb), 210 * nb);
            for (int64_t b = 0; b < nb; ++b) {
                repack::unpackQ6K(row.data(), nb, b, back.data());
                QVERIFY2(std::memcmp(back.data(), &gguf[210 * b], 210) == 0, "Q6_K block changed by pack + unpack");
                auto want = ggufQ6K(&gguf[210 * b]);
                f16_t dh;
                std::memcpy(&dh, &row[repack::q6kD(nb, b)], 2);
                const auto* sc = reinterpret_cast<const int8_t*>(&row[repack::q6kScales(nb, b)]);
                for (int i = 0; i < 256; ++i) {
                    float got = f16ToF32(dh) * sc[i / 16] * (repack::q6kPlanarQuant(row.data(), nb, b, i) - 32);
                    if (got != want[i]) {
                        QFAIL(qPrintable(QString("Q6_K block %1 weight %2: %3 vs %4").arg(b).arg(i).arg(got).arg(want[i])));
                    }
                }
            }
        }
    }

    // The device readers' words: the mat-vec and dequant32 load a group's 16 ql bytes and 8 qh
    // bytes whole; the prefill dequantizer (8 weights a thread, part p of the group) loads ql
    // words 2 (p % 2) and + 1 and both qh words. q6kQuad must give the GGUF quants from either.
    void q6kReaderWords() {
        const int64_t nb = 8;
        auto gguf = randomBytes(210 * nb, 7);
        std::vector<uint8_t> row(gguf.size());
        for (int64_t b = 0; b < nb; ++b) repack::packQ6K(&gguf[210 * b], row.data(), nb, b);
        for (int64_t b = 0; b < nb; ++b) {
            const uint8_t* block = &gguf[210 * b];
            for (int t = 0; t < 8; ++t) {
                const uint8_t* ql = &row[repack::q6kQl(b) + 16 * t];
                const uint8_t* qh = &row[repack::q6kQh(nb, b) + 8 * t];
                for (int j = 0; j < 8; ++j) {
                    uint32_t quad = repack::q6kQuad(word(ql + 4 * (j % 4)), word(qh + 4 * (j % 2)), j);
                    for (int e = 0; e < 4; ++e) {
                        QCOMPARE(static_cast<int>((quad >> (8 * e)) & 0xFF), repack::q6kGgufQuant(block, 32 * t + 4 * j + e));
                    }
                }
                for (int part = 0; part < 4; ++part) {
                    const uint8_t* qlPart = ql + 8 * (part % 2);
                    for (int h = 0; h < 2; ++h) {
                        uint32_t quad = repack::q6kQuad(word(qlPart + 4 * h), word(qh + 4 * h), 2 * part + h);
                        for (int e = 0; e < 4; ++e) {
                            QCOMPARE(static_cast<int>((quad >> (8 * e)) & 0xFF),
                                     repack::q6kGgufQuant(block, 32 * t + 8 * part + 4 * h + e));
                        }
                    }
                }
            }
        }
    }

    void q40RoundTrip() {
        for (int64_t nb : {8, 64, 448}) {
            auto gguf = randomBytes(static_cast<size_t>(18 * nb), static_cast<uint64_t>(100 + nb));
            std::vector<uint8_t> row(gguf.size(), 0x55), back(18);
            for (int64_t b = 0; b < nb; ++b) repack::packQ40(&gguf[18 * b], row.data(), nb, b);
            QCOMPARE(repack::q40D(nb, 0) % 16, int64_t{0});
            QCOMPARE(repack::q40D(nb, nb), 18 * nb);
            for (int64_t b = 0; b < nb; ++b) {
                repack::unpackQ40(row.data(), nb, b, back.data());
                QVERIFY2(std::memcmp(back.data(), &gguf[18 * b], 18) == 0, "Q4_0 block changed by pack + unpack");
                // The planar reader: quant byte i of block b holds weights i and i + 16.
                for (int i = 0; i < 16; ++i) QCOMPARE(row[repack::q40Qs(b) + i], gguf[18 * b + 2 + i]);
                QCOMPARE(std::memcmp(&row[repack::q40D(nb, b)], &gguf[18 * b], 2), 0);
            }
        }
    }
};

QTEST_GUILESS_MAIN(WeightRepackTest)
#include "weight_repack_test.moc"
