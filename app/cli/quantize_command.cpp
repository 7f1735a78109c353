// `hearth quantize IN.gguf OUT.gguf TYPE [--report]`: re-encode an F32/F16/BF16 GGUF file.
#include <cstdio>
#include <string>

#include "app/cli/command.h"
#include "app/cli/quant_job.h"
#include "models/quant/quant_preset.h"
#include "models/quant/quantizer.h"

namespace {

constexpr const char* kUsage =
    "Usage: hearth quantize IN.gguf OUT.gguf TYPE [--threads N] [--report] [--quiet]\n"
    "       [--pure] [--output-type T] [--embd-type T]\n\n"
    "Quantize an F32, F16 or BF16 GGUF model. Metadata is copied; general.file_type is updated.\n\n"
    "  TYPE          q4_k_m, q5_k_m, q4_k_s, q5_k_s, q6_k, q8_0, q4_0, q4_1, q5_0, q5_1, f16, bf16, f32\n"
    "                (_m mixtures give attn_v / ffn_down of some layers and output.weight Q6_K)\n"
    "  --threads N   worker threads (default: all cores)\n"
    "  --report      print each tensor's RMSE and largest absolute error against the source\n"
    "  --pure        no mixture: every quantized weight gets the preset's base type\n"
    "  --output-type T, --embd-type T\n"
    "                type of output.weight / token_embd.weight (q8_0, q6_k, f16, ...)\n"
    "  --quiet       no progress output\n";

int runQuantize(hearth::cli::Args& args) {
    if (args.help()) {
        std::printf("%s", kUsage);
        return 0;
    }
    auto job = hearth::cli::parseQuantJob(args);
    std::string in = args.positional(0, "IN.gguf");
    std::string out = args.positional(1, "OUT.gguf");
    std::string type = args.positional(2, "TYPE");
    args.finish(3);
    if (!hearth::quant::presetFromName(type))
        throw hearth::cli::UsageError("hearth quantize: unknown TYPE '" + type + "'; choose one of " +
                                      hearth::quant::presetNameList());

    return hearth::cli::runQuantJob("hearth quantize", out, job,
                                    [&](const hearth::quant::WriteOptions& options) {
                                        return hearth::quant::quantizeGguf(in, out, type, options);
                                    });
}

}  // namespace

HEARTH_COMMAND(quantize, "Quantize an F32/F16/BF16 GGUF model (q4_k_m, q8_0, ...)", runQuantize);
