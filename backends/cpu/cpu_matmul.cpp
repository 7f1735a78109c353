// Quantized matrix x vector (decode) and matrix x matrix (prefill) on the CPU.
//
// The input is converted once per call into the activation format each weight type needs, and
// every projection of the call reads that one copy. The work is cut into chunks of weight rows
// (across all projections, so q/k/v or gate/up share one parallel region); inside a chunk the
// columns go in groups of kMaxCols, so each weight block is unpacked once per group while the
// chunk's rows stay in L2 and the group's activations in L1.
#include <algorithm>
#include <atomic>
#include <string>

#include "backends/cpu/cpu_backend.h"

namespace hearth::cpu {

namespace {

// Rows per chunk (per run at decode): at decode enough chunks for dynamic balance, and few
// enough claims that their cost stays small (64 rows streamed 3-8 % faster than 16 in the op
// bench; 128 or ~64 KiB per run no better than 64, nor 16 or 32 for the small projections), but
// no more than 64 chunks per run: the output projection's 128k-152k rows streamed 2-5 % faster
// in ~500-row chunks (bench/backends/matmul_bench.cpp; a run of `runRows` rows); for prefill few
// enough rows that the chunk's weights stay in L2 while every column group passes over them.
int64_t chunkRows(size_t rowBytes, int64_t n, int64_t runRows) {
    if (n == 1) return std::max<int64_t>(64, runRows / 64);
    const size_t budget = 256 * 1024;
    return std::clamp<int64_t>(static_cast<int64_t>(budget / std::max<size_t>(rowBytes, 1)), 4, 128);
}

}  // namespace

void CpuBackend::quantizeInput(ActFormat format, const float* x, int64_t k, int64_t n) {
    const size_t rowBytes = activationRowBytes(format, k);
    auto& buf = actScratch_[static_cast<int>(format)];
    if (buf.size() < rowBytes * static_cast<size_t>(n)) buf.resize(rowBytes * static_cast<size_t>(n));
    uint8_t* dst = buf.data();
    pool_.parallelFor(n, std::max<int64_t>(1, 8192 / k), [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) quantizeActivation(format, x + i * k, dst + rowBytes * static_cast<size_t>(i), k);
    });
}

