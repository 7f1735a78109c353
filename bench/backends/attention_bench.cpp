// Decode attention through Backend::attention: one token against a KV cache of `--ctx`
// positions in each of `--layers` layers, the shape of a decode step's attention.
//
//   bench_backend_attention [--device cpu] [--threads N] [--ctx 1088] [--layers 16]
//                           [--heads 32] [--kv-heads 8] [--head-dim 64] [--warm] [--reps 8]
//
// By default an 800 MiB buffer is read between repetitions, so the caches come from DRAM as they
// do after a step's weights have streamed through; --warm leaves them in the caches. Prints the
// fastest and the median repetition, and the cache bytes per second the fastest one read.
#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/dtype.h"
#include "backends/registry.h"
#include "bench/backends/open_backend.h"

using namespace hearth;

namespace {

struct Options {
    std::string device = "cpu";
    int threads = 0;
    int64_t ctx = 1088, layers = 16, heads = 32, kvHeads = 8, hd = 64;
    bool warm = false;
    int reps = 8;
};

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> long {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return std::atol(argv[++i]);
        };
        if (a == "--device" && i + 1 < argc) opt.device = argv[++i];
        else if (a == "--threads") opt.threads = static_cast<int>(value());
        else if (a == "--ctx") opt.ctx = value();
        else if (a == "--layers") opt.layers = value();
        else if (a == "--heads") opt.heads = value();
        else if (a == "--kv-heads") opt.kvHeads = value();
        else if (a == "--head-dim") opt.hd = value();
        else if (a == "--reps") opt.reps = static_cast<int>(value());
        else if (a == "--warm") opt.warm = true;
        else {
            std::fprintf(stderr,
                         "usage: %s [--device ID] [--threads N] [--ctx N] [--layers N] [--heads N] [--kv-heads N] "
                         "[--head-dim N] [--warm] [--reps N]\n",
                         argv[0]);
            return 2;
        }
    }
    if (opt.ctx < 1 || opt.layers < 1 || opt.kvHeads < 1 || opt.heads % opt.kvHeads != 0 || opt.hd < 1 || opt.reps < 1) {
        std::fprintf(stderr, "bad shape: heads must be a multiple of kv heads, and every size positive\n");
        return 2;
    }
    BackendRegistry registry;
    const std::unique_ptr<Backend> be = bench::openBackend(registry, opt.device, opt.threads);
    if (!be) return 1;
    std::vector<std::unique_ptr<Buffer>> buffers;
    auto make = [&](DType type, std::initializer_list<int64_t> ne, const void* init) {
        Tensor t;
        int i = 0;
        for (auto e : ne) t.ne[i++] = e;
        t.type = type;
        buffers.push_back(be->allocate(t.bytes(), BufferUsage::Activations));
        t.buffer = buffers.back().get();
        if (init) be->upload(t, init, t.bytes());
        return t;
    };
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const size_t cacheElems = static_cast<size_t>(opt.hd * opt.kvHeads * opt.ctx);
    // The caches are filled by storeKv (how their rows lie is the backend's own), from f32 rows.
    std::vector<float> keys(cacheElems), values(cacheElems);
    std::vector<int32_t> positions(static_cast<size_t>(opt.ctx));
    for (int64_t t = 0; t < opt.ctx; ++t) positions[static_cast<size_t>(t)] = static_cast<int32_t>(t);
    const Tensor all = make(DType::I32, {opt.ctx}, positions.data());
    std::vector<Tensor> kc, vc;
    for (int64_t l = 0; l < opt.layers; ++l) {
        for (auto& x : keys) x = normal(rng);
        for (auto& x : values) x = normal(rng);
        const Tensor k = make(DType::F32, {opt.hd, opt.kvHeads, opt.ctx}, keys.data());
        const Tensor v = make(DType::F32, {opt.hd, opt.kvHeads, opt.ctx}, values.data());
        kc.push_back(make(DType::F16, {opt.hd, opt.kvHeads, opt.ctx}, nullptr));
        vc.push_back(make(DType::F16, {opt.hd, opt.kvHeads, opt.ctx}, nullptr));
        be->storeKv(kc.back(), vc.back(), k, v, all);
    }
    std::vector<float> qv(static_cast<size_t>(opt.hd * opt.heads));
    for (auto& x : qv) x = normal(rng);
    const Tensor q = make(DType::F32, {opt.hd, opt.heads, 1}, qv.data());
    const Tensor out = make(DType::F32, {opt.hd, opt.heads, 1}, qv.data());
    const int32_t last = static_cast<int32_t>(opt.ctx - 1);
    const Tensor pos = make(DType::I32, {1}, &last);
    std::vector<char> flush(opt.warm ? 0 : size_t{800} << 20, 1);
    std::vector<double> ms;
    volatile uint64_t sink = 0;  // keeps the flushing reads
    for (int rep = 0; rep <= opt.reps; ++rep) {  // rep 0 warms up
        for (size_t j = 0; j < flush.size(); j += 64) sink = sink + static_cast<unsigned char>(flush[j]);
        const auto t0 = std::chrono::steady_clock::now();
        for (int64_t l = 0; l < opt.layers; ++l) be->attention(out, q, kc[l], vc[l], pos, 1.0f / std::sqrt(static_cast<float>(opt.hd)));
        be->synchronize();
        if (rep > 0) ms.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3);
    }
    std::sort(ms.begin(), ms.end());
    const double bytes = 2.0 * static_cast<double>(opt.layers) * static_cast<double>(cacheElems) * 2.0;
    std::printf("%s: ctx %lld, %lld layers, %lld/%lld heads of %lld, %s caches: min %.2f ms, median %.2f ms "
                "(%.1f GB/s of cache at the min)\n",
                be->device().id.c_str(), static_cast<long long>(opt.ctx), static_cast<long long>(opt.layers),
                static_cast<long long>(opt.heads), static_cast<long long>(opt.kvHeads), static_cast<long long>(opt.hd),
                opt.warm ? "warm" : "cold", ms.front(), ms[ms.size() / 2], bytes / ms.front() / 1e6);
    return 0;
}
