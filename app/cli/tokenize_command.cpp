// `hearth tokenize --model M (--text T | --file F) [--json]`: the ids Hugging Face's
// tokenizer.encode(text) gives, with its default special-token handling.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "inference/tokenizer/tokenizer.h"

namespace {

constexpr const char* kUsage =
    "Usage: hearth tokenize --model M (--text T | --file F) [--json] [--no-special]\n\n"
    "Print the token ids of a text, as the model's Hugging Face tokenizer encodes it (BOS/EOS\n"
    "added as its configuration says; special-token strings in the text become their tokens).\n\n"
    "  --model M     a .gguf file, a Hugging Face model folder, or a folder with tokenizer.json\n"
    "  --text T      the text\n"
    "  --file F      read the text from a file (bytes as they are; no newline is stripped)\n"
    "  --json        print {\"ids\": [...]} instead of space-separated ids\n"
    "  --no-special  do not add BOS/EOS\n";

int runTokenize(hearth::cli::Args& args) {
    if (args.help()) {
        std::printf("%s", kUsage);
        return 0;
    }
    auto model = args.option("--model", "-m");
    auto text = args.option("--text", "-t");
    auto file = args.option("--file", "-f");
    bool json = args.flag("--json");
    bool noSpecial = args.flag("--no-special");
    args.finish(0);
    if (!model) throw hearth::cli::UsageError("hearth tokenize: --model is required (see --help)");
    if (text.has_value() == file.has_value())
        throw hearth::cli::UsageError("hearth tokenize: give exactly one of --text and --file (see --help)");
    std::string input;
    if (file) {
        std::ifstream in(*file, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "hearth tokenize: %s: cannot open the file\n", file->c_str());
            return 1;
        }
        input.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else {
        input = *text;
    }
    hearth::Tokenizer tok = hearth::Tokenizer::fromModelPath(*model);
    std::vector<int32_t> ids = tok.encode(input, !noSpecial);
    if (json) {
        std::printf("%s\n", nlohmann::json{{"ids", ids}}.dump().c_str());
    } else {
        std::string line;
        for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
        std::printf("%s\n", line.c_str());
    }
    return 0;
}

}  // namespace

HEARTH_COMMAND(tokenize, "Print the token ids of a text (Hugging Face encode)", runTokenize);
