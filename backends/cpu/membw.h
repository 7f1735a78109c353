// Measures the machine's memory bandwidth the way decode uses it: every core streaming through
// buffers far larger than the caches. `hearth bench --membw` prints it, and decode throughput is
// judged against it.
#pragma once

#include <cstddef>

namespace hearth {

struct MemoryBandwidth {
    double copyGBs = 0;  // read + write bytes per second / 1e9, of a multithreaded copy
    double readGBs = 0;  // bytes read per second / 1e9, of a multithreaded sum
    int threads = 0;
    double bufferMiB = 0;  // size of each of the two buffers
};

// threads = 0: one per physical core. bufferMiB = 0: 4x the last-level cache, at least 1 GiB
// (capped by available memory). Takes about a second.
MemoryBandwidth measureMemoryBandwidthDetailed(int threads = 0, double bufferMiB = 0);
// The copy figure alone, in GB/s.
double measureMemoryBandwidth(int threads = 0);
// The read figure over memory already in use, in GB/s: for `hearth bench`, the mapped weights of a
// model, which can sit in memory that reads slower than a fresh buffer (see docs/performance.md,
// "Where the weights live"). Reads [data, data + bytes) whole pages only; 0 if there are none.
double measureReadBandwidth(const void* data, size_t bytes, int threads = 0);

}  // namespace hearth
