// The sampler and the stop-string filter, checked against distributions computed here.
#include <QtTest>

#include <cmath>
#include <map>
#include <numeric>

#include "inference/engine/sampler.h"
#include "inference/engine/stop_filter.h"

using namespace hearth;

namespace {

std::vector<double> softmax(const std::vector<float>& l, double t = 1.0) {
    double m = *std::max_element(l.begin(), l.end()), sum = 0;
    std::vector<double> p(l.size());
    for (size_t i = 0; i < l.size(); ++i) sum += p[i] = std::exp((l[i] - m) / t);
    for (auto& x : p) x /= sum;
    return p;
}

// Draws n samples; returns the observed frequency of each id.
std::vector<double> frequencies(SamplerSettings s, const std::vector<float>& logits, int n) {
    Sampler sampler(s);
    std::vector<double> f(logits.size());
    for (int i = 0; i < n; ++i) {
        auto copy = logits;
        f[static_cast<size_t>(sampler.sample(copy, {}))] += 1.0 / n;
    }
    return f;
}

// Each frequency within 5 standard errors of its expected probability.
void expectMatches(const std::vector<double>& f, const std::vector<double>& p, int n) {
    for (size_t i = 0; i < p.size(); ++i) {
        double se = std::sqrt(std::max(p[i] * (1 - p[i]), 1e-12) / n);
        if (std::abs(f[i] - p[i]) > 5 * se + 1e-9)
            QFAIL(qPrintable(QString("id %1: frequency %2, expected %3").arg(i).arg(f[i]).arg(p[i])));
    }
}

SamplerSettings plain(float temperature) {
    SamplerSettings s;
    s.temperature = temperature;
    s.topK = 0;
    s.topP = 1.0f;
    s.minP = 0.0f;
    s.seed = 1234;
    return s;
}

const std::vector<float> kLogits = {2.0f, 1.5f, 0.3f, -0.5f, 1.0f, -2.0f, 0.0f, 0.7f};

}  // namespace

class SamplerTest : public QObject {
    Q_OBJECT
private slots:
    void greedyPicksTheLargestFirstOnTies() {
        Sampler s(plain(0));
        std::vector<float> l = {0.1f, 3.0f, -1.0f, 3.0f};
        QCOMPARE(s.sample(l, {}), 1);
    }

    void temperatureFollowsTheSoftmax_data() {
        QTest::addColumn<float>("t");
        QTest::newRow("t=1") << 1.0f;
        QTest::newRow("t=0.5") << 0.5f;
        QTest::newRow("t=2") << 2.0f;
    }
    void temperatureFollowsTheSoftmax() {
        QFETCH(float, t);
        const int n = 40000;
        expectMatches(frequencies(plain(t), kLogits, n), softmax(kLogits, t), n);
    }

    void topKKeepsOnlyTheKLargest() {
        auto s = plain(1.0f);
        s.topK = 3;
        const int n = 30000;
        auto f = frequencies(s, kLogits, n);
        // ids 0, 1, 4 are the three largest; renormalised softmax over them.
        std::vector<float> kept = {kLogits[0], kLogits[1], kLogits[4]};
        auto p3 = softmax(kept);
        std::vector<double> p(kLogits.size(), 0.0);
        p[0] = p3[0]; p[1] = p3[1]; p[4] = p3[2];
        expectMatches(f, p, n);
    }

    void topPKeepsTheSmallestNucleus() {
        // Probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.75 keeps the first two (0.8 >= 0.75).
        std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
        auto s = plain(1.0f);
        s.topP = 0.75f;
        const int n = 20000;
        expectMatches(frequencies(s, l, n), {0.5 / 0.8, 0.3 / 0.8, 0, 0}, n);
    }

    void minPDropsTokensBelowAFractionOfTheBest() {
        std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
        auto s = plain(1.0f);
        s.minP = 0.2f;  // threshold 0.1: keeps 0.5, 0.3, 0.15
        const int n = 20000;
        expectMatches(frequencies(s, l, n), {0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0}, n);
    }

    void temperatureAppliesAfterFiltering() {
        std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
        auto s = plain(0.5f);
        s.topP = 0.75f;
        Sampler sampler(s);
        auto copy = l;
        auto c = sampler.distribution(copy, {});
        QCOMPARE(c.size(), size_t(2));
        auto p = softmax({l[0], l[1]}, 0.5);
        QVERIFY(std::abs(c[0].p - p[0]) < 1e-9 && std::abs(c[1].p - p[1]) < 1e-9);
    }

    void repeatPenaltyDividesPositiveAndMultipliesNegativeLogits() {
        auto s = plain(0);
        s.repeatPenalty = 1.5f;
        Sampler sampler(s);
        std::vector<float> l = {3.0f, 2.5f, -1.0f, 0.5f};
        std::vector<int32_t> history = {0, 2, 0};
        auto copy = l;
        QCOMPARE(sampler.sample(copy, history), 1);  // 3.0 / 1.5 = 2.0 < 2.5
        QCOMPARE(copy[0], 2.0f);
        QCOMPARE(copy[2], -1.5f);
        QCOMPARE(copy[1], 2.5f);
    }

