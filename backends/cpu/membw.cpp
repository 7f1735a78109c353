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

}  // namespace

MemoryBandwidth measureMemoryBandwidthDetailed(int threads, double bufferMiB) {
    MemoryBandwidth result;
    cpu::ThreadPool pool(threads > 0 ? threads : cpu::physicalCoreCount());
    if (bufferMiB <= 0) bufferMiB = std::max(1024.0, 2 * lastLevelCacheMiB());
    bufferMiB = std::min(bufferMiB, std::max(64.0, availableMiB() / 4));
    const size_t bytes = static_cast<size_t>(bufferMiB * 1024 * 1024) / 4096 * 4096;
    std::unique_ptr<void, FreeDeleter> a(std::aligned_alloc(4096, bytes)), b(std::aligned_alloc(4096, bytes));
    if (!a || !b) throw BackendError("membw: cannot allocate two buffers of " + std::to_string(bytes >> 20) + " MiB");
    auto* src = static_cast<char*>(a.get());
    auto* dst = static_cast<char*>(b.get());
    const int n = pool.threads();
    auto slice = [&](int t, size_t& begin, size_t& len) {
        size_t per = bytes / static_cast<size_t>(n) / 4096 * 4096;
        begin = per * static_cast<size_t>(t);
        len = t == n - 1 ? bytes - begin : per;
    };
    // Touch every page from the thread that will use it.
    pool.run([&](int t, int) {
        size_t begin, len;
        slice(t, begin, len);
        std::memset(src + begin, 1, len);
        std::memset(dst + begin, 0, len);
    });
    double bestCopy = 1e30, bestRead = 1e30;
    std::vector<uint64_t> sums(static_cast<size_t>(n));
    for (int rep = 0; rep < 3; ++rep) {
        auto start = std::chrono::steady_clock::now();
        pool.run([&](int t, int) {
            size_t begin, len;
            slice(t, begin, len);
            std::memcpy(dst + begin, src + begin, len);
        });
        bestCopy = std::min(bestCopy, seconds(start));
        start = std::chrono::steady_clock::now();
        pool.run([&](int t, int) {
            size_t begin, len;
            slice(t, begin, len);
            const auto* p = reinterpret_cast<const uint64_t*>(src + begin);
            uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (size_t i = 0; i + 4 <= len / 8; i += 4) {
                s0 += p[i];
                s1 += p[i + 1];
                s2 += p[i + 2];
                s3 += p[i + 3];
            }
            sums[static_cast<size_t>(t)] = s0 + s1 + s2 + s3;
        });
        bestRead = std::min(bestRead, seconds(start));
    }
    // The sums are checked so the compiler cannot drop the reads.
    uint64_t total = 0;
    for (auto s : sums) total += s;
    if (total == 0) throw BackendError("membw: the read pass saw only zeros");
    result.copyGBs = 2.0 * static_cast<double>(bytes) / bestCopy / 1e9;
    result.readGBs = static_cast<double>(bytes) / bestRead / 1e9;
    result.threads = n;
    result.bufferMiB = static_cast<double>(bytes) / (1024.0 * 1024.0);
    return result;
}

double measureMemoryBandwidth(int threads) { return measureMemoryBandwidthDetailed(threads).copyGBs; }

}  // namespace hearth
