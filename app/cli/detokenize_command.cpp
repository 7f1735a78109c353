// `hearth detokenize --model M --ids 1,2,3`: the text of token ids (Hugging Face decode).
#include <cstdio>
#include <string>

#include "app/cli/command.h"
#include "inference/tokenizer/tokenizer.h"

namespace {

constexpr const char* kUsage =
    "Usage: hearth detokenize --model M --ids 1,2,3 [--skip-special]\n\n"
    "Print the text of token ids, as the model's Hugging Face tokenizer decodes them, followed\n"
    "by a newline.\n\n"
    "  --model M        a .gguf file, a Hugging Face model folder, or a folder with tokenizer.json\n"
    "  --ids LIST       comma-separated token ids\n"
    "  --skip-special   leave out special tokens (BOS, EOS, chat markers)\n";

int runDetokenize(hearth::cli::Args& args) {
    if (args.help()) {
        std::printf("%s", kUsage);
        return 0;
    }
    auto model = args.option("--model", "-m");
    auto idList = args.option("--ids");
    bool skip = args.flag("--skip-special");
    args.finish(0);
    if (!model || !idList) throw hearth::cli::UsageError("hearth detokenize: --model and --ids are required (see --help)");
    std::vector<int> parsed = hearth::cli::parseIdList(*idList, "--ids");
    std::vector<int32_t> ids(parsed.begin(), parsed.end());
    hearth::Tokenizer tok = hearth::Tokenizer::fromModelPath(*model);
    std::string text = tok.decode(ids, skip);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
}

}  // namespace

HEARTH_COMMAND(detokenize, "Print the text of token ids (Hugging Face decode)", runDetokenize);
