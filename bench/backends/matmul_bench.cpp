// Weight-streaming throughput of Backend::matmul, per weight type.
//
//   bench_backend_matmul [--device cpu] [--threads N] [--types q4_0,q4_k] [--pool-mib 1024] [--small-pages]
//                        [--shapes 512x2048,2048x2048]   (rows x k, k a multiple of 32; default 4096x4096,2048x8192)
//
// Decode (n = 1) is memory-bound, so it is reported as GB/s of weight bytes read, next to the
// machine's measured bandwidth; prefill (n > 1) as GFLOP/s. Each shape is replicated into a pool
// of distinct matrices larger than the caches and the calls cycle through it, so the weights come
// from DRAM as they do in a real decode step. Inputs are random (test quantizer); results are
// checked against a float64 reference before anything is timed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <sys/mman.h>
#include <time.h>

#include "backends/cpu/membw.h"
#include "backends/registry.h"
#include "bench/backends/open_backend.h"
#include "tests/backends/reference_quants.h"

using namespace hearth;

namespace {

bool gSmallPages = false;  // --small-pages: the weight pools on 4 KiB pages

struct Options {
    std::string device = "cpu";
    int threads = 0;
    std::vector<DType> types = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0,
                                DType::Q4_1, DType::Q5_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};
    double poolMiB = 1024;
    bool prefill = true;
    std::vector<std::pair<int64_t, int64_t>> shapes = {{4096, 4096}, {2048, 8192}};  // rows x k
};

// "512x2048,128256x2048": rows x k per matrix.
std::vector<std::pair<int64_t, int64_t>> parseShapes(const std::string& text) {
    std::vector<std::pair<int64_t, int64_t>> out;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        const std::string item = text.substr(start, end - start);
        long long rows = 0, k = 0;
        if (std::sscanf(item.c_str(), "%lldx%lld", &rows, &k) != 2 || rows < 1 || k < 32 || k % 32 != 0) {
            std::fprintf(stderr, "bad shape '%s' (ROWSxK, K a multiple of 32)\n", item.c_str());
            std::exit(2);
        }
        out.emplace_back(rows, k);
        start = end + 1;
    }
    return out;
}

std::vector<DType> parseTypes(const std::string& text) {
    std::vector<DType> out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        auto t = dtypeFromName(text.substr(start, end - start));
        if (!t) {
            std::fprintf(stderr, "unknown type '%s'\n", text.substr(start, end - start).c_str());
            std::exit(2);
        }
        out.push_back(*t);
        start = end + 1;
    }
    return out;
}

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpuNow() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Result {
    double seconds;     // wall clock per call
    double cpuSeconds;  // process CPU time per call (all threads; spinning included)
    size_t weightBytes;
};

// Host memory for the weight copies, one block for the whole run, grown only when a shape needs
// more. A block freed after each shape was taken back by the VM's host ~2 s later (free page
// reporting), while the next shape was being timed: see MemoryBandwidthProbe in membw.h.
class WeightPool {
public:
    uint8_t* reserve(size_t bytes) {
        // Pages as a model file gets them from the CPU backend (2 MiB, asked before the first
        // touch), or 4 KiB ones with --small-pages.
        const size_t huge = size_t{2} << 20;
        bytes = (bytes + huge - 1) / huge * huge;
        if (bytes > bytes_) {
            data_.reset(static_cast<uint8_t*>(std::aligned_alloc(huge, bytes)));
            if (!data_) {
                std::fprintf(stderr, "cannot allocate the weight pool\n");
                std::exit(1);
            }
            ::madvise(data_.get(), bytes, gSmallPages ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
            bytes_ = bytes;
        }
        return data_.get();
    }

private:
    std::unique_ptr<uint8_t, decltype(&std::free)> data_{nullptr, &std::free};
    size_t bytes_ = 0;
};

// Times matmul of an {k, rows} weight of `type` against n columns, cycling through enough copies
// to exceed poolMiB. Returns seconds per call (best of several rounds).
Result timeMatmul(Backend& be, WeightPool& pool, DType type, int64_t rows, int64_t k, int64_t n, double poolMiB,
                  std::mt19937& rng) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> w(static_cast<size_t>(rows * k));
    for (auto& v : w) v = dist(rng);
    auto one = testref::quantize(type, w, rows, k);
    const size_t bytes = one.size();
    const size_t copies = std::max<size_t>(1, static_cast<size_t>(poolMiB * 1024 * 1024 / static_cast<double>(bytes)));
    uint8_t* base = pool.reserve(bytes * copies);
    for (size_t c = 0; c < copies; ++c) std::memcpy(base + c * bytes, one.data(), bytes);
    auto weights = be.loadWeights(base, bytes * copies);

    std::vector<float> x(static_cast<size_t>(k * n));
    for (auto& v : x) v = dist(rng);
    Tensor xt;
    auto xb = be.allocate(x.size() * 4, BufferUsage::Activations);
    xt.buffer = xb.get();
    xt.ne[0] = k;
    xt.ne[1] = n;
    be.upload(xt, x.data(), x.size() * 4);
    Tensor out;
    auto ob = be.allocate(static_cast<size_t>(rows * n) * 4, BufferUsage::Activations);
    out.buffer = ob.get();
    out.ne[0] = rows;
    out.ne[1] = n;
    Tensor wt;
    wt.buffer = weights.get();
    wt.type = type;
    wt.ne[0] = k;
    wt.ne[1] = rows;

