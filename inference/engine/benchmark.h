// The measurement behind `hearth bench`: prefill of p random tokens, then n single-token decode
// steps, with the bytes each decoded token reads. Shared by the CLI and bench/engine/engine_bench
// (a Qt-free driver for machines without Qt).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "inference/engine/engine.h"

namespace hearth {

// One repetition of prefill + decode, and (CPU, when measured) the machine's read bandwidth
// measured right after it: the run's own yardstick, on a machine whose bandwidth drifts.
struct BenchRun {
    double prefillTps = 0, decodeTps = 0;
    double membwReadGBs = 0, membwCopyGBs = 0;
};

// With several repetitions, the speeds and bandwidths below are the runs' medians and the seconds
// their sums.
struct BenchResult {
    std::vector<BenchRun> runs;
    std::string deviceId, deviceName;
    int promptTokens = 0, genTokens = 0, contextSize = 0;
    double prefillTps = 0, decodeTps = 0;
    double prefillSeconds = 0, decodeSeconds = 0;
    double prefillCpuSeconds = 0, decodeCpuSeconds = 0;  // process CPU time (all threads)
    uint64_t bytesPerToken = 0;  // weights read once + KV of the average position
    double achievedGBs = 0;
    double membwCopyGBs = 0;     // measured on the CPU backend only; 0 otherwise
    double membwReadGBs = 0;     // the same run's read-only figure: the yardstick for decode
    // The same read pass over the model's mapped weights (CPU only): below membwReadGBs when the
    // pages the weights occupy read slower than a fresh buffer, which decode then cannot beat.
    double weightsReadGBs = 0;
    // GPU backends: the backend's add() over three F32 arrays far larger than any cache (two
    // reads, one write), the bandwidth a plain streaming kernel reaches: the roof for decode.
    double deviceStreamGBs = 0;
    // GPU backends: how far the device's free memory fell from before the load to the end of the
    // run (weights + KV cache + activations + the backend's own scratch and library workspaces);
    // 0 where the backend reports no free memory.
    uint64_t deviceMemoryUsed = 0, deviceTotalMemory = 0;
    double loadAverage = 0;      // 1-minute load average when the run started
    MemoryUse memory;
    uint64_t residentBytes = 0;
    // File bytes this process maps with 2 MiB pages (Linux FilePmdMapped): CPU decode streams the
    // weights ~30 % slower from 4 KiB pages, which a page cache filled without the hint gives.
    uint64_t hugePageFileBytes = 0;
};

// Throws EngineError when p + n does not fit the context. `measureBandwidth` runs the memory-
// bandwidth measurement for the fraction: the CPU's (about a second, after every repetition), or
// a GPU's stream kernel (once).
BenchResult runBenchmark(const std::filesystem::path& model, LoadOptions options, int p, int n,
                         bool measureBandwidth = true, int repetitions = 1);

// The median of the runs' decode bytes/s over the read bandwidth measured after each (0 when no
// run has one): steadier than the median speed over the median bandwidth when the machine's
// bandwidth drifts between runs.
double medianFractionOfReadBandwidth(const BenchResult& r);

// Bytes one decode step reads: every weight matrix once (the token embedding one row, unless it is
// also the output matrix) plus the keys and values of `positions` cached tokens.
class ModelGraph;
uint64_t bytesPerDecodedToken(const ModelGraph& graph, double positions, DType kvType);

uint64_t residentBytes();  // VmRSS of this process
uint64_t hugePageFileBytes();  // FilePmdMapped of this process (0 where unknown)

}  // namespace hearth
