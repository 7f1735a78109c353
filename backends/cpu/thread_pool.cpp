#include "backends/cpu/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HEARTH_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define HEARTH_CPU_RELAX() asm volatile("yield")
#else
#define HEARTH_CPU_RELAX() ((void)0)
#endif

namespace hearth::cpu {

namespace {

// Some tens of microseconds of spinning (a pause is 10-140 cycles depending on the core; 2,000
// took 21 us on the development VM's Xeon) before a worker sleeps: long enough to bridge the
// gap between two ops of a decode step, short enough not to burn a shared machine's cores.
// (Ten times as long made no difference to decode there: docs/performance.md.)
constexpr int kSpinIterations = 2000;

}  // namespace

ThreadPool::ThreadPool(int threads) {
    threads = std::max(1, threads);
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(mutex_);
        stop_.store(true);
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
    int n = threads();
    if (n == 1) {
        fn(0, 1);
        return;
    }
    job_ = &fn;
    pending_.store(n - 1, std::memory_order_relaxed);
    {
        std::lock_guard lock(mutex_);
        generation_.fetch_add(1, std::memory_order_release);
    }
    if (sleepers_.load() > 0) wake_.notify_all();
    fn(0, n);
    // A worker that was preempted may take a while: yield rather than spin against it.
    for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
        if (spin < kSpinIterations) HEARTH_CPU_RELAX();
        else std::this_thread::yield();
    }
    job_ = nullptr;
}

void ThreadPool::workerLoop(int index) {
    uint64_t seen = 0;
    for (;;) {
        uint64_t g = generation_.load(std::memory_order_acquire);
        for (int spin = 0; g == seen && spin < kSpinIterations; ++spin) {
            HEARTH_CPU_RELAX();
            g = generation_.load(std::memory_order_acquire);
        }
        if (g == seen) {
            std::unique_lock lock(mutex_);
            sleepers_.fetch_add(1);
            wake_.wait(lock, [&] { return generation_.load() != seen; });
            sleepers_.fetch_sub(1);
            g = generation_.load();
        }
        seen = g;
        if (stop_.load()) return;
        (*job_)(index, threads());
        pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

void ThreadPool::parallelFor(int64_t count, int64_t grain,
                             const std::function<void(int64_t, int64_t, int)>& fn) {
    if (count <= 0) return;
    grain = std::max<int64_t>(1, grain);
    if (count <= grain || threads() == 1) {
        fn(0, count, 0);
        return;
    }
    std::atomic<int64_t> next{0};
    run([&](int thread, int) {
        for (;;) {
            int64_t begin = next.fetch_add(grain, std::memory_order_relaxed);
            if (begin >= count) break;
            fn(begin, std::min(count, begin + grain), thread);
        }
    });
}

int physicalCoreCount() {
    // Count distinct (package, core) pairs; hyper-threads share one.
    std::set<std::pair<int, int>> cores;
    unsigned logical = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned cpu = 0; cpu < logical; ++cpu) {
        std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        std::ifstream core(base + "core_id"), package(base + "physical_package_id");
        int c = -1, p = -1;
        if (!(core >> c) || !(package >> p)) return static_cast<int>(logical);
        cores.emplace(p, c);
    }
    return std::max(1, static_cast<int>(cores.size()));
}

}  // namespace hearth::cpu
