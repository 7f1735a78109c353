// The built-in CPU backend library: one device, the whole machine.
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace hearth::cpu {

namespace {

std::string cpuVendor() {
#if defined(__x86_64__) || defined(__i386__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        char id[13] = {};
        std::memcpy(id, &b, 4);
        std::memcpy(id + 4, &d, 4);
        std::memcpy(id + 8, &c, 4);
        std::string s(id);
        if (s == "GenuineIntel") return "Intel";
        if (s == "AuthenticAMD") return "AMD";
        return s;
    }
    return "unknown";
#elif defined(__aarch64__)
    return "ARM";
#else
    return "unknown";
#endif
}

uint64_t availableMemory() {
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    uint64_t kib = 0;
    std::string unit;
    while (meminfo >> key >> kib >> unit)
        if (key == "MemAvailable:") return kib * 1024;
    return 0;
}

DeviceInfo describeCpu() {
    DeviceInfo info;
    info.id = "cpu";
    info.backend = "cpu";
    const int cores = physicalCoreCount();
    const auto& f = cpuFeatures();
    info.name = (f.brand.empty() ? std::string("CPU") : f.brand) + " (" + std::to_string(cores) +
                (cores == 1 ? " core)" : " cores)");
    info.vendor = cpuVendor();
    long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
    if (pages > 0 && pageSize > 0) info.totalMemory = static_cast<uint64_t>(pages) * static_cast<uint64_t>(pageSize);
    info.freeMemory = availableMemory();
    info.features = f.names();
    info.features.push_back(std::string("kernels:") + bestKernels().name);
    if (amx::enabled(bestKernels())) info.features.push_back("prefill:amx");
    return info;
}

class CpuLibrary final : public BackendLibrary {
public:
    std::string name() const override { return "cpu"; }
    std::vector<DeviceInfo> devices() override { return {describeCpu()}; }
    std::string unavailableReason() override { return {}; }
    std::unique_ptr<Backend> open(int deviceIndex, const BackendOptions& options) override {
        if (deviceIndex != 0)
            throw BackendError("cpu: there is one CPU device, cpu:0; cpu:" + std::to_string(deviceIndex) + " does not exist");
        if (options.threads < 0) throw BackendError("cpu: the thread count must be positive");
        return std::make_unique<CpuBackend>(describeCpu(), options);
    }
};

}  // namespace

std::unique_ptr<BackendLibrary> makeCpuLibrary() { return std::make_unique<CpuLibrary>(); }

}  // namespace hearth::cpu
