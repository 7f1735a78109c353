// AVX2 + FMA + F16C kernels (Haswell and later, Zen). Compiled with those -m flags only.
#define HEARTH_KERNEL_NS avx2
#include "backends/cpu/kernels_x86.h"

namespace hearth::cpu {

void fillAvx2Kernels(KernelTable& table) { avx2::fill(table, "avx2"); }

}  // namespace hearth::cpu
