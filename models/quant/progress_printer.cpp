#include "models/quant/progress_printer.h"

#include <map>

namespace hearth::quant {
namespace {

std::string formatSeconds(double s) {
    char buf[32];
    if (s < 0) return "?";
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
    else if (s >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
    else std::snprintf(buf, sizeof buf, "%.0fs", s);
    return buf;
}

std::string shapeText(const std::vector<uint64_t>& shape) {
    std::string t;
    for (size_t i = 0; i < shape.size(); ++i) t += (i ? " x " : "") + std::to_string(shape[i]);
    return t;
}

}  // namespace

std::string formatBytes(uint64_t bytes) {
    char buf[32];
    if (bytes >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1073741824.0);
    else std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1048576.0);
    return buf;
}

bool ProgressPrinter::operator()(const Progress& p) {
    double fraction = p.bytesTotal ? static_cast<double>(p.bytesDone) / static_cast<double>(p.bytesTotal) : 1.0;
    int percent = static_cast<int>(fraction * 100);
    if (terminal_) {
        // Redrawing costs a write per chunk; a few per second are enough for the eye.
        if (p.elapsedSeconds - lastDraw_ < 0.1 && p.bytesDone != p.bytesTotal) return true;
        lastDraw_ = p.elapsedSeconds;
        constexpr int kWidth = 30;
        int filled = static_cast<int>(fraction * kWidth);
        std::string bar(static_cast<size_t>(filled), '#');
        bar.resize(kWidth, '.');
        std::string tensor(p.tensor.substr(0, 28));
        std::fprintf(out_, "\r[%s] %3d%%  %s / %s  ETA %-7s  %-28s", bar.c_str(), percent,
                     formatBytes(p.bytesDone).c_str(), formatBytes(p.bytesTotal).c_str(),
                     formatSeconds(p.etaSeconds).c_str(), tensor.c_str());
        std::fflush(out_);
    } else if (percent / 5 != lastPercent_ / 5) {
        lastPercent_ = percent;
        std::fprintf(out_, "%3d%%  %s / %s  tensor %zu/%zu %.*s  ETA %s\n", percent, formatBytes(p.bytesDone).c_str(),
                     formatBytes(p.bytesTotal).c_str(), p.tensorIndex + 1, p.tensorCount,
                     static_cast<int>(p.tensor.size()), p.tensor.data(), formatSeconds(p.etaSeconds).c_str());
        std::fflush(out_);
    }
    return true;
}

void ProgressPrinter::finish() {
    if (terminal_) std::fprintf(out_, "\n");
}

void printReport(std::FILE* out, const WriteResult& result) {
    std::fprintf(out, "%-34s %-6s %-16s %12s %10s %12s\n", "tensor", "type", "shape", "rmse", "rel.rmse", "max|err|");
    std::map<std::string, int> counts;
    for (const auto& t : result.tensors) {
        double rel = t.sourceRms > 0 ? t.rmse / t.sourceRms : 0;
        std::fprintf(out, "%-34s %-6s %-16s %12.4e %10.4f %12.4e%s%s\n", t.name.c_str(),
                     std::string(dtypeName(t.type)).c_str(), shapeText(t.shape).c_str(), t.rmse, rel, t.maxAbsError,
                     t.note.empty() ? "" : "  note: ", t.note.c_str());
        counts[std::string(dtypeName(t.type))]++;
    }
    std::string mix;
    for (const auto& [name, n] : counts) mix += (mix.empty() ? "" : ", ") + std::to_string(n) + " " + name;
    std::fprintf(out, "types: %s\n", mix.c_str());
}

void printSummary(std::FILE* out, const std::string& path, const WriteResult& result) {
    double rate = result.seconds > 0 ? result.bytesRead / 1048576.0 / result.seconds : 0;
    std::fprintf(out, "wrote %s: %s in %.1f s (%.1f MB/s of input)\n", path.c_str(),
                 formatBytes(result.bytesWritten).c_str(), result.seconds, rate);
}

}  // namespace hearth::quant
