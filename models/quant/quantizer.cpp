#include "models/quant/quantizer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <cstdio>
#include <system_error>
#include <thread>

#include "models/quant/block_quant.h"
#include "models/quant/quant_preset.h"

namespace hearth::quant {
namespace {

constexpr uint64_t kChunkBytes = 16ull << 20;  // bounds the memory held per tensor
constexpr uint64_t kSpaceMargin = 1ull << 20;

std::string humanBytes(uint64_t bytes) {
    char buf[32];
    if (bytes >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1073741824.0);
    else std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1048576.0);
    return buf;
}

bool isFloatSource(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

struct ErrorSums {
    double sq = 0, srcSq = 0, maxAbs = 0;
    void add(const ErrorSums& o) {
        sq += o.sq;
        srcSq += o.srcSq;
        maxAbs = std::max(maxAbs, o.maxAbs);
    }
};

// Converts rows [first, first + count) of `t` into `out` (which holds exactly those rows).
struct ChunkJob {
    const SourceTensor& t;
    DType type;
    uint64_t rowLength, srcRowBytes, outRowBytes;
    bool report;

    void run(uint64_t first, uint64_t count, uint8_t* out, ErrorSums& sums) const {
        std::vector<float> row(rowLength), back(report ? rowLength : 0);
        const auto n = static_cast<int64_t>(rowLength);
        for (uint64_t i = 0; i < count; ++i) {
            uint64_t r = first + i;
            uint64_t src = t.rowMap ? t.rowMap(r) : r;
            widenRow(t.sourceType, t.data + src * srcRowBytes, row.data(), n);
            if (!rowIsFinite(row.data(), n))
                throw QuantizeError("tensor '" + t.name + "' row " + std::to_string(src) +
                                    " holds NaN or infinite values; the source model is damaged");
            uint8_t* dst = out + i * outRowBytes;
            quantizeRow(type, row.data(), dst, n);
            if (!report) continue;
            dequantizeRow(type, dst, back.data(), n);
            for (int64_t k = 0; k < n; ++k) {
                double e = static_cast<double>(back[k]) - row[k];
                sums.sq += e * e;
                sums.srcSq += static_cast<double>(row[k]) * row[k];
                sums.maxAbs = std::max(sums.maxAbs, std::fabs(e));
            }
        }
    }
};

// Splits `count` rows across up to `threads` threads; rethrows the first failure.
void runParallel(const ChunkJob& job, uint64_t first, uint64_t count, uint8_t* out, int threads,
                 ErrorSums& sums) {
    auto workers = static_cast<uint64_t>(std::max(1, threads));
    workers = std::min<uint64_t>(workers, count);
    if (workers <= 1) {
        job.run(first, count, out, sums);
        return;
    }
    std::vector<std::thread> pool;
    std::vector<ErrorSums> partial(workers);
    std::vector<std::exception_ptr> errors(workers);
    uint64_t per = count / workers, extra = count % workers, at = 0;
    for (uint64_t w = 0; w < workers; ++w) {
        uint64_t n = per + (w < extra ? 1 : 0);
        pool.emplace_back([&, w, at, n] {
            try {
                job.run(first + at, n, out + at * job.outRowBytes, partial[w]);
            } catch (...) {
                errors[w] = std::current_exception();
            }
        });
        at += n;
    }
    for (auto& th : pool) th.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
    for (auto& p : partial) sums.add(p);
}

void checkTensor(const SourceTensor& t, DType type) {
    if (t.shape.empty() || t.shape[0] == 0 || !t.data)
        throw QuantizeError("tensor '" + t.name + "' is empty");
    if (!isFloatSource(t.sourceType))
        throw QuantizeError("tensor '" + t.name + "' is " + std::string(dtypeName(t.sourceType)) +
                            "; only f32, f16 and bf16 tensors can be converted");
    if (!canQuantizeTo(type))
        throw QuantizeError("cannot write tensors of type " + std::string(dtypeName(type)));
    if (t.shape[0] % dtypeTraits(type)->blockSize != 0)
        throw QuantizeError("tensor '" + t.name + "': rows of " + std::to_string(t.shape[0]) +
                            " elements do not fit " + std::string(dtypeName(type)) + " blocks");
}

void checkFreeSpace(const gguf::GgufWriter& writer, const std::filesystem::path& out, const WriteOptions& options) {
    auto dir = out.parent_path().empty() ? std::filesystem::path(".") : out.parent_path();
    uint64_t needed = writer.plannedFileSize();
    uint64_t available = 0;
    if (options.freeSpace) {
        available = options.freeSpace(dir);
    } else {
        std::error_code ec;
        auto info = std::filesystem::space(dir, ec);
        if (ec) throw QuantizeError("cannot write to " + dir.string() + ": " + ec.message());
        available = info.available;
    }
    if (available < needed + kSpaceMargin)
        throw QuantizeError("not enough free disk space in " + dir.string() + ": the output needs " +
                            humanBytes(needed) + ", " + humanBytes(available) + " available");
}

}  // namespace

uint64_t SourceTensor::rows() const {
    uint64_t r = 1;
    for (size_t i = 1; i < shape.size(); ++i) r *= shape[i];
    return r;
}

uint64_t SourceTensor::sourceBytes() const {
    return shape.empty() ? 0 : rows() * shape[0] * dtypeTraits(sourceType)->typeSize;
}

WriteResult writeGguf(const std::filesystem::path& out,
                      const std::vector<std::pair<std::string, gguf::Value>>& metadata,
                      const std::vector<SourceTensor>& tensors, const std::vector<DType>& types,
                      const std::vector<std::string>& notes, const WriteOptions& options) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    if (types.size() != tensors.size()) throw QuantizeError("internal: one type per tensor expected");

