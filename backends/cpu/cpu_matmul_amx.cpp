// Prefill (many tokens) matmul on AMX tiles: the driver around kernels_amx.cpp. Compiled without
// AMX flags; only the kernels themselves are.
//
// The tokens are packed once per call into groups of 16 (bf16). k is cut into slices of
// amx::kSlice that run one after the other, each adding to out; inside a slice the work is cut
// into tasks of one 32-row weight group against a block of token groups whose packed bytes fit in
// ~1.5 MiB of L2, in token-block-major order so both threads read the same tokens. Each task
// unpacks its 32 rows' slice from the mapped weights (512 elements at a time) and multiplies it by
// every token group of its block, so a weight is unpacked once per token block (twice for 512
// tokens with k = 2048).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_features.h"
#include "backends/cpu/kernels_amx.h"

namespace hearth::cpu {

namespace amx {

bool supportsType(DType type) {
    switch (type) {
        case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q8_0:
        case DType::Q4_K: case DType::Q5_K: case DType::Q6_K: return true;
        default: return false;
    }
}

bool enabled(const KernelTable& kernels) {
#if defined(HEARTH_CPU_AMX)
    if (!cpuFeatures().amxBf16 || std::strcmp(kernels.name, "avx512") != 0) return false;
    const char* env = std::getenv("HEARTH_CPU_AMX");
    return !(env && std::strcmp(env, "0") == 0);
#else
    (void)kernels;
    return false;
#endif
}

}  // namespace amx

#if defined(HEARTH_CPU_AMX)

namespace {

struct AmxTask {
    int projection;
    int64_t row0;    // first of 32 weight rows
    int64_t g0, g1;  // token groups [g0, g1), an even number
};

// Per worker thread, reused between calls: the unpacked panel and the running sums of a task.
thread_local std::vector<uint8_t> tlsScratch;

}  // namespace

bool CpuBackend::tryMatmulAmx(const float* in, int64_t k, int64_t n, std::span<const Projection> projections) {
    if (!amx_ || n < amx::kMinTokens) return false;
    for (const auto& p : projections)
        if (!amx::supportsType(p.weight.type)) return false;

    const int64_t groups = amx::packedGroups(n);
    const size_t groupBytes = amx::packedGroupBytes(k);
    auto& packed = actScratch_[static_cast<int>(ActFormat::Q8A)];
    if (packed.size() < groupBytes * static_cast<size_t>(groups)) packed.resize(groupBytes * static_cast<size_t>(groups));
    pool_.parallelFor(groups, 1, [&](int64_t b, int64_t e, int) {
        for (int64_t g = b; g < e; ++g) amx::packGroup(in, k, n, g, packed.data() + groupBytes * static_cast<size_t>(g));
    });

    // Slices of k run one after the other (each adds to out), token blocks and weight rows in
    // parallel inside a slice.
    for (int64_t k0 = 0; k0 < k; k0 += amx::kSlice) {
        const int64_t k1 = std::min(k, k0 + amx::kSlice);
        const size_t sliceGroupBytes = groupBytes / static_cast<size_t>(k) * static_cast<size_t>(k1 - k0);
        const size_t budget = (3u << 20) / 2;  // of the 2 MiB L2 per core
        const int64_t fit = static_cast<int64_t>(budget / sliceGroupBytes);
        const int64_t blockGroups = std::max<int64_t>(2, fit / 2 * 2);
        std::vector<AmxTask> tasks;
        for (int64_t g0 = 0; g0 < groups; g0 += blockGroups)
            for (size_t pi = 0; pi < projections.size(); ++pi)
                for (int64_t r = 0; r < projections[pi].weight.rows(); r += amx::kPanelRows)
                    tasks.push_back({static_cast<int>(pi), r, g0, std::min(groups, g0 + blockGroups)});
        std::atomic<size_t> next{0};
        pool_.run([&](int, int) {
            // 64-byte aligned: the running sums are loaded as tiles.
            const size_t scratchBytes = amx::taskScratchBytes(blockGroups) + 64;
            if (tlsScratch.size() < scratchBytes) tlsScratch.resize(scratchBytes);
            auto* scratch = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(tlsScratch.data()) + 63) & ~uintptr_t{63});
            bool configured = false;
            for (size_t ti; (ti = next.fetch_add(1, std::memory_order_relaxed)) < tasks.size();) {
                const AmxTask& t = tasks[ti];
                const Projection& p = projections[static_cast<size_t>(t.projection)];
                if (!configured) {
                    amx::beginTiles();
                    configured = true;
                }
                const auto* w = static_cast<const uint8_t*>(p.weight.buffer->hostPointer()) + p.weight.offset;
                auto* out = reinterpret_cast<float*>(static_cast<char*>(p.out.buffer->hostPointer()) + p.out.offset);
                const float* bias = p.bias.valid()
                    ? reinterpret_cast<const float*>(static_cast<const char*>(p.bias.buffer->hostPointer()) + p.bias.offset)
                    : nullptr;
                amx::runTask(p.weight.type, w, p.weight.rowBytes(), p.weight.rows(), t.row0, k0, k1, packed.data(), k, n,
                             t.g0, t.g1, bias, k0 > 0, out, scratch);
            }
            if (configured) amx::endTiles();
        });
    }
    return true;
}

#else

bool CpuBackend::tryMatmulAmx(const float*, int64_t, int64_t, std::span<const Projection>) { return false; }

#endif

}  // namespace hearth::cpu
