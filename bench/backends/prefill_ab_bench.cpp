// Prefill against decode through the whole engine, with the AMX prefill path on and off (A/B in
// one process), in wall-clock and in process CPU time, so that a busy machine can still compare:
//
//   bench_cpu_prefill MODEL.gguf [-p 512] [-n 32] [--threads 2] [--amx on|off|both]
//
// Prints one line per setting: tokens/s and CPU-seconds per token of prefill and decode, and
// prefill / decode in both measures (the target is prefill >= 5x decode tokens/s).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "inference/engine/benchmark.h"

int main(int argc, char** argv) {
    std::string model;
    int p = 512, n = 32;
    std::string amxModes = "both";
    hearth::LoadOptions lo;
    lo.device = "cpu";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "-p") p = std::atoi(next().c_str());
        else if (a == "-n") n = std::atoi(next().c_str());
        else if (a == "--threads") lo.threads = std::atoi(next().c_str());
        else if (a == "--amx") amxModes = next();
        else if (!a.empty() && a[0] != '-' && model.empty()) model = a;
        else model.clear(), i = argc;
    }
    if (model.empty()) {
        std::fprintf(stderr, "usage: bench_cpu_prefill MODEL.gguf [-p 512] [-n 32] [--threads N] [--amx on|off|both]\n");
        return 2;
    }
    std::printf("%-8s %6s %12s %14s %12s %14s %10s %12s %6s\n", "amx", "p", "prefill t/s", "prefill cpu-ms",
                "decode t/s", "decode cpu-ms", "ratio", "ratio (cpu)", "load");
    for (const char* amx : {"1", "0"}) {
        if (amxModes != "both" && amxModes != (amx[0] == '1' ? "on" : "off")) continue;
        setenv("HEARTH_CPU_AMX", amx, 1);
        try {
            const auto r = hearth::runBenchmark(model, lo, p, n, false);
            const double prefillCpu = r.prefillCpuSeconds / p, decodeCpu = r.decodeCpuSeconds / n;
            std::printf("%-8s %6d %12.1f %14.2f %12.2f %14.2f %10.2f %12.2f %6.2f\n", amx[0] == '1' ? "on" : "off", p,
                        r.prefillTps, prefillCpu * 1e3, r.decodeTps, decodeCpu * 1e3, r.prefillTps / r.decodeTps,
                        decodeCpu / prefillCpu, r.loadAverage);
            std::fflush(stdout);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bench_cpu_prefill: %s\n", e.what());
            return 1;
        }
    }
    return 0;
}
