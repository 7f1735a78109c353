#include "backends/cpu/cpu_features.h"

#include <cstring>
#include <fstream>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace hearth::cpu {

namespace {

std::string readBrand() {
#if defined(__x86_64__) || defined(__i386__)
    unsigned regs[12] = {};
    unsigned maxExt = __get_cpuid_max(0x80000000u, nullptr);
    if (maxExt >= 0x80000004u) {
        for (unsigned i = 0; i < 3; ++i)
            __get_cpuid(0x80000002u + i, &regs[i * 4], &regs[i * 4 + 1], &regs[i * 4 + 2], &regs[i * 4 + 3]);
        char text[49] = {};
        std::memcpy(text, regs, 48);
        std::string s(text);
        size_t b = s.find_first_not_of(' ');
        return b == std::string::npos ? std::string() : s.substr(b);
    }
#endif
    std::ifstream info("/proc/cpuinfo");
    std::string line;
    while (std::getline(info, line)) {
        auto colon = line.find(':');
        if (colon != std::string::npos && (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0))
            return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
    return {};
}

#if defined(__x86_64__) || defined(__i386__)
// Tile instructions fault unless the OS enables the tile state in XCR0 and, on Linux 5.16+,
// the process asked for it once (the 8 KiB of tile data per thread is opt-in). A kernel
// that refuses leaves the AVX-512 kernels in charge.
bool detectAmxTiles() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    if ((d & (1u << 24)) == 0) return false;  // AMX-TILE
    if (!__get_cpuid(1, &a, &b, &c, &d) || (c & bit_OSXSAVE) == 0) return false;
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    const unsigned tileBits = (1u << 17) | (1u << 18);  // XTILECFG, XTILEDATA
    if ((lo & tileBits) != tileBits) return false;
#if defined(__linux__) && defined(__x86_64__)
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
    return false;
#endif
}
#endif

CpuFeatures detect() {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    // libgcc's checks include the OS support bits (XCR0), so a feature reported here is usable.
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512dq = __builtin_cpu_supports("avx512dq");
    f.avx512vnni = __builtin_cpu_supports("avx512vnni");
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) f.f16c = (c & bit_F16C) != 0 && f.avx2;
    if (f.avx512bw && detectAmxTiles()) {
        __get_cpuid_count(7, 0, &a, &b, &c, &d);
        f.amxInt8 = (d & (1u << 25)) != 0;
        const bool amxBf16 = (d & (1u << 22)) != 0;
        __get_cpuid_count(7, 1, &a, &b, &c, &d);
        f.amxBf16 = amxBf16 && (a & (1u << 5)) != 0;  // AVX512_BF16
    }
#elif defined(__aarch64__)
    f.neon = true;
#endif
    f.brand = readBrand();
    return f;
}

}  // namespace

std::vector<std::string> CpuFeatures::names() const {
    std::vector<std::string> out;
    auto add = [&](bool on, const char* name) { if (on) out.emplace_back(name); };
    add(avx2, "avx2");
    add(fma, "fma");
    add(f16c, "f16c");
    add(avx512f, "avx512f");
    add(avx512bw, "avx512bw");
    add(avx512vl, "avx512vl");
    add(avx512vnni, "avx512vnni");
    add(amxInt8, "amx_int8");
    add(amxBf16, "amx_bf16");
    add(neon, "neon");
    return out;
}

const CpuFeatures& cpuFeatures() {
    static const CpuFeatures features = detect();
    return features;
}

}  // namespace hearth::cpu
