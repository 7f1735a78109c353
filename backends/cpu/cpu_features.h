// What the CPU we run on can execute, asked once through cpuid (and the OS, for the wide
// register state). The kernels are chosen from this, never from the compiler's flags.
#pragma once

#include <string>
#include <vector>

namespace hearth::cpu {

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false;
    bool neon = false;
    // AMX tiles (Sapphire Rapids and later): set only when the CPU has them, the OS saves their
    // state (XCR0) and Linux granted this process the tile data permission. amxBf16 also needs
    // AVX512_BF16 (the conversions to bf16 that feed the tiles).
    bool amxInt8 = false, amxBf16 = false;
    std::string brand;  // "Intel(R) Xeon(R) ..." or ""

    std::vector<std::string> names() const;  // "avx2", "fma", ... as shown by `hearth devices`
};

const CpuFeatures& cpuFeatures();

}  // namespace hearth::cpu
