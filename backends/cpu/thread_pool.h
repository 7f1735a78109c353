// A fixed set of worker threads that run one parallel region at a time, for the CPU backend.
//
//   ThreadPool pool(4);
//   pool.run([&](int thread, int threads) { ... work share `thread` of `threads` ... });
//
// The calling thread takes part as thread 0, and run() returns when every thread has finished.
// Workers spin briefly before sleeping, because a decode step issues a few hundred short regions
// and waking a sleeping thread costs more than most of them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth::cpu {

class ThreadPool {
public:
    explicit ThreadPool(int threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int threads() const { return static_cast<int>(workers_.size()) + 1; }
    void run(const std::function<void(int thread, int threads)>& fn);

    // Splits [0, count) into dynamically claimed chunks of `grain`; fn(begin, end, thread).
    void parallelFor(int64_t count, int64_t grain,
                     const std::function<void(int64_t begin, int64_t end, int thread)>& fn);

private:
    void workerLoop(int index);

    std::vector<std::thread> workers_;
    // What the calling thread writes and the workers spin on, and what the workers write and the
    // calling thread spins on, sit on separate cache lines: sharing one made each side's write
    // wait for the line the other side kept reading.
    alignas(64) const std::function<void(int, int)>* job_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> stop_{false};
    alignas(64) std::atomic<int> pending_{0};
    alignas(64) std::mutex mutex_;  // for sleeping workers: off pending_'s line
    std::condition_variable wake_;
    std::atomic<int> sleepers_{0};
};

// Physical cores of this machine (hyper-threads not counted); at least 1.
int physicalCoreCount();

}  // namespace hearth::cpu
