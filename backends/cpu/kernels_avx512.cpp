// AVX-512 (F, BW, VL, DQ, VNNI) kernels: byte dot products become dpbusd, bit masks become
// mask registers. Compiled with those -m flags only; chosen when cpuid reports all of them.
#define HEARTH_KERNEL_NS avx512
#include "backends/cpu/kernels_x86.h"

namespace hearth::cpu {

void fillAvx512Kernels(KernelTable& table) { avx512::fill(table, "avx512"); }

}  // namespace hearth::cpu