void CpuBackend::matmul(const Tensor& x, std::span<const Projection> projections) {
    const char* op = "matmul";
    if (x.type != DType::F32) throw BackendError("cpu: matmul: the input must be f32");
    const float* in = data<const float>(x, op, "x");
    const int64_t k = x.ne[0], n = x.rows();
    bool need[kActFormats] = {};
    for (const auto& p : projections) {
        if (!isSupportedWeightType(p.weight.type) || !kernels_.dot[static_cast<uint32_t>(p.weight.type)])
            throw BackendError("cpu: matmul: weight type " + std::string(dtypeName(p.weight.type)) + " is not supported");
        data(p.weight, op, "weight");
        const int64_t rows = p.weight.rows();
        if (p.weight.ne[0] != k)
            throw BackendError("cpu: matmul: weight rows have " + std::to_string(p.weight.ne[0]) +
                               " elements but the input has " + std::to_string(k));
        if (p.out.type != DType::F32 || p.out.ne[0] != rows || p.out.rows() != n)
            throw BackendError("cpu: matmul: out must be f32 {" + std::to_string(rows) + ", " + std::to_string(n) + "}");
        data(p.out, op, "out");
        if (p.bias.valid() && (p.bias.type != DType::F32 || p.bias.elements() != rows))
            throw BackendError("cpu: matmul: bias must be f32 with " + std::to_string(rows) + " values");
        need[static_cast<int>(dotFor(kernels_, p.weight.type, n).act)] = true;
    }
    if (n > 1 && tryMatmulAmx(in, k, n, projections)) return;
    for (int f = 0; f < kActFormats; ++f)
        if (need[f]) quantizeInput(static_cast<ActFormat>(f), in, k, n);

    // Chunks are grouped into parts of contiguous rows. At decode each thread owns one part per
    // projection and walks it front to back, so that each core streams long runs of weights
    // (chunks taken turn about by two threads restart the prefetchers every few KiB: ~25 % slower
    // per core); a thread done with its own parts then takes what is left of the others'.
    // Each decode part is walked as two streams at once, its front half and its back half, a row
    // of each together: with one stream a core reads 10-20 % below what two reach (a stream test
    // in docs/performance.md; taking 16 rows of one half before switching gains little, so a
    // chunk holds rows of both halves). Prefill has a single part that all threads share.
    const int threads = pool_.threads();
    const int partsPerProjection = n == 1 ? threads : 1;
    // The lists live in the backend between calls: a decode step makes ~100 of these calls, and
    // growing fresh vectors cost each a handful of allocations.
    auto& chunks = matmulChunks_;
    auto& partBegin = matmulParts_;  // part i = chunks [partBegin[i], partBegin[i + 1])
    chunks.clear();
    partBegin.clear();
    for (size_t pi = 0; pi < projections.size(); ++pi) {
        const int64_t rows = projections[pi].weight.rows();
        const int64_t step = chunkRows(projections[pi].weight.rowBytes(), n, rows / (2 * partsPerProjection));
        for (int t = 0; t < partsPerProjection; ++t) {
            const int64_t first = rows * t / partsPerProjection / step * step;
            const int64_t last = t + 1 == partsPerProjection ? rows : rows * (t + 1) / partsPerProjection / step * step;
            if (n == 1 || pi == 0) partBegin.push_back(chunks.size());
            const int pid = static_cast<int>(pi);
            if (n > 1) {
                for (int64_t r = first; r < last; r += step) chunks.push_back({pid, r, std::min(last, r + step)});
                continue;
            }
            const int64_t middle = first + (last - first + 1) / 2;
            // The last 2 * step rows of each half go in quarter chunks (at least 16 rows): a thread
            // done with its own parts then takes smaller pieces of the other's, and the two finish
            // closer together. Per call in qwen2.5-0.5b q4_0 decode, the time between the two
            // threads' ends went 37 -> 11 us for the output projection and 2-4 -> 1 us for gate/up
            // (the step's speed is unchanged within this machine's noise: paired runs 0.996-1.035).
            const int64_t tail = std::max<int64_t>(16, step / 4);
            for (int64_t r = first, r2 = middle; r < middle;) {
                const int64_t size = middle - r > 2 * step ? step : tail;
                chunks.push_back({pid, r, std::min(middle, r + size), std::min(last, r2), std::min(last, r2 + size)});
                r += size;
                r2 += size;
            }
        }
    }
    partBegin.push_back(chunks.size());
    const size_t parts = partBegin.size() - 1;
    if (matmulCounters_.size() < parts) matmulCounters_ = std::vector<ChunkCounter>(parts);
    auto& nextInPart = matmulCounters_;
    for (size_t i = 0; i < parts; ++i) nextInPart[i].index.store(partBegin[i], std::memory_order_relaxed);

    auto runChunk = [&](const MatmulChunk& c) {
        float tmp[kMaxCols];
        const Projection& p = projections[static_cast<size_t>(c.projection)];
        const auto [dot, format] = dotFor(kernels_, p.weight.type, n);
        const size_t actBytes = activationRowBytes(format, k);
        const uint8_t* act = actScratch_[static_cast<int>(format)].data();
        const char* w = static_cast<const char*>(p.weight.buffer->hostPointer()) + p.weight.offset;
        const size_t wRow = p.weight.rowBytes();
        float* out = reinterpret_cast<float*>(static_cast<char*>(p.out.buffer->hostPointer()) + p.out.offset);
        const float* bias = p.bias.valid()
            ? reinterpret_cast<const float*>(static_cast<const char*>(p.bias.buffer->hostPointer()) + p.bias.offset)
            : nullptr;
        const int64_t rows = p.weight.rows();
        if (n == 1) {
            const RowRun first{w + wRow * static_cast<size_t>(c.firstRow), c.lastRow - c.firstRow, out + c.firstRow};
            const RowRun second{w + wRow * static_cast<size_t>(c.secondFirst), c.secondLast - c.secondFirst,
                                out + c.secondFirst};
            if (const RowsDotFn rowsDot = kernels_.rows1[static_cast<uint32_t>(p.weight.type)]) {
                rowsDot(k, wRow, first, second, act);
            } else {
                auto one = [&](const RowRun& run, int64_t r) {
                    dot(k, static_cast<const char*>(run.weight) + wRow * static_cast<size_t>(r), act, actBytes, 1,
                        run.out + r);
                };
                const int64_t both = std::min(first.rows, second.rows);
                for (int64_t r = 0; r < both; ++r) {
                    one(first, r);
                    one(second, r);
                }
                for (int64_t r = both; r < first.rows; ++r) one(first, r);
                for (int64_t r = both; r < second.rows; ++r) one(second, r);
            }
            if (bias) {
                for (int64_t r = c.firstRow; r < c.lastRow; ++r) out[r] += bias[r];
                for (int64_t r = c.secondFirst; r < c.secondLast; ++r) out[r] += bias[r];
            }
            return;
        }
        for (int64_t c0 = 0; c0 < n; c0 += kMaxCols) {
            const int cols = static_cast<int>(std::min<int64_t>(kMaxCols, n - c0));
            const uint8_t* a = act + actBytes * static_cast<size_t>(c0);
            for (int64_t r = c.firstRow; r < c.lastRow; ++r) {
                dot(k, w + wRow * static_cast<size_t>(r), a, actBytes, cols, tmp);
                const float b = bias ? bias[r] : 0.0f;
                for (int j = 0; j < cols; ++j) out[(c0 + j) * rows + r] = tmp[j] + b;
            }
        }
    };
    auto drain = [&](size_t part) {
        for (size_t ci; (ci = nextInPart[part].index.fetch_add(1, std::memory_order_relaxed)) < partBegin[part + 1];)
            runChunk(chunks[ci]);
    };
    auto work = [&](int thread, int) {
        if (partsPerProjection > 1)  // own parts first: part i belongs to thread i % threads
            for (size_t part = static_cast<size_t>(thread); part < parts; part += static_cast<size_t>(threads)) drain(part);
        for (size_t part = 0; part < parts; ++part) drain(part);
    };
    if (chunks.size() == 1) work(0, 1);
    else pool_.run(work);
}

}  // namespace hearth::cpu
