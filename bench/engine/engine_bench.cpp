// engine_bench: `hearth bench --json` without Qt, for machines where the app cannot be built (the
// GPU machine's host CPU, idle, to measure the engine away from the busy build VM).
//
//   engine_bench MODEL.gguf [-p 512] [-n 128] [--threads N] [--device ID]
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "inference/engine/benchmark.h"

int main(int argc, char** argv) {
    std::string model;
    int p = 512, n = 128;
    hearth::LoadOptions lo;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "-p") p = std::atoi(next().c_str());
        else if (a == "-n") n = std::atoi(next().c_str());
        else if (a == "--threads") lo.threads = std::atoi(next().c_str());
        else if (a == "--device") lo.device = next();
        else if (!a.empty() && a[0] != '-' && model.empty()) model = a;
        else {
            std::fprintf(stderr, "Usage: engine_bench MODEL.gguf [-p 512] [-n 128] [--threads N] [--device ID]\n");
            return 2;
        }
    }
    if (model.empty()) {
        std::fprintf(stderr, "Usage: engine_bench MODEL.gguf [-p 512] [-n 128] [--threads N] [--device ID]\n");
        return 2;
    }
    try {
        auto r = hearth::runBenchmark(model, lo, p, n);
        nlohmann::json j = {{"model", model}, {"device", r.deviceId}, {"device_name", r.deviceName},
                            {"prompt_tokens", p}, {"gen_tokens", n}, {"prefill_tps", r.prefillTps},
                            {"decode_tps", r.decodeTps}, {"bytes_per_token", r.bytesPerToken},
                            {"achieved_gbs", r.achievedGBs}, {"membw_copy_gbs", r.membwCopyGBs},
                            {"fraction_of_membw", r.membwCopyGBs > 0 ? r.achievedGBs / r.membwCopyGBs : 0.0},
                            {"membw_read_gbs", r.membwReadGBs}, {"weights_read_gbs", r.weightsReadGBs},
                            {"prefill_over_decode", r.prefillTps / r.decodeTps},
                            {"weights_bytes", r.memory.weights}, {"kv_cache_bytes", r.memory.kvCache},
                            {"scratch_bytes", r.memory.scratch}, {"resident_bytes", r.residentBytes},
                            {"load_average", r.loadAverage}, {"threads", lo.threads}};
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "engine_bench: %s\n", e.what());
        return 1;
    }
}
