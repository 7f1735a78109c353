// What `hearth convert` and `hearth quantize` share: the quantizer options, the progress bar,
// Ctrl-C cancellation and the exit codes (0 done, 1 failed, 130 cancelled; never a partial file).
#pragma once

#include <functional>
#include <string>

#include "app/cli/args.h"
#include "models/quant/quantizer.h"

namespace hearth::cli {

struct QuantJob {
    quant::WriteOptions options;
    bool report = false;
    bool quiet = false;
};

// Reads --threads, --report, --quiet, --pure, --output-type and --embd-type.
QuantJob parseQuantJob(Args& args);

// Runs `work` with a progress printer on stderr and SIGINT wired to cancellation, then prints the
// report and summary. Returns the process exit code.
int runQuantJob(const std::string& command, const std::string& outPath, QuantJob job,
                const std::function<quant::WriteResult(const quant::WriteOptions&)>& work);

}  // namespace hearth::cli
