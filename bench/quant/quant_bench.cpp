// Quantization throughput: MB/s of F16 input per target type, through the same streaming writer
// `hearth quantize` uses, on tensors of Llama-3.1-8B's shapes; and the extrapolated time for a
// whole 8B F16 model -> Q4_K_M (the budget: under 10 minutes on the 2-core CI machine).
//
//   quant_bench [--threads N] [--layers L] [--out DIR] [--presets q4_k_m,q8_0,...]
//
// It writes one decoder layer of the 8B shape (218 M weights, 436 MB of F16) per run.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "models/quant/block_quant.h"
#include "models/quant/quant_preset.h"
#include "models/quant/quantizer.h"

using namespace hearth;

namespace {

struct Shape {
    const char* name;
    uint64_t cols, rows;
};

// One Llama-3.1-8B decoder layer (hidden 4096, 8 KV heads of 128, FFN 14336).
const Shape kLayer[] = {
    {"attn_q.weight", 4096, 4096},  {"attn_k.weight", 4096, 1024},   {"attn_v.weight", 4096, 1024},
    {"attn_output.weight", 4096, 4096}, {"ffn_gate.weight", 4096, 14336}, {"ffn_up.weight", 4096, 14336},
    {"ffn_down.weight", 14336, 4096},
};
constexpr double kModel8BWeights = 8.03e9;

}  // namespace

int main(int argc, char** argv) {
    int threads = static_cast<int>(std::thread::hardware_concurrency());
    int layers = 1;
    std::filesystem::path outDir = std::filesystem::temp_directory_path();
    std::string presets = "f16,q8_0,q4_0,q4_1,q5_0,q5_1,q6_k,q5_k_m,q4_k_m,q4_k_s";
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--threads") threads = std::stoi(argv[i + 1]);
        else if (a == "--layers") layers = std::stoi(argv[i + 1]);
        else if (a == "--out") outDir = argv[i + 1];
        else if (a == "--presets") presets = argv[i + 1];
    }

    // Random F16 weights with a realistic spread (N(0, 0.02)), shared by all tensors of a shape.
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.f, 0.02f);
    uint64_t maxElems = 0;
    for (const auto& s : kLayer) maxElems = std::max(maxElems, s.cols * s.rows);
    std::vector<uint16_t> weights(maxElems);
    for (auto& w : weights) w = f32ToF16(normal(rng));

    std::vector<quant::SourceTensor> sources;
    std::vector<quant::TensorDesc> descs;
    uint64_t inputBytes = 0;
    for (int l = 0; l < layers; ++l)
        for (const auto& s : kLayer) {
            quant::SourceTensor t;
            t.name = "blk." + std::to_string(l) + "." + s.name;
            t.shape = {s.cols, s.rows};
            t.sourceType = DType::F16;
            t.data = reinterpret_cast<const uint8_t*>(weights.data());
            descs.push_back({t.name, t.shape, t.sourceType});
            inputBytes += t.sourceBytes();
            sources.push_back(std::move(t));
        }
    std::printf("quant_bench: %d layer(s) of Llama-3.1-8B shape, %.1f MB of F16 input, %d thread(s), %u cores\n",
                layers, inputBytes / 1048576.0, threads, std::thread::hardware_concurrency());
    // Wall time depends on what else the machine runs; CPU time does not, so the 8B figure is
    // extrapolated from MB per CPU-second times the thread count (the rows are independent).
    std::printf("%-8s %9s %9s %9s %12s   %s\n", "preset", "wall s", "cpu s", "MB/s", "MB/cpu-s",
                "8B F16 -> preset on N threads (extrapolated)");
    for (size_t at = 0; at < presets.size();) {
        size_t comma = presets.find(',', at);
        std::string name = presets.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        at = comma == std::string::npos ? presets.size() : comma + 1;
        auto preset = *quant::presetFromName(name);
        // A 32-layer model: the layer pattern of the mixtures needs the real layer count.
        auto plan = quant::planTensorTypes(preset, descs, 32);
        std::vector<DType> types;
        for (auto& p : plan) types.push_back(p.type);
        quant::WriteOptions options;
        options.threads = threads;
        std::clock_t cpuStart = std::clock();
        auto out = outDir / ("quant_bench_" + name + ".gguf");
        auto result = quant::writeGguf(out, {{"general.architecture", gguf::Value{std::string("llama")}}}, sources,
                                       types, {}, options);
        std::filesystem::remove(out);
        double cpu = static_cast<double>(std::clock() - cpuStart) / CLOCKS_PER_SEC;
        double mb = inputBytes / 1048576.0;
        double perCpu = mb / cpu;
        double minutes = kModel8BWeights * 2 / 1048576.0 / (perCpu * threads) / 60;
        std::printf("%-8s %9.2f %9.2f %9.1f %12.1f   %.1f min\n", name.c_str(), result.seconds, cpu, mb / result.seconds,
                    perCpu, minutes);
        std::fflush(stdout);
    }
    return 0;
}
