// `hearth bench`: prefill and decode speed of a model, set against the machine's memory bandwidth
// (decode at batch 1 reads every weight once per token, so bytes/s is its figure of merit).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "app/cli/engine_flags.h"
#include "backends/cpu/membw.h"
#include "inference/engine/engine.h"
#include "inference/engine/model_graph.h"

namespace {

constexpr const char* kUsage =
    "Usage: hearth bench --model M [-p 512] [-n 128] [--json] [options]\n"
    "       hearth bench --membw [--threads N] [--json]\n\n"
    "Measure prompt processing (-p tokens in one prefill) and generation (-n tokens, one at a time)\n"
    "with random token ids, the bytes each decoded token reads (weights + KV cache), the bandwidth\n"
    "that achieves, and memory use. --membw measures the machine's memory bandwidth alone.\n\n";

using Clock = std::chrono::steady_clock;

uint64_t residentBytes() {
    std::ifstream in("/proc/self/status");
    std::string key;
    while (in >> key) {
        if (key == "VmRSS:") {
            uint64_t kb = 0;
            in >> kb;
            return kb * 1024;
        }
        std::getline(in, key);
    }
    return 0;
}

double cpuSeconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The 1-minute load average: benchmarks on a busy machine say so.
double loadAverage() {
    std::ifstream in("/proc/loadavg");
    double l = 0;
    in >> l;
    return l;
}

// Bytes one decode step reads: every weight matrix once (the embedding only one row, unless it is
// also the output matrix), plus the keys and values of `positions` cached tokens.
uint64_t bytesPerDecodedToken(const hearth::ModelGraph& g, double positions, hearth::DType kvType) {
    const auto& w = g.weights();
    uint64_t bytes = 0;
    auto add = [&](const hearth::Tensor& t) { if (t.valid()) bytes += t.bytes(); };
    for (const auto& l : w.layers) {
        for (const auto* t : {&l.attnNorm, &l.wq, &l.wk, &l.wv, &l.bq, &l.bk, &l.bv, &l.qNorm, &l.kNorm, &l.wo,
                              &l.ffnNorm, &l.wGate, &l.wUp, &l.wDown})
            add(*t);
    }
    add(w.outputNorm);
    add(w.output);
    bytes += w.tokenEmbd.rowBytes();
    const auto& s = g.spec();
    double kvRow = 2.0 * s.numLayers * s.numKvHeads * s.headDim * (kvType == hearth::DType::F32 ? 4 : 2);
    return bytes + static_cast<uint64_t>(kvRow * positions);
}

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
    if (lo.contextSize == 0) lo.contextSize = static_cast<int>(p + n);

    auto model = Model::load(*modelPath, lo);
    if (p + n > model->contextSize())
        throw EngineError("-p + -n = " + std::to_string(p + n) + " tokens do not fit the context of " +
                          std::to_string(model->contextSize()) + " (raise --ctx-size)");
    const auto vocab = static_cast<int32_t>(model->spec().vocabSize);
    std::vector<int32_t> prompt(static_cast<size_t>(p));
    uint32_t x = 12345;
    for (auto& id : prompt) {
        x = x * 1664525u + 1013904223u;
        id = static_cast<int32_t>((x >> 8) % static_cast<uint32_t>(vocab));
    }
    Session session(model);
    // Warm-up: page in the weights and build the decode graph once.
    session.logits({prompt.data(), std::min<size_t>(prompt.size(), 8)});
    session.decodeGreedy(prompt[0]);
    session.reset();

    const double load = loadAverage();
    double c0 = cpuSeconds();
    session.logits(prompt);
    double prefillSeconds = session.lastPrefillSeconds();
    double prefillCpu = cpuSeconds() - c0;
    int32_t token = prompt.back();
    auto t0 = Clock::now();
    c0 = cpuSeconds();
    for (long long i = 0; i < n; ++i) token = session.decodeGreedy(token);
    double decodeSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
    double decodeCpu = cpuSeconds() - c0;

    double prefillTps = static_cast<double>(p) / prefillSeconds;
    double decodeTps = static_cast<double>(n) / decodeSeconds;
    uint64_t perToken = bytesPerDecodedToken(model->graph(), static_cast<double>(p) + static_cast<double>(n) / 2,
                                             lo.kvType);
    double achieved = static_cast<double>(perToken) * decodeTps / 1e9;
    auto mem = model->memoryUse();
    double membw = model->device().backend == "cpu" ? measureMemoryBandwidthDetailed(lo.threads).copyGBs : 0;

    j = {{"model", *modelPath}, {"device", model->device().id}, {"device_name", model->device().name},
         {"prompt_tokens", p}, {"gen_tokens", n}, {"prefill_tps", prefillTps}, {"decode_tps", decodeTps},
         {"bytes_per_token", perToken}, {"achieved_gbs", achieved}, {"weights_bytes", mem.weights},
         {"kv_cache_bytes", mem.kvCache}, {"scratch_bytes", mem.scratch}, {"resident_bytes", residentBytes()},
         {"context_size", model->contextSize()}, {"prefill_cpu_seconds", prefillCpu},
         {"decode_cpu_seconds", decodeCpu}, {"load_average", load}};
    if (membw > 0) {
        j["membw_copy_gbs"] = membw;
        j["fraction_of_membw"] = achieved / membw;
    }
    if (json) {
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("%s on %s (%s)\n", modelPath->c_str(), model->device().name.c_str(), model->device().id.c_str());
    std::printf("  prefill  %6lld tokens  %9.1f tok/s\n", p, prefillTps);
    std::printf("  decode   %6lld tokens  %9.1f tok/s   %.1f MB/token  %.1f GB/s", n, decodeTps,
                static_cast<double>(perToken) / 1e6, achieved);
    if (membw > 0) std::printf("  (%.0f %% of %.1f GB/s measured copy bandwidth)", 100 * achieved / membw, membw);
    std::printf("\n  cpu time prefill %.2f s, decode %.2f s (wall %.2f s, %.2f s); load average %.1f\n",
                prefillCpu, decodeCpu, prefillSeconds, decodeSeconds, load);
    std::printf("  memory   weights %.1f MiB, KV cache %.1f MiB, scratch %.1f MiB, resident %.1f MiB\n",
                static_cast<double>(mem.weights) / 1048576.0, static_cast<double>(mem.kvCache) / 1048576.0,
                static_cast<double>(mem.scratch) / 1048576.0, static_cast<double>(residentBytes()) / 1048576.0);
    return 0;
}

}  // namespace

HEARTH_COMMAND(bench, "Measure prefill/decode speed and memory bandwidth", runBench);
