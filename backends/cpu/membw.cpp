#include "backends/cpu/membw.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "backends/backend.h"
#include "backends/cpu/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace hearth {

namespace {

double lastLevelCacheMiB() {
    double best = 0;
    for (int index = 0; index < 8; ++index) {
        std::ifstream f("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
        std::string text;
        if (!(f >> text)) break;
        double v = std::atof(text.c_str());
        if (text.find('K') != std::string::npos) v /= 1024;
        else if (text.find('G') != std::string::npos) v *= 1024;
        else if (text.find('M') == std::string::npos) v /= 1024.0 * 1024.0;
        best = std::max(best, v);
    }
    return best;
}

double availableMiB() {
    std::ifstream meminfo("/proc/meminfo");
    std::string key, unit;
    uint64_t kib = 0;
    while (meminfo >> key >> kib >> unit)
        if (key == "MemAvailable:") return static_cast<double>(kib) / 1024.0;
    return 4096;
}

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};

double seconds(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// The read pass sums `streams` equal parts of [p, p + len) side by side, with the widest loads
// the CPU has and independent accumulators, so that neither the load width nor one dependency
// chain caps the figure below what the memory system delivers. With `prefetch` > 0 it also asks
// for each line that many bytes ahead, as the decode kernels do: on some CPUs the hardware
// prefetchers alone leave a core ~10 % below what it can read.
#if defined(__x86_64__)
__attribute__((target("avx512f"))) uint64_t sumAvx512(const char* p, size_t len, int streams, int prefetch) {
    const size_t part = len / static_cast<size_t>(streams) / 256 * 256;
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    for (size_t i = 0; i < part; i += 256)
        for (int s = 0; s < streams; ++s) {
            const char* q = p + static_cast<size_t>(s) * part + i;
            if (prefetch > 0)
                for (int v = 0; v < 4; ++v) __builtin_prefetch(q + prefetch + 64 * v, 0, 3);
            for (int v = 0; v < 4; ++v)
                acc[v] = _mm512_add_epi64(acc[v], _mm512_load_si512(reinterpret_cast<const __m512i*>(q + 64 * v)));
        }
    // Through memory: GCC 12 warns about its own reduce/extract intrinsics (-Wuninitialized).
    alignas(64) uint64_t lanes[8];
    _mm512_store_si512(reinterpret_cast<__m512i*>(lanes),
                       _mm512_add_epi64(_mm512_add_epi64(acc[0], acc[1]), _mm512_add_epi64(acc[2], acc[3])));
    uint64_t total = 0;
    for (uint64_t v : lanes) total += v;
    return total;
}

__attribute__((target("avx2"))) uint64_t sumAvx2(const char* p, size_t len, int streams, int prefetch) {
    const size_t part = len / static_cast<size_t>(streams) / 128 * 128;
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (size_t i = 0; i < part; i += 128)
        for (int s = 0; s < streams; ++s) {
            const char* q = p + static_cast<size_t>(s) * part + i;
            if (prefetch > 0) {  // the two lines of this step
                __builtin_prefetch(q + prefetch, 0, 3);
                __builtin_prefetch(q + prefetch + 64, 0, 3);
            }
            for (int v = 0; v < 4; ++v)
                acc[v] = _mm256_add_epi64(acc[v], _mm256_load_si256(reinterpret_cast<const __m256i*>(q + 32 * v)));
        }
    alignas(32) uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi64(_mm256_add_epi64(acc[0], acc[1]),
                                                                           _mm256_add_epi64(acc[2], acc[3])));
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
#endif

uint64_t sumPlain(const char* p, size_t len, int streams, int prefetch) {
    const size_t part = len / static_cast<size_t>(streams) / 32 * 32;
    uint64_t acc[4] = {};
    for (size_t i = 0; i < part; i += 32)
        for (int s = 0; s < streams; ++s) {
            const auto* q = reinterpret_cast<const uint64_t*>(p + static_cast<size_t>(s) * part + i);
            if (prefetch > 0 && i % 64 == 0) __builtin_prefetch(reinterpret_cast<const char*>(q) + prefetch, 0, 3);
            for (int v = 0; v < 4; ++v) acc[v] += q[v];
        }
    return acc[0] + acc[1] + acc[2] + acc[3];
}

uint64_t sumBytes(const char* p, size_t len, int streams, int prefetch) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return sumAvx512(p, len, streams, prefetch);
    if (__builtin_cpu_supports("avx2")) return sumAvx2(p, len, streams, prefetch);
#endif
    return sumPlain(p, len, streams, prefetch);
}

// One read pass over [data, data + bytes) per stream/prefetch choice, each thread summing its
// share (split at 4 KiB); the fastest pass's seconds. One, two and four streams per thread, with
// and without software prefetch: which one the memory system serves best varies by CPU (on the
// development VM, two streams and a prefetch 1 KiB ahead read ~10 % more than one stream alone).
double fastestReadPass(cpu::ThreadPool& pool, const char* data, size_t bytes, std::vector<uint64_t>& sums) {
    const int n = pool.threads();
    double best = 1e30;
    for (int streams : {1, 2, 4})
        for (int prefetch : {0, 1024, 2048}) {
            const auto start = std::chrono::steady_clock::now();
            pool.run([&](int t, int) {
                const size_t per = bytes / static_cast<size_t>(n) / 4096 * 4096, begin = per * static_cast<size_t>(t);
                const size_t len = t == n - 1 ? bytes - begin : per;
                sums[static_cast<size_t>(t)] += sumBytes(data + begin, len, streams, prefetch);
            });
            best = std::min(best, seconds(start));
        }
    return best;
}

}  // namespace

