// Flags shared by the engine commands (chat, generate, logits, bench): device, threads, context
// size and sampling settings, parsed the same way everywhere.
#pragma once

#include <string>

#include "app/cli/args.h"
#include "inference/engine/engine.h"

namespace hearth::cli {

inline constexpr const char* kEngineFlagsHelp =
    "  --device ID          cpu, cuda:0, hip:0, vulkan:0 or auto (default auto)\n"
    "  --threads N          CPU threads (default: physical cores)\n"
    "  --ctx-size N         context size in tokens (default: min(model's, 4096))\n"
    "  --kv-type T          KV cache type: f16 (default) or f32\n";

inline constexpr const char* kSamplerFlagsHelp =
    "  --temperature T      0 = greedy (default 0.8)\n"
    "  --seed S             random seed, 0 = random (default 0)\n"
    "  --top-k K            (default 40, 0 = off)\n"
    "  --top-p P            (default 0.95, 1 = off)\n"
    "  --min-p P            (default 0.05, 0 = off)\n"
    "  --repeat-penalty R   (default 1.0 = off); --repeat-last-n N (default 64)\n"
    "  --presence-penalty P, --frequency-penalty F   (default 0)\n";

inline LoadOptions loadOptionsFrom(Args& args) {
    LoadOptions o;
    o.device = args.option("--device", "", "auto");
    if (auto t = args.intOption("--threads")) {
        if (*t < 0 || *t > 1024) throw UsageError(args.command() + ": --threads must be between 0 and 1024");
        o.threads = static_cast<int>(*t);
    }
    if (auto c = args.intOption("--ctx-size", "-c")) {
        if (*c < 1 || *c > (1 << 24)) throw UsageError(args.command() + ": --ctx-size must be between 1 and 16777216");
        o.contextSize = static_cast<int>(*c);
    }
    std::string kv = args.option("--kv-type", "", "f16");
    if (kv == "f16") o.kvType = DType::F16;
    else if (kv == "f32") o.kvType = DType::F32;
    else throw UsageError(args.command() + ": --kv-type must be f16 or f32");
    return o;
}

inline SamplerSettings samplerFrom(Args& args) {
    SamplerSettings s;
    auto f = [&](const char* name, float& into, double lo, double hi) {
        if (auto v = args.floatOption(name)) {
            if (!(*v >= lo && *v <= hi))
                throw UsageError(args.command() + ": " + name + " must be between " + std::to_string(lo) + " and " +
                                 std::to_string(hi));
            into = static_cast<float>(*v);
        }
    };
    f("--temperature", s.temperature, 0, 100);
    f("--top-p", s.topP, 0, 1);
    f("--min-p", s.minP, 0, 1);
    f("--repeat-penalty", s.repeatPenalty, 0.01, 100);
    f("--presence-penalty", s.presencePenalty, -100, 100);
    f("--frequency-penalty", s.frequencyPenalty, -100, 100);
    if (auto k = args.intOption("--top-k")) {
        if (*k < 0) throw UsageError(args.command() + ": --top-k must be 0 or more");
        s.topK = static_cast<int>(*k);
    }
    if (auto n = args.intOption("--repeat-last-n")) s.repeatLastN = static_cast<int>(*n);
    if (auto seed = args.intOption("--seed")) {
        if (*seed < 0) throw UsageError(args.command() + ": --seed must be 0 or more");
        s.seed = static_cast<uint64_t>(*seed);
    }
    return s;
}

}  // namespace hearth::cli
