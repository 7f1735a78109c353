// `hearth bench`: prefill and decode speed of a model, set against the machine's memory bandwidth
// (decode at batch 1 reads every weight once per token, so bytes/s is its figure of merit).
#include <algorithm>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "app/cli/engine_flags.h"
#include "backends/cpu/membw.h"
#include "inference/engine/engine.h"
#include "inference/engine/benchmark.h"

namespace {

constexpr const char* kUsage =
    "Usage: hearth bench --model M [-p 512] [-n 128] [-r 1] [--json] [options]\n"
    "       hearth bench --membw [--threads N] [--json]\n\n"
    "Measure prompt processing (-p tokens in one prefill) and generation (-n tokens, one at a time)\n"
    "with random token ids, the bytes each decoded token reads (weights + KV cache), the bandwidth\n"
    "that achieves, and memory use. --membw measures the machine's memory bandwidth alone.\n"
    "-r N repeats prefill and decode N times (CPU: the memory bandwidth is measured after each\n"
    "run) and reports the medians, the spread, and the median of the runs' fractions.\n\n";

int runBench(hearth::cli::Args& args) {
    using namespace hearth;
    if (args.help()) {
        std::printf("%s%s", kUsage, cli::kEngineFlagsHelp);
        return 0;
    }
    bool membwOnly = args.flag("--membw");
    bool json = args.flag("--json");
    auto modelPath = args.option("--model", "-m");
    long long p = args.intOption("--prompt-tokens", "-p").value_or(512);
    long long n = args.intOption("--gen-tokens", "-n").value_or(128);
    long long reps = args.intOption("--repetitions", "-r").value_or(1);
    LoadOptions lo = cli::loadOptionsFrom(args);
    args.finish(0);

    nlohmann::json j;
    if (membwOnly) {
        auto bw = measureMemoryBandwidthDetailed(lo.threads);
        j = {{"membw_copy_gbs", bw.copyGBs}, {"membw_read_gbs", bw.readGBs}, {"threads", bw.threads},
             {"buffer_mib", bw.bufferMiB}};
        if (json) std::printf("%s\n", j.dump(2).c_str());
        else
            std::printf("memory bandwidth: copy %.1f GB/s (read+write), read %.1f GB/s, %d threads, %.0f MiB buffers\n",
                        bw.copyGBs, bw.readGBs, bw.threads, bw.bufferMiB);
        return 0;
    }
    if (!modelPath) throw cli::UsageError("hearth bench: --model is required (or --membw)");
    if (p < 1 || n < 1) throw cli::UsageError("hearth bench: -p and -n must be at least 1");
    if (p > (1 << 24) || n > (1 << 24)) throw cli::UsageError("hearth bench: -p and -n are too large");
    if (reps < 1 || reps > 100) throw cli::UsageError("hearth bench: -r must be from 1 to 100");
    BenchResult r =
        runBenchmark(*modelPath, lo, static_cast<int>(p), static_cast<int>(n), true, static_cast<int>(reps));
    const auto& mem = r.memory;
    const double membw = r.membwCopyGBs, achieved = r.achievedGBs, perToken = static_cast<double>(r.bytesPerToken);
    j = {{"model", *modelPath}, {"device", r.deviceId}, {"device_name", r.deviceName},
         {"prompt_tokens", p}, {"gen_tokens", n}, {"prefill_tps", r.prefillTps}, {"decode_tps", r.decodeTps},
         {"bytes_per_token", r.bytesPerToken}, {"achieved_gbs", achieved}, {"weights_bytes", mem.weights},
         {"kv_cache_bytes", mem.kvCache}, {"scratch_bytes", mem.scratch}, {"resident_bytes", r.residentBytes},
         {"context_size", r.contextSize}, {"prefill_cpu_seconds", r.prefillCpuSeconds},
         {"decode_cpu_seconds", r.decodeCpuSeconds}, {"load_average", r.loadAverage}, {"repetitions", reps}};
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& run : r.runs) {
        nlohmann::json one = {{"prefill_tps", run.prefillTps}, {"decode_tps", run.decodeTps}};
        if (run.membwReadGBs > 0) {
            one["membw_read_gbs"] = run.membwReadGBs;
            one["fraction_of_read_membw"] =
                static_cast<double>(r.bytesPerToken) * run.decodeTps / 1e9 / run.membwReadGBs;
        }
        runs.push_back(one);
    }
    j["runs"] = runs;
    if (membw > 0) {
        j["membw_copy_gbs"] = membw;
        j["fraction_of_membw"] = achieved / membw;
    }
    // Decode only reads, so its honest yardstick is the read figure (the copy one counts both
    // directions of a copy).
    const double readBw = r.membwReadGBs, readFraction = medianFractionOfReadBandwidth(r);
    if (readBw > 0) {
        j["membw_read_gbs"] = readBw;
        j["fraction_of_read_membw"] = readFraction;
    }
    if (r.weightsReadGBs > 0) {
        j["weights_read_gbs"] = r.weightsReadGBs;
        j["fraction_of_weights_read"] = achieved / r.weightsReadGBs;
    }
    if (r.deviceId.rfind("cpu", 0) == 0) j["huge_page_file_bytes"] = r.hugePageFileBytes;
    // A GPU: its own roof (a streaming kernel) and the VRAM the run holds, as planned and as measured.
    const double stream = r.deviceStreamGBs;
    const uint64_t onDevice = mem.weights + mem.kvCache + mem.scratch;
    if (stream > 0) {
        j["device_stream_gbs"] = stream;
        j["fraction_of_membw"] = achieved / stream;
    }
    if (r.deviceTotalMemory > 0) {
        j["device_memory_bytes"] = onDevice;
        j["device_memory_used_bytes"] = r.deviceMemoryUsed;
        j["device_total_memory_bytes"] = r.deviceTotalMemory;
    }
    if (json) {
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("%s on %s (%s)\n", modelPath->c_str(), r.deviceName.c_str(), r.deviceId.c_str());
    std::printf("  prefill  %6lld tokens  %9.1f tok/s\n", p, r.prefillTps);
    std::printf("  decode   %6lld tokens  %9.1f tok/s   %.1f MB/token  %.1f GB/s", n, r.decodeTps,
                perToken / 1e6, achieved);
    if (readBw > 0)
        std::printf("  (%.0f %% of %.1f GB/s measured read bandwidth; copy %.1f GB/s)", 100 * readFraction, readBw,
                    membw);
    else if (membw > 0) std::printf("  (%.0f %% of %.1f GB/s measured copy bandwidth)", 100 * achieved / membw, membw);
    if (stream > 0) std::printf("  (%.0f %% of %.1f GB/s measured stream bandwidth)", 100 * achieved / stream, stream);
    if (r.runs.size() > 1) {
        double slowest = 1e300, fastest = 0, fLo = 1e300, fHi = 0;
        for (const auto& run : r.runs) {
            slowest = std::min(slowest, run.decodeTps);
            fastest = std::max(fastest, run.decodeTps);
            if (run.membwReadGBs > 0) {
                const double f = perToken * run.decodeTps / 1e9 / run.membwReadGBs;
                fLo = std::min(fLo, f);
                fHi = std::max(fHi, f);
            }
        }
        std::printf("\n  runs     %zu: decode %.1f-%.1f tok/s", r.runs.size(), slowest, fastest);
        if (fHi > 0)
            std::printf(", %.0f-%.0f %% of the read bandwidth measured after each (median %.0f %%)",
                        100 * fLo, 100 * fHi, 100 * readFraction);
    }
    std::printf("\n  cpu time prefill %.2f s, decode %.2f s (wall %.2f s, %.2f s); load average %.1f\n",
                r.prefillCpuSeconds, r.decodeCpuSeconds, r.prefillSeconds, r.decodeSeconds, r.loadAverage);
    std::printf("  memory   weights %.1f MiB, KV cache %.1f MiB, scratch %.1f MiB, resident %.1f MiB\n",
                static_cast<double>(mem.weights) / 1048576.0, static_cast<double>(mem.kvCache) / 1048576.0,
                static_cast<double>(mem.scratch) / 1048576.0, static_cast<double>(r.residentBytes) / 1048576.0);
    if (r.weightsReadGBs > 0)
        std::printf("  weights  read at %.1f GB/s where they are mapped (decode reached %.0f %% of that)%s\n",
                    r.weightsReadGBs, 100 * achieved / r.weightsReadGBs,
                    readBw > 0 && r.weightsReadGBs < 0.9 * readBw
                        ? "; slower than a fresh buffer: part of the page cache sits in slower memory"
                        : "");
    if (r.deviceId.rfind("cpu", 0) == 0)
        std::printf("  pages    %.1f MiB of the mapped file on 2 MiB pages%s\n",
                    static_cast<double>(r.hugePageFileBytes) / 1048576.0,
                    r.hugePageFileBytes < mem.weights / 2
                        ? " (few: the page cache held the file in small pages; decode reads them slower)"
                        : "");
    if (r.deviceTotalMemory > 0)
        std::printf("  device   %.1f MiB = weights + KV cache + scratch; %.1f MiB measured in use, of %.1f MiB\n",
                    static_cast<double>(onDevice) / 1048576.0, static_cast<double>(r.deviceMemoryUsed) / 1048576.0,
                    static_cast<double>(r.deviceTotalMemory) / 1048576.0);
    return 0;
}

}  // namespace

HEARTH_COMMAND(bench, "Measure prefill/decode speed and memory bandwidth", runBench);