    // Correctness first: one row against float64 on the dequantized weights.
    {
        Projection p{out, wt, {}};
        be.matmul(xt, std::span<const Projection>(&p, 1));
        std::vector<float> got(static_cast<size_t>(rows * n));
        be.download(got.data(), out, got.size() * 4);
        auto wd = testref::dequantize(type, one.data(), 1, k);
        double want = 0, scale = 0;
        for (int64_t i = 0; i < k; ++i) {
            want += wd[static_cast<size_t>(i)] * x[static_cast<size_t>(i)];
            scale += std::fabs(wd[static_cast<size_t>(i)] * x[static_cast<size_t>(i)]);
        }
        if (!(std::fabs(got[0] - want) <= 0.02 * scale)) {
            std::fprintf(stderr, "%s: wrong result %g vs %g\n", std::string(dtypeName(type)).c_str(), got[0], want);
            std::exit(1);
        }
    }
    const double budget = n == 1 ? 0.6 : 1.5;  // seconds per measurement
    double best = 1e30, bestCpu = 1e30;
    for (int round = 0; round < 3; ++round) {
        size_t calls = 0;
        double start = now(), cpuStart = cpuNow(), elapsed = 0;
        do {
            Projection p{out, wt.rowRange(0, rows), {}};
            p.weight.offset = (calls % copies) * bytes;
            be.matmul(xt, std::span<const Projection>(&p, 1));
            ++calls;
            elapsed = now() - start;
        } while (elapsed < budget / 3 || calls < copies);
        best = std::min(best, elapsed / static_cast<double>(calls));
        bestCpu = std::min(bestCpu, (cpuNow() - cpuStart) / static_cast<double>(calls));
    }
    return {best, bestCpu, bytes};
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); }
            return argv[++i];
        };
        if (a == "--device") opt.device = value();
        else if (a == "--threads") opt.threads = std::atoi(value().c_str());
        else if (a == "--types") opt.types = parseTypes(value());
        else if (a == "--pool-mib") opt.poolMiB = std::atof(value().c_str());
        else if (a == "--no-prefill") opt.prefill = false;
        else if (a == "--small-pages") gSmallPages = true;
        else if (a == "--shapes") opt.shapes = parseShapes(value());
        else {
            std::fprintf(stderr, "usage: %s [--device ID] [--threads N] [--types a,b] [--pool-mib M] [--no-prefill] [--small-pages] [--shapes RxK,...]\n", argv[0]);
            return 2;
        }
    }
    BackendRegistry registry;
    const std::unique_ptr<Backend> be = bench::openBackend(registry, opt.device, opt.threads);
    if (!be) return 1;
    // The probe's buffers stay allocated until the end, for the same reason as the weight pool.
    MemoryBandwidthProbe probe(opt.threads);
    const MemoryBandwidth bw = probe.measure();
    WeightPool pool;
    std::printf("device: %s (%s)\n", be->device().name.c_str(), be->device().id.c_str());
    std::string features;
    for (const auto& f : be->device().features) features += f + " ";
    std::printf("features: %s\n", features.c_str());
    std::printf("memory bandwidth (%d threads, 2 x %.0f MiB): copy %.1f GB/s (read+write), read %.1f GB/s\n",
                bw.threads, bw.bufferMiB, bw.copyGBs, bw.readGBs);
    std::printf("weight pool per shape: %.0f MiB\n\n", opt.poolMiB);
    double load[3] = {};
    if (getloadavg(load, 3) > 0) std::printf("load average at start: %.2f (a busy machine lowers the wall-clock figures)\n", load[0]);
    std::printf("GB/s: weight bytes per wall-clock second; GB/s/cpu: per second of CPU time of this process\n\n");
    std::printf("%-6s %-11s %9s %9s %8s %9s %10s %10s\n", "type", "rows x k", "n=1 us", "GB/s", "%read", "GB/s/cpu",
                "n=64 GF/s", "n=512 GF/s");
    std::mt19937 rng(1234);
    for (DType type : opt.types) {
        for (const auto& s : opt.shapes) {
            const int64_t rows = s.first, k = s.second;
            if (!dtypeRowBytes(type, static_cast<uint64_t>(k))) {  // k = 896 (qwen2.5-0.5b) suits Q4_0, not K-quants
                std::printf("%-6s %6lldx%-5lld   (k is not a whole number of blocks)\n", std::string(dtypeName(type)).c_str(),
                            static_cast<long long>(rows), static_cast<long long>(k));
                continue;
            }
            auto r1 = timeMatmul(*be, pool, type, rows, k, 1, opt.poolMiB, rng);
            double gbs = static_cast<double>(r1.weightBytes) / r1.seconds / 1e9;
            double gf64 = 0, gf512 = 0;
            if (opt.prefill && rows == 4096) {
                auto r64 = timeMatmul(*be, pool, type, rows, k, 64, 64, rng);
                gf64 = 2.0 * rows * k * 64 / r64.seconds / 1e9;
                auto r512 = timeMatmul(*be, pool, type, rows, k, 512, 64, rng);
                gf512 = 2.0 * rows * k * 512 / r512.seconds / 1e9;
            }
            std::printf("%-6s %6lldx%-5lld %9.1f %9.1f %7.0f%% %9.1f %10.1f %10.1f\n",
                        std::string(dtypeName(type)).c_str(), static_cast<long long>(rows), static_cast<long long>(k),
                        r1.seconds * 1e6, gbs, 100.0 * gbs / bw.readGBs,
                        static_cast<double>(r1.weightBytes) / r1.cpuSeconds / 1e9, gf64, gf512);
            std::fflush(stdout);
        }
    }
    return 0;
}
