// `hearth convert HF_FOLDER OUT.gguf [--type T]`: a Hugging Face safetensors folder to GGUF.
#include <cstdio>
#include <string>

#include "app/cli/command.h"
#include "app/cli/quant_job.h"
#include "models/convert/hf_converter.h"
#include "models/formats/format_error.h"
#include "models/quant/quant_preset.h"

namespace {

constexpr const char* kUsage =
    "Usage: hearth convert HF_FOLDER OUT.gguf [--type TYPE] [--threads N] [--report] [--quiet]\n"
    "       [--pure] [--output-type T] [--embd-type T]\n\n"
    "Convert a Hugging Face model folder (config.json, *.safetensors in F32/F16/BF16, tokenizer.json)\n"
    "of a llama, mistral, qwen2 or qwen3 model to a GGUF file, quantizing on the way.\n\n"
    "  --type TYPE   f32, f16 (default), bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k_s, q4_k_m,\n"
    "                q5_k_s, q5_k_m, q6_k\n"
    "  --threads N   worker threads (default: all cores)\n"
    "  --report      print each tensor's RMSE and largest absolute error against the source\n"
    "  --pure        no mixture: every quantized weight gets the preset's base type\n"
    "  --output-type T, --embd-type T\n"
    "                type of output.weight / token_embd.weight (q8_0, q6_k, f16, ...)\n"
    "  --quiet       no progress output\n\n"
    "The output is written to OUT.gguf.partial and renamed when complete; Ctrl-C stops cleanly\n"
    "and leaves no partial file.\n";

int runConvert(hearth::cli::Args& args) {
    if (args.help()) {
        std::printf("%s", kUsage);
        return 0;
    }
    std::string type = args.option("--type", "-t", "f16");
    auto job = hearth::cli::parseQuantJob(args);
    std::string folder = args.positional(0, "HF_FOLDER");
    std::string out = args.positional(1, "OUT.gguf");
    args.finish(2);
    if (!hearth::quant::presetFromName(type))
        throw hearth::cli::UsageError("hearth convert: unknown --type '" + type + "'; choose one of " +
                                      hearth::quant::presetNameList());

    return hearth::cli::runQuantJob("hearth convert", out, job,
                                    [&](const hearth::quant::WriteOptions& options) {
                                        return hearth::convert::convertHfFolder(folder, out, type, options);
                                    });
}

}  // namespace

HEARTH_COMMAND(convert, "Convert a Hugging Face safetensors folder to GGUF (any quantization)", runConvert);
