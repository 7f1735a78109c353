#include "app/cli/quant_job.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>

#include "models/quant/progress_printer.h"
#include "models/quant/quant_preset.h"

namespace hearth::cli {

namespace {

std::atomic<bool> interrupted{false};

void onInterrupt(int) {
    interrupted.store(true);
}

}  // namespace

QuantJob parseQuantJob(Args& args) {
    QuantJob job;
    auto threads = args.intOption("--threads");
    job.options.threads = threads ? static_cast<int>(*threads) : 0;
    job.report = args.flag("--report");
    job.quiet = args.flag("--quiet", "-q");
    job.options.report = job.report;
    job.options.overrides.pure = args.flag("--pure");
    for (auto [flag, slot] : {std::pair{"--output-type", &job.options.overrides.outputType},
                              std::pair{"--embd-type", &job.options.overrides.embeddingType}})
        if (auto name = args.option(flag)) {
            *slot = quant::tensorTypeFromName(*name);
            if (!*slot)
                throw UsageError(args.command() + ": " + std::string(flag) + " '" + *name +
                                 "' is not a type the quantizer writes");
        }
    return job;
}

int runQuantJob(const std::string& command, const std::string& outPath, QuantJob job,
                const std::function<quant::WriteResult(const quant::WriteOptions&)>& work) {
    quant::ProgressPrinter printer(stderr, isatty(fileno(stderr)) != 0);
    job.options.cancel = &interrupted;
    if (!job.quiet) job.options.onProgress = [&](const quant::Progress& p) { return printer(p); };
    std::signal(SIGINT, onInterrupt);
    try {
        auto result = work(job.options);
        if (!job.quiet) printer.finish();
        if (job.report) quant::printReport(stdout, result);
        if (!job.quiet) quant::printSummary(stderr, outPath, result);
        return 0;
    } catch (const quant::Cancelled& e) {
        if (!job.quiet) printer.finish();
        std::fprintf(stderr, "%s: %s\n", command.c_str(), e.what());
        return 130;
    } catch (const std::exception& e) {
        if (!job.quiet) printer.finish();
        std::fprintf(stderr, "%s: %s\n", command.c_str(), e.what());
        return 1;
    }
}

}  // namespace hearth::cli