    void repeatPenaltyLooksOnlyAtTheLastN() {
        auto s = plain(0);
        s.repeatPenalty = 2.0f;
        s.repeatLastN = 2;
        Sampler sampler(s);
        std::vector<float> l = {3.0f, 2.5f, 1.0f};
        std::vector<int32_t> history = {0, 2, 2};  // 0 is outside the window
        QCOMPARE(sampler.sample(l, history), 0);
        QCOMPARE(l[2], 0.5f);
    }

    void presenceAndFrequencyPenaltiesSubtract() {
        auto s = plain(0);
        s.presencePenalty = 0.5f;
        s.frequencyPenalty = 0.25f;
        Sampler sampler(s);
        std::vector<float> l = {3.0f, 2.9f, 1.0f};
        std::vector<int32_t> history = {0, 0, 0, 2};
        QCOMPARE(sampler.sample(l, history), 1);
        QCOMPARE(l[0], 3.0f - 3 * 0.25f - 0.5f);
        QCOMPARE(l[2], 1.0f - 0.25f - 0.5f);
    }

    void aSeedGivesTheSameSequence() {
        auto draw = [](uint64_t seed) {
            auto s = plain(1.0f);
            s.seed = seed;
            Sampler sampler(s);
            std::vector<int32_t> out;
            for (int i = 0; i < 64; ++i) {
                auto copy = kLogits;
                out.push_back(sampler.sample(copy, {}));
            }
            return out;
        };
        QCOMPARE(draw(42), draw(42));
        QVERIFY(draw(42) != draw(43));
        auto s = plain(1.0f);
        s.seed = 0;  // random seed: two samplers differ
        Sampler a(s), b(s);
        QVERIFY(a.seed() != b.seed());
    }

    void uniformIsInTheUnitInterval() {
        Sampler s(plain(1.0f));
        double sum = 0;
        for (int i = 0; i < 100000; ++i) {
            double u = s.nextUniform();
            QVERIFY(u >= 0 && u < 1);
            sum += u;
        }
        QVERIFY(std::abs(sum / 100000 - 0.5) < 0.01);
    }

    void nonFiniteLogitsAreNeverPicked() {
        Sampler s(plain(1.0f));
        std::vector<float> l = {-INFINITY, 1.0f, NAN, -INFINITY};
        for (int i = 0; i < 100; ++i) {
            auto copy = l;
            QCOMPARE(s.sample(copy, {}), 1);
        }
    }
};

class StopFilterTest : public QObject {
    Q_OBJECT
private slots:
    void stopsBeforeTheStopString() {
        StopFilter f({"\nUser:"});
        std::string shown;
        bool stopped = false;
        for (char c : std::string("Hello there\nUser: more")) {
            auto out = f.push(std::string(1, c));
            shown += out.text;
            if (out.stopped) { stopped = true; break; }
        }
        QVERIFY(stopped);
        QCOMPARE(shown, std::string("Hello there"));
    }

    void holdsBackAPossibleStartAndReleasesIt() {
        StopFilter f({"abc"});
        auto a = f.push("xa");
        QCOMPARE(a.text, std::string("x"));
        auto b = f.push("b");
        QCOMPARE(b.text, std::string(""));
        auto c = f.push("d");
        QCOMPARE(c.text, std::string("abd"));
        QVERIFY(!c.stopped);
    }

    void flushReleasesHeldTextAtTheEnd() {
        StopFilter f({"END"});
        auto out = f.push("the EN");
        QCOMPARE(out.text, std::string("the "));
        QCOMPARE(f.flush(), std::string("EN"));
    }

    void theEarliestOfSeveralStopsWins() {
        StopFilter f({"world", "lo w"});
        auto out = f.push("hello world");
        QVERIFY(out.stopped);
        QCOMPARE(out.text, std::string("hel"));
    }

    void multiByteTextIsNeverSplit() {
        StopFilter f({"é!"});
        std::string shown;
        for (std::string piece : {"caf", "é", " ok", "é", "!"}) {
            auto out = f.push(piece);
            shown += out.text;
            if (out.stopped) break;
        }
        QCOMPARE(shown, std::string("café ok"));
    }

    void withoutStopsEverythingPassesAtOnce() {
        StopFilter f({});
        QCOMPARE(f.push("abc").text, std::string("abc"));
        QCOMPARE(f.flush(), std::string());
    }
};

int main(int argc, char** argv) {
    int status = 0;
    SamplerTest a;
    status |= QTest::qExec(&a, argc, argv);
    StopFilterTest b;
    status |= QTest::qExec(&b, argc, argv);
    return status;
}

#include "sampler_test.moc"