struct MemoryBandwidthProbe::State {
    cpu::ThreadPool pool;
    size_t bytes = 0;
    std::unique_ptr<void, FreeDeleter> src, dst;
    std::vector<uint64_t> sums;

    explicit State(int threads) : pool(threads > 0 ? threads : cpu::physicalCoreCount()) {}
    char* source() const { return static_cast<char*>(src.get()); }
    char* destination() const { return static_cast<char*>(dst.get()); }
    // Thread t's share of a buffer, whole pages.
    void slice(int t, size_t& begin, size_t& len) const {
        const int n = pool.threads();
        const size_t per = bytes / static_cast<size_t>(n) / 4096 * 4096;
        begin = per * static_cast<size_t>(t);
        len = t == n - 1 ? bytes - begin : per;
    }
};

MemoryBandwidthProbe::MemoryBandwidthProbe(int threads, double bufferMiB) : state_(std::make_unique<State>(threads)) {
    State& s = *state_;
    if (bufferMiB <= 0) bufferMiB = std::max(1024.0, 2 * lastLevelCacheMiB());
    bufferMiB = std::min(bufferMiB, std::max(64.0, availableMiB() / 4));
    s.bytes = static_cast<size_t>(bufferMiB * 1024 * 1024) / 4096 * 4096;
    s.src.reset(std::aligned_alloc(4096, s.bytes));
    s.dst.reset(std::aligned_alloc(4096, s.bytes));
    if (!s.src || !s.dst)
        throw BackendError("membw: cannot allocate two buffers of " + std::to_string(s.bytes >> 20) + " MiB");
#if defined(__linux__)
    // 2 MiB pages where the system gives them: with 4 KiB pages the prefetchers restart at every
    // page and the figure would understate what the memory delivers (the CPU backend asks the
    // same for the weights).
    ::madvise(s.source(), s.bytes, MADV_HUGEPAGE);
    ::madvise(s.destination(), s.bytes, MADV_HUGEPAGE);
#endif
    // Touch every page from the thread that will use it.
    s.pool.run([&](int t, int) {
        size_t begin, len;
        s.slice(t, begin, len);
        std::memset(s.source() + begin, 1, len);
        std::memset(s.destination() + begin, 0, len);
    });
    s.sums.assign(static_cast<size_t>(s.pool.threads()), 0);
}

MemoryBandwidthProbe::~MemoryBandwidthProbe() = default;

MemoryBandwidth MemoryBandwidthProbe::measure() {
    State& s = *state_;
    double bestCopy = 1e30, bestRead = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
        auto start = std::chrono::steady_clock::now();
        s.pool.run([&](int t, int) {
            size_t begin, len;
            s.slice(t, begin, len);
            std::memcpy(s.destination() + begin, s.source() + begin, len);
        });
        bestCopy = std::min(bestCopy, seconds(start));
        bestRead = std::min(bestRead, fastestReadPass(s.pool, s.source(), s.bytes, s.sums));
    }
    // The sums are checked so the compiler cannot drop the reads.
    uint64_t total = 0;
    for (auto v : s.sums) total += v;
    if (total == 0) throw BackendError("membw: the read pass saw only zeros");
    MemoryBandwidth result;
    result.copyGBs = 2.0 * static_cast<double>(s.bytes) / bestCopy / 1e9;
    result.readGBs = static_cast<double>(s.bytes) / bestRead / 1e9;
    result.threads = s.pool.threads();
    result.bufferMiB = static_cast<double>(s.bytes) / (1024.0 * 1024.0);
    return result;
}

MemoryBandwidth measureMemoryBandwidthDetailed(int threads, double bufferMiB) {
    return MemoryBandwidthProbe(threads, bufferMiB).measure();
}

double measureMemoryBandwidth(int threads) { return measureMemoryBandwidthDetailed(threads).copyGBs; }

double measureReadBandwidth(const void* data, size_t bytes, int threads) {
    // Whole pages only: the sums load aligned vectors.
    const auto first = (reinterpret_cast<uintptr_t>(data) + 4095) / 4096 * 4096;
    const auto last = (reinterpret_cast<uintptr_t>(data) + bytes) / 4096 * 4096;
    if (last <= first) return 0;
    cpu::ThreadPool pool(threads > 0 ? threads : cpu::physicalCoreCount());
    std::vector<uint64_t> sums(static_cast<size_t>(pool.threads()));
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep)
        best = std::min(best, fastestReadPass(pool, reinterpret_cast<const char*>(first), last - first, sums));
    volatile uint64_t keep = 0;  // the sums must not be optimised away
    for (auto v : sums) keep = keep + v;
    return static_cast<double>(last - first) / best / 1e9;
}

}  // namespace hearth
