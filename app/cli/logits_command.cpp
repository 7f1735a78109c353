// `hearth logits`: the last-position logits of a prompt, for comparisons with other engines.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "app/cli/engine_flags.h"
#include "inference/engine/engine.h"
#include "inference/engine/model_graph.h"
#include "inference/tokenizer/tokenizer.h"

namespace {

constexpr const char* kUsage =
    "Usage: hearth logits --model M (--prompt-ids 1,2,3 | --prompt TEXT) [--top K] [--json] [options]\n\n"
    "Print the logits of the last prompt position: the K largest as {\"top\": [[id, logit], ...]},\n"
    "or with --top 0 all of them as {\"logits\": [...]}. Default K = 10.\n\n"
    "  --dump               print every named intermediate of the forward pass to stderr (layer,\n"
    "                       name, shape, rms and the first values of the last token)\n";

int runLogits(hearth::cli::Args& args) {
    using namespace hearth;
    if (args.help()) {
        std::printf("%s%s", kUsage, cli::kEngineFlagsHelp);
        return 0;
    }
    auto modelPath = args.option("--model", "-m");
    auto promptIds = args.option("--prompt-ids");
    auto prompt = args.option("--prompt", "-p");
    long long top = args.intOption("--top").value_or(10);
    bool json = args.flag("--json");
    bool dump = args.flag("--dump");
    LoadOptions lo = cli::loadOptionsFrom(args);
    args.finish(0);
    if (!modelPath) throw cli::UsageError("hearth logits: --model is required");
    if (promptIds.has_value() == prompt.has_value())
        throw cli::UsageError("hearth logits: give exactly one of --prompt-ids, --prompt");
    if (top < 0) throw cli::UsageError("hearth logits: --top must be 0 or more");

    std::vector<int32_t> ids;
    if (promptIds) {
        for (int id : cli::parseIdList(*promptIds, "--prompt-ids")) ids.push_back(id);
    }
    auto model = Model::load(*modelPath, lo);
    if (prompt) ids = model->encode(*prompt, true);
    if (dump) {
        Backend& be = model->backend();
        model->graph().setIntermediateHook([&be](std::string_view name, int layer, const Tensor& t, int n) {
            std::vector<float> v(static_cast<size_t>(t.elements()));
            be.download(v.data(), t, v.size() * sizeof(float));
            size_t per = v.size() / static_cast<size_t>(n), last = v.size() - per;
            double ss = 0;
            for (size_t i = last; i < v.size(); ++i) ss += double(v[i]) * v[i];
            std::fprintf(stderr, "layer %2d %-14.*s [%lld, %lld, %lld] rms %.6g first", layer,
                         static_cast<int>(name.size()), name.data(), static_cast<long long>(t.ne[0]),
                         static_cast<long long>(t.ne[1]), static_cast<long long>(t.ne[2]), std::sqrt(ss / double(per)));
            for (size_t i = last; i < last + std::min<size_t>(4, per); ++i) std::fprintf(stderr, " %.6g", v[i]);
            std::fprintf(stderr, "\n");
        });
    }
    Session session(model);
    std::vector<float> logits = session.logits(ids);

    nlohmann::json j;
    if (top == 0) {
        j["logits"] = logits;
    } else {
        std::vector<int32_t> order(logits.size());
        std::iota(order.begin(), order.end(), 0);
        size_t k = std::min<size_t>(static_cast<size_t>(top), order.size());
        std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(k), order.end(),
                          [&](int32_t a, int32_t b) { return logits[a] != logits[b] ? logits[a] > logits[b] : a < b; });
        j["top"] = nlohmann::json::array();
        for (size_t i = 0; i < k; ++i) j["top"].push_back({order[i], logits[static_cast<size_t>(order[i])]});
    }
    if (json) {
        std::printf("%s\n", j.dump().c_str());
        return 0;
    }
    if (top == 0) {
        for (size_t i = 0; i < logits.size(); ++i) std::printf("%zu %.6f\n", i, logits[i]);
    } else {
        for (const auto& e : j["top"]) {
            int32_t id = e[0].get<int32_t>();
            std::string piece(model->tokenizer().tokenText(id));
            std::printf("%8d %12.6f  %s\n", id, e[1].get<double>(), piece.c_str());
        }
    }
    return 0;
}

}  // namespace

HEARTH_COMMAND(logits, "Print the last-position logits of a prompt", runLogits);
