// Writes a GGUF file from source tensors, converting each to its planned type — the engine behind
// `hearth convert` (HF safetensors -> GGUF) and `hearth quantize` (F32/F16/BF16 GGUF -> any type).
//
// Streams tensor by tensor in chunks of rows (peak memory: one chunk of output plus one row per
// thread), splits each chunk's rows across threads, checks free disk space first, and writes
// through GgufWriter (temporary file, flushed and renamed). A cancelled or failed run leaves no
// output file and never touches the source.
//
//   quant::WriteOptions opts;
//   opts.onProgress = [](const quant::Progress& p) { show(p.bytesDone, p.bytesTotal); return true; };
//   auto result = quant::quantizeGguf("model-f16.gguf", "model-q4_k_m.gguf", "q4_k_m", opts);
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/dtype.h"
#include "models/formats/gguf.h"
#include "models/quant/quant_preset.h"

namespace hearth::quant {

// Thrown when the caller cancelled (progress callback returned false or the cancel flag was set).
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("cancelled; no output file was written") {}
};

// Any other failure of a conversion the user can act on (disk space, bad source data, ...).
class QuantizeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One tensor to write and where its rows come from.
struct SourceTensor {
    std::string name;             // GGUF name
    std::vector<uint64_t> shape;  // ne, innermost first
    DType sourceType = DType::F32;  // f32, f16, bf16
    const uint8_t* data = nullptr;  // rows of shape[0] elements, densely packed
    // Output row r is read from source row rowMap(r) when set (the llama Q/K permutation).
    std::function<uint64_t(uint64_t)> rowMap;
    // Keeps generated data (rope_freqs) alive; `data` points into it.
    std::shared_ptr<const std::vector<uint8_t>> storage;

    uint64_t rows() const;
    uint64_t sourceBytes() const;
};

struct Progress {
    uint64_t bytesDone = 0;   // source bytes converted so far
    uint64_t bytesTotal = 0;
    std::string_view tensor;  // the tensor being converted
    size_t tensorIndex = 0;   // 0-based
    size_t tensorCount = 0;
    double elapsedSeconds = 0;
    double etaSeconds = -1;   // -1 until there is enough to extrapolate
};

struct TensorReport {
    std::string name;
    DType type = DType::F32;
    std::vector<uint64_t> shape;
    double rmse = 0;         // root mean square of (converted - source)
    double maxAbsError = 0;
    double sourceRms = 0;    // root mean square of the source, to put rmse in proportion
    std::string note;        // fallback explanation, if any
};

struct WriteOptions {
    int threads = 0;  // 0 = std::thread::hardware_concurrency()
    // Called after every chunk from the calling thread; return false to cancel.
    std::function<bool(const Progress&)> onProgress;
    const std::atomic<bool>* cancel = nullptr;
    bool report = false;  // measure the error of every tensor (costs a dequantization)
    // Per-tensor type overrides for quantizeGguf / convertHfFolder (--pure, --output-type, ...).
    PlanOverrides overrides;
    // Free bytes where the output goes; defaults to std::filesystem::space(). Tests replace it.
    std::function<uint64_t(const std::filesystem::path& dir)> freeSpace;
};

struct WriteResult {
    uint64_t bytesRead = 0;     // source tensor bytes
    uint64_t bytesWritten = 0;  // output file size
    double seconds = 0;
    std::vector<TensorReport> tensors;  // one per tensor, in file order (errors only with report)
};

// Writes `metadata` and `tensors` (tensor i converted to types[i]) to `out`.
WriteResult writeGguf(const std::filesystem::path& out,
                      const std::vector<std::pair<std::string, gguf::Value>>& metadata,
                      const std::vector<SourceTensor>& tensors, const std::vector<DType>& types,
                      const std::vector<std::string>& notes, const WriteOptions& options);

// Re-encodes an F32/F16/BF16 GGUF file with a preset ("q4_k_m", "q8_0", "f16", ...): copies the
// metadata, sets general.file_type and general.quantization_version. Throws FormatError for a bad
// input file and QuantizeError for an unknown preset, already-quantized tensors or the same path.
WriteResult quantizeGguf(const std::filesystem::path& in, const std::filesystem::path& out,
                         std::string_view preset, const WriteOptions& options);

}  // namespace hearth::quant
