// Single-core prefill throughput of the CPU matmul kernels, weights in L2, in thread CPU time:
// the AVX-512 VNNI dot kernels (kMaxCols tokens per weight pass) against the AMX tile path
// (unpack 32 weight rows from GGUF blocks to bf16, multiply by packed tokens), per weight type.
//
//   bench_backend_prefill [tokens]      (default 512; GOP/s = 2 * rows * k * tokens / CPU-second)
//
// Times the parts separately: packing the tokens (once per matmul call in the backend),
// unpacking the weight rows (once per 16 rows and token block), and the tile products.
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/kernels_amx.h"
#include "tests/backends/reference_quants.h"

using namespace hearth;

namespace {

double threadCpuNow() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <class F>
double bestOf(int reps, F&& f) {
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const double start = threadCpuNow();
        f();
        best = std::min(best, threadCpuNow() - start);
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    const int64_t n = argc > 1 ? std::atoll(argv[1]) : 512;
    const int64_t k = 4096, rows = 128;  // 128 rows: 0.3-0.6 MiB of 4-6 bit weights, inside L2
    if (n < 1) {
        std::fprintf(stderr, "usage: %s [tokens]\n", argv[0]);
        return 2;
    }
    const auto& avx512 = cpu::bestKernels();
    const bool amx = cpu::amx::enabled(avx512);
    std::printf("k = %lld, %lld rows, %lld tokens, one thread; kernels %s, AMX %s\n", static_cast<long long>(k),
                static_cast<long long>(rows), static_cast<long long>(n), avx512.name, amx ? "on" : "off");
    std::printf("%-6s %14s %12s %14s %14s %14s\n", "type", "vnni GOP/s", "amx GOP/s", "amx tiles (est)",
                "unpack us/32r", "pack us/16tok");
    std::mt19937 rng(1);
    std::normal_distribution<float> dist;
    std::vector<float> w(static_cast<size_t>(rows * k)), x(static_cast<size_t>(k * n));
    for (auto& v : w) v = dist(rng);
    for (auto& v : x) v = dist(rng);
    const double ops = 2.0 * static_cast<double>(rows * k * n);
    const DType types[] = {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};
    for (DType type : types) {
        auto bytes = testref::quantize(type, w, rows, k);
        const size_t rowBytes = bytes.size() / static_cast<size_t>(rows);
        // AVX-512: the activations in the kernel's format, columns kMaxCols at a time per row.
        const auto format = avx512.act[static_cast<uint32_t>(type)];
        const size_t actBytes = cpu::activationRowBytes(format, k);
        std::vector<uint8_t> act(actBytes * static_cast<size_t>(n));
        for (int64_t c = 0; c < n; ++c)
            cpu::quantizeActivation(format, x.data() + c * k, act.data() + actBytes * static_cast<size_t>(c), k);
        std::vector<float> out(static_cast<size_t>(rows * n));
        const double vnni = bestOf(3, [&] {
            float tmp[cpu::kMaxCols];
            for (int64_t c0 = 0; c0 < n; c0 += cpu::kMaxCols) {
                const int cols = static_cast<int>(std::min<int64_t>(cpu::kMaxCols, n - c0));
                for (int64_t r = 0; r < rows; ++r) {
                    avx512.dot[static_cast<uint32_t>(type)](k, bytes.data() + rowBytes * static_cast<size_t>(r),
                                                            act.data() + actBytes * static_cast<size_t>(c0), actBytes,
                                                            cols, tmp);
                    for (int j = 0; j < cols; ++j) out[static_cast<size_t>((c0 + j) * rows + r)] = tmp[j];
                }
            }
        });
        if (!amx) {
            std::printf("%-6s %14.1f %12s\n", std::string(dtypeName(type)).c_str(), ops / vnni / 1e9, "-");
            continue;
        }
        const int64_t groups = cpu::amx::packedGroups(n);
        const size_t groupBytes = cpu::amx::packedGroupBytes(k);
        std::vector<uint8_t> packed(groupBytes * static_cast<size_t>(groups));
        std::vector<uint8_t> scratchBytes(cpu::amx::taskScratchBytes(groups) + 64);
        auto* scratch = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scratchBytes.data()) + 63) & ~uintptr_t{63});
        const double pack = bestOf(3, [&] {
            for (int64_t g = 0; g < groups; ++g)
                cpu::amx::packGroup(x.data(), k, n, g, packed.data() + groupBytes * static_cast<size_t>(g));
        });
        std::vector<float> amxOut(static_cast<size_t>(rows * n));
        cpu::amx::beginTiles();
        // As the backend runs it: slice by slice of k, one task per 32 rows with every token group
        // (keep tokens x k within L2 for a figure free of L3).
        const double unpack = bestOf(5, [&] {
            for (int64_t r0 = 0; r0 < rows; r0 += cpu::amx::kPanelRows)
                for (int64_t k0 = 0; k0 < k; k0 += cpu::amx::kSubSlice)
                    cpu::amx::unpackRows(type, bytes.data(), rowBytes, rows, r0, k0, std::min(k, k0 + cpu::amx::kSubSlice), scratch);
        });
        const double full = bestOf(3, [&] {
            for (int64_t k0 = 0; k0 < k; k0 += cpu::amx::kSlice)
                for (int64_t r0 = 0; r0 < rows; r0 += cpu::amx::kPanelRows)
                    cpu::amx::runTask(type, bytes.data(), rowBytes, rows, r0, k0, std::min(k, k0 + cpu::amx::kSlice), packed.data(),
                                      k, n, 0, groups, nullptr, k0 > 0, amxOut.data(), scratch);
        });
        const double tiles = full - unpack;
        cpu::amx::endTiles();
        // The two paths round the tokens differently (int8 blocks vs bf16), so they agree to the
        // activation rounding only.
        double err = 0, ref = 0;
        for (size_t i = 0; i < out.size(); ++i) {
            err += (out[i] - amxOut[i]) * (out[i] - amxOut[i]);
            ref += out[i] * out[i];
        }
        if (!(err <= 1e-3 * ref)) {
            std::fprintf(stderr, "%s: AMX and AVX-512 results differ (relative error %g)\n",
                         std::string(dtypeName(type)).c_str(), std::sqrt(err / ref));
            return 1;
        }
        std::printf("%-6s %14.1f %12.1f %14.1f %14.2f %14.2f\n", std::string(dtypeName(type)).c_str(), ops / vnni / 1e9,
                    ops / (full + pack) / 1e9, ops / tiles / 1e9, unpack / static_cast<double>(rows / cpu::amx::kPanelRows) * 1e6,
                    pack / static_cast<double>(groups) * 1e6);
    }
    return 0;
}