    gguf::GgufWriter writer;
    for (const auto& [key, value] : metadata) writer.set(key, value);
    uint64_t total = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
        checkTensor(tensors[i], types[i]);
        writer.addTensor(tensors[i].name, types[i], tensors[i].shape);
        total += tensors[i].sourceBytes();
    }
    checkFreeSpace(writer, out, options);
    writer.begin(out);

    int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
    WriteResult result;
    Progress progress;
    progress.bytesTotal = total;
    progress.tensorCount = tensors.size();
    std::vector<uint8_t> buffer;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const SourceTensor& t = tensors[i];
        const uint64_t rowLength = t.shape[0];
        ChunkJob job{t, types[i], rowLength, rowLength * dtypeTraits(t.sourceType)->typeSize,
                     *dtypeRowBytes(types[i], rowLength), options.report};
        const uint64_t rows = t.rows();
        const uint64_t chunkRows = std::max<uint64_t>(1, kChunkBytes / std::max(job.srcRowBytes, job.outRowBytes));
        buffer.resize(std::min(rows, chunkRows) * job.outRowBytes);
        ErrorSums sums;
        progress.tensor = t.name;
        progress.tensorIndex = i;
        for (uint64_t r0 = 0; r0 < rows; r0 += chunkRows) {
            if (options.cancel && options.cancel->load()) throw Cancelled();
            uint64_t n = std::min(chunkRows, rows - r0);
            runParallel(job, r0, n, buffer.data(), threads, sums);
            writer.writeTensorData(t.name, std::span<const uint8_t>(buffer.data(), n * job.outRowBytes));
            progress.bytesDone += n * job.srcRowBytes;
            progress.elapsedSeconds = std::chrono::duration<double>(Clock::now() - start).count();
            if (progress.bytesDone == total)
                progress.etaSeconds = 0;
            else if (progress.bytesDone > 0 && progress.elapsedSeconds > 0.5)
                progress.etaSeconds = progress.elapsedSeconds * static_cast<double>(total - progress.bytesDone) /
                                      static_cast<double>(progress.bytesDone);
            if (options.onProgress && !options.onProgress(progress)) throw Cancelled();
        }
        TensorReport rep{t.name, types[i], t.shape, 0, 0, 0, i < notes.size() ? notes[i] : std::string()};
        double count = static_cast<double>(rows * rowLength);
        rep.rmse = std::sqrt(sums.sq / count);
        rep.sourceRms = std::sqrt(sums.srcSq / count);
        rep.maxAbsError = sums.maxAbs;
        result.tensors.push_back(std::move(rep));
    }
    if (options.cancel && options.cancel->load()) throw Cancelled();
    result.bytesWritten = writer.plannedFileSize();
    writer.commit();
    result.bytesRead = total;
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
}

WriteResult quantizeGguf(const std::filesystem::path& in, const std::filesystem::path& out,
                         std::string_view presetName, const WriteOptions& options) {
    auto preset = presetFromName(presetName);
    if (!preset)
        throw QuantizeError("unknown type '" + std::string(presetName) + "'; choose one of " + presetNameList());
    std::error_code ec;
    if (std::filesystem::exists(out, ec) && std::filesystem::equivalent(in, out, ec))
        throw QuantizeError("the output would overwrite the input " + in.string() + "; choose another path");

    auto file = gguf::GgufFile::open(in);
    std::vector<std::pair<std::string, gguf::Value>> metadata;
    for (const auto& [key, value] : file.metadata()) {
        if (key == "general.file_type" || key == "general.quantization_version" || key == "general.alignment")
            continue;
        metadata.emplace_back(key, value);
    }
    metadata.emplace_back("general.file_type", gguf::Value{preset->fileType});
    metadata.emplace_back("general.quantization_version", gguf::Value{uint32_t{2}});

    int layers = 0;
    if (auto arch = file.getString("general.architecture"))
        layers = static_cast<int>(file.getUInt(*arch + ".block_count").value_or(0));

    std::vector<SourceTensor> sources;
    std::vector<TensorDesc> descs;
    for (const auto& info : file.tensors()) {
        if (!isFloatSource(info.type))
            throw QuantizeError(in.string() + ": tensor '" + info.name + "' is already " +
                                std::string(dtypeName(info.type)) +
                                "; quantize from an f32, f16 or bf16 file to keep the quality");
        SourceTensor s;
        s.name = info.name;
        s.shape = info.shape;
        s.sourceType = info.type;
        s.data = info.data;
        sources.push_back(s);
        descs.push_back({info.name, info.shape, info.type});
    }
    auto plan = planTensorTypes(*preset, descs, layers, options.overrides);
    std::vector<DType> types;
    std::vector<std::string> notes;
    for (auto& p : plan) {
        types.push_back(p.type);
        notes.push_back(p.fallbackNote);
    }
    return writeGguf(out, metadata, sources, types, notes, options);
}

}  // namespace hearth::quant
