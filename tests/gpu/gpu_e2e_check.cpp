// End to end on a GPU: the fixture models (tests/fixtures, converted to GGUF by `hearth convert`)
// run through the engine on the CPU and on the GPU: last-position logits of every reference prompt
// within NMSE 1e-4 of transformers (float64) and 1e-6 of the CPU backend, and the same 16 greedy
// tokens as the CPU (up to the reference's first near-tie). Qt-free, so it can be built here and
// run on the device machine (tests/gpu/run-on-device.sh e2e).
//
//   gpu_e2e_check GGUF_DIR FIXTURES_DIR [device]     GGUF_DIR holds <fixture>_<f32|f16>.gguf
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inference/engine/engine.h"

using namespace hearth;
namespace fs = std::filesystem;

namespace {

double nmse(const std::vector<float>& got, const std::vector<double>& want) {
    double err = 0, ref = 0;
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
        if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
        err += (got[i] - want[i]) * (got[i] - want[i]);
        ref += want[i] * want[i];
    }
    return got.size() == want.size() && ref > 0 ? err / ref : std::numeric_limits<double>::infinity();
}

std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Greedy steps before the reference's first near-tie (top-1 minus top-2 below `margin`).
size_t comparableSteps(const nlohmann::json& p, double margin) {
    const auto& m = p["greedy_margins"];
    size_t n = 0;
    while (n < m.size() && m[n].get<double>() >= margin) ++n;
    return n;
}

std::shared_ptr<Model> load(const fs::path& gguf, const std::string& device, DType kv) {
    LoadOptions o;
    o.device = device;
    o.kvType = kv;
    return Model::load(gguf, o);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: gpu_e2e_check GGUF_DIR FIXTURES_DIR [device]\n");
        return 2;
    }
    fs::path ggufDir = argv[1], fixtures = argv[2];
    std::string device = argc > 3 ? argv[3] : "cuda:0";
    int failures = 0, checks = 0;
    auto report = [&](bool ok, const std::string& what) {
        ++checks;
        if (!ok) ++failures;
        std::printf("%-4s %s\n", ok ? "ok" : "FAIL", what.c_str());
    };
    for (const char* fixture : {"llama", "llama3_rope", "mistral", "qwen2", "qwen3"}) {
        for (const char* type : {"f32", "f16"}) {
            fs::path gguf = ggufDir / (std::string(fixture) + "_" + type + ".gguf");
            std::string name = std::string(fixture) + " " + type;
            try {
                auto ref = nlohmann::json::parse(std::ifstream(fixtures / fixture / "reference.json"));
                DType kv = std::string(type) == "f32" ? DType::F32 : DType::F16;
                auto gpuModel = load(gguf, device, kv), cpuModel = load(gguf, "cpu", kv);
                Session gpu(gpuModel), cpu(cpuModel);
                for (const auto& p : ref["prompts"]) {
                    std::vector<int32_t> prompt = p["ids"].get<std::vector<int32_t>>();
                    gpu.reset();
                    cpu.reset();
                    auto g = gpu.logits(prompt), c = cpu.logits(prompt);
                    double eRef = nmse(g, p["logits"].get<std::vector<double>>()), eCpu = nmse(g, widen(c));
                    char line[256];
                    std::snprintf(line, sizeof line, "%s prompt %zu: NMSE vs transformers %.3g, vs cpu %.3g", name.c_str(),
                                  prompt.size(), eRef, eCpu);
                    report(eRef < 1e-4 && eCpu < 1e-6, line);

                    GenerationRequest req;
                    req.promptIds = prompt;
                    req.sampler.temperature = 0;
                    req.maxTokens = 16;
                    req.ignoreEos = true;
                    gpu.reset();
                    cpu.reset();
                    auto rg = gpu.generate(req, {}), rc = cpu.generate(req, {});
                    size_t steps = std::min<size_t>(comparableSteps(p, 1e-3), 16);
                    bool same = rg.ids.size() == 16 && rc.ids.size() == 16;
                    for (size_t i = 0; same && i < steps; ++i) same = rg.ids[i] == rc.ids[i];
                    std::snprintf(line, sizeof line, "%s prompt %zu: greedy ids equal the cpu's for %zu steps",
                                  name.c_str(), prompt.size(), steps);
                    report(same && steps >= 2, line);
                }
            } catch (const std::exception& e) {
                report(false, name + ": " + e.what());
            }
        }
    }
    std::printf("gpu_e2e_check: %d of %d checks failed on %s\n", failures, checks, device.c_str());
    return failures == 0 ? 0 : 1;
}
