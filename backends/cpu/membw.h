// Measures the machine's memory bandwidth the way decode uses it: every core streaming through
// buffers far larger than the caches. `hearth bench --membw` prints it, and decode throughput is
// judged against it.
#pragma once

#include <cstddef>
#include <memory>

namespace hearth {

struct MemoryBandwidth {
    double copyGBs = 0;  // read + write bytes per second / 1e9, of a multithreaded copy
    double readGBs = 0;  // bytes read per second / 1e9, of a multithreaded sum
    int threads = 0;
    double bufferMiB = 0;  // size of each of the two buffers
};

// The buffers and threads of the measurement, kept for repeated measurements (`hearth bench`
// measures after every run). Allocating and freeing 2 GiB each time cost the run after it: on
// a VM that reports freed memory to its host (virtio-balloon free page reporting), the host
// took those pages back ~2 s after each free, and single decode steps of the next run stalled
// 30-40 ms while it did (docs/performance.md, "Decode, eleventh pass").
// threads = 0: one per physical core. bufferMiB = 0: twice the last-level cache, at least 1 GiB
// (capped by available memory). The constructor allocates and touches the two buffers;
// measure() takes about a second.
class MemoryBandwidthProbe {
public:
    explicit MemoryBandwidthProbe(int threads = 0, double bufferMiB = 0);
    ~MemoryBandwidthProbe();
    MemoryBandwidthProbe(const MemoryBandwidthProbe&) = delete;
    MemoryBandwidthProbe& operator=(const MemoryBandwidthProbe&) = delete;
    MemoryBandwidth measure();

private:
    struct State;
    std::unique_ptr<State> state_;
};

// One measurement with a probe of its own (arguments as for the probe).
MemoryBandwidth measureMemoryBandwidthDetailed(int threads = 0, double bufferMiB = 0);
// The copy figure alone, in GB/s.
double measureMemoryBandwidth(int threads = 0);
// The read figure over memory already in use, in GB/s: for `hearth bench`, the mapped weights of a
// model, which can sit in memory that reads slower than a fresh buffer (see docs/performance.md,
// "Where the weights live"). Reads [data, data + bytes) whole pages only; 0 if there are none.
double measureReadBandwidth(const void* data, size_t bytes, int threads = 0);

}  // namespace hearth
