// Prints conversion progress for the command line: a redrawn bar on a terminal, a plain line every
// few percent otherwise (logs, pipes), and the per-tensor quality table of --report.
#pragma once

#include <cstdio>
#include <string>

#include "models/quant/quantizer.h"

namespace hearth::quant {

class ProgressPrinter {
public:
    // `terminal`: redraw one line with '\r' (use isatty(fileno(out))).
    ProgressPrinter(std::FILE* out, bool terminal) : out_(out), terminal_(terminal) {}

    bool operator()(const Progress& p);
    void finish();  // ends the bar's line

private:
    std::FILE* out_;
    bool terminal_;
    int lastPercent_ = -1;
    double lastDraw_ = -1;
};

// "12.3 MB", "1.20 GB"
std::string formatBytes(uint64_t bytes);
// The --report table: one line per tensor with type, shape, RMSE, relative RMSE and max |error|.
void printReport(std::FILE* out, const WriteResult& result);
// "wrote out.gguf: 1.20 GB in 42.0 s (350.1 MB/s of input)"
void printSummary(std::FILE* out, const std::string& path, const WriteResult& result);

}  // namespace hearth::quant
