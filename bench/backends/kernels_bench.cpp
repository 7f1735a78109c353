// Single-core throughput of each CPU dot kernel, per kernel set (scalar, avx2, avx512) and weight
// type, with the weights in L2: the compute ceiling of the kernels, free of DRAM and of other
// processes (timed in thread CPU time, so a busy machine does not distort it much).
//
//   bench_backend_kernels [K]     (row length, default 4096; the rows total ~0.3-2 MiB)
//
// A decode step can reach the memory bandwidth only if (threads x this figure) exceeds it.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/kernels.h"
#include "tests/backends/reference_quants.h"

using namespace hearth;

namespace {

double threadCpuNow() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
    const int64_t k = argc > 1 ? std::max<int64_t>(256, std::atoll(argv[1]) / 256 * 256) : 4096;
    const int64_t rows = 128 * 4096 / k;  // 0.3-2 MiB of weights, inside L2
    std::mt19937 rng(1);
    std::normal_distribution<float> dist;
    std::vector<float> w(static_cast<size_t>(rows * k)), x(static_cast<size_t>(k * cpu::kMaxCols));
    for (auto& v : w) v = dist(rng);
    for (auto& v : x) v = dist(rng);
    std::printf("k = %lld, %lld rows; GB/s of weight bytes per CPU-second of one thread\n",
                static_cast<long long>(k), static_cast<long long>(rows));
    std::printf("%-8s %-6s %10s %9d-col GB/s %9d-col GOP/s\n", "kernels", "type", "1 col GB/s", cpu::kMaxCols,
                cpu::kMaxCols);
    const DType types[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0,
                           DType::Q4_1, DType::Q5_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};
    for (const auto* table : cpu::availableKernels()) {
        for (DType type : types) {
            auto bytes = testref::quantize(type, w, rows, k);
            const size_t rowBytes = bytes.size() / static_cast<size_t>(rows);
            double perCall[2] = {};
            const int cols[2] = {1, cpu::kMaxCols};
            for (int v = 0; v < 2; ++v) {
                // The kernel matmul would pick: decode has its own where one beats dot[] there.
                const auto [dot, format] = cpu::dotFor(*table, type, cols[v]);
                const size_t actBytes = cpu::activationRowBytes(format, k);
                std::vector<uint8_t> act(actBytes * cpu::kMaxCols);
                for (int c = 0; c < cpu::kMaxCols; ++c)
                    cpu::quantizeActivation(format, x.data() + c * k, act.data() + actBytes * static_cast<size_t>(c), k);
                float out[cpu::kMaxCols];
                double best = 1e30;
                const int reps = table == cpu::availableKernels().front() ? 2 : 20;
                for (int rep = 0; rep < reps; ++rep) {
                    double start = threadCpuNow();
                    for (int64_t r = 0; r < rows; ++r)
                        dot(k, bytes.data() + rowBytes * static_cast<size_t>(r), act.data(), actBytes, cols[v], out);
                    best = std::min(best, threadCpuNow() - start);
                }
                perCall[v] = best;
            }
            std::printf("%-8s %-6s %10.2f %18.2f %18.1f\n", table->name, std::string(dtypeName(type)).c_str(),
                        static_cast<double>(bytes.size()) / perCall[0] / 1e9,
                        static_cast<double>(bytes.size()) / perCall[1] / 1e9,
                        2.0 * static_cast<double>(rows * k * cpu::kMaxCols) / perCall[1] / 1e9);
        }
    }
    return 0;
}
