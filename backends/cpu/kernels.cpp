#include "backends/cpu/kernels.h"

#include <cstdlib>
#include <string>

#include "backends/cpu/cpu_features.h"

namespace hearth::cpu {

namespace {

struct Tables {
    KernelTable scalar;
    KernelTable avx2;
    KernelTable avx512;
    std::vector<const KernelTable*> runnable;  // plain C++ first, best last

    Tables() {
        fillScalarKernels(scalar);
        runnable.push_back(&scalar);
#if defined(HEARTH_CPU_X86)
        const auto& f = cpuFeatures();
        if (f.avx2 && f.fma && f.f16c) {
            avx2 = scalar;
            fillAvx2Kernels(avx2);
            runnable.push_back(&avx2);
            if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni) {
                avx512 = scalar;
                fillAvx512Kernels(avx512);
                runnable.push_back(&avx512);
            }
        }
#endif
    }
};

const Tables& tables() {
    static const Tables t;
    return t;
}

}  // namespace

std::vector<const KernelTable*> availableKernels() { return tables().runnable; }

const KernelTable* kernelsByName(std::string_view name) {
    for (const auto* t : tables().runnable)
        if (name == t->name) return t;
    return nullptr;
}

const KernelTable& bestKernels() {
    if (const char* want = std::getenv("HEARTH_CPU_KERNELS"); want && *want) {
        if (const auto* t = kernelsByName(want)) return *t;
    }
    return *tables().runnable.back();
}

}  // namespace hearth::cpu
