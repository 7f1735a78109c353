// `hearth devices [--json]`: every device of every backend that loaded, and for a backend with
// no device, why (module not built, runtime library missing, driver too old, no GPU).
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "backends/registry.h"

namespace {

constexpr const char* kUsage =
    "Usage: hearth devices [--json]\n\n"
    "Lists the compute devices Hearth can use, by backend, with the id that --device takes.\n"
    "A backend without devices is listed with the reason.\n";

std::string gib(uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
    return text;
}

int runDevices(hearth::cli::Args& args) {
    if (args.help()) {
        std::printf("%s", kUsage);
        return 0;
    }
    bool json = args.flag("--json");
    args.finish(0);

    hearth::BackendRegistry registry;
    auto libraries = registry.libraries();
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& lib : libraries) {
            nlohmann::json devices = nlohmann::json::array();
            for (const auto& d : lib.devices)
                devices.push_back({{"id", d.id}, {"name", d.name}, {"vendor", d.vendor},
                                   {"total_memory", d.totalMemory}, {"free_memory", d.freeMemory},
                                   {"compute_capability", d.computeCapability}, {"features", d.features}});
            out.push_back({{"backend", lib.name}, {"devices", devices}, {"unavailable_reason", lib.unavailableReason},
                           {"module", lib.path}});
        }
        std::printf("%s\n", nlohmann::json{{"backends", out}}.dump(2).c_str());
        return 0;
    }
    for (const auto& lib : libraries) {
        std::string where = !lib.path.empty() ? " (" + lib.path + ")" : lib.devices.empty() ? "" : " (built in)";
        std::printf("%s%s\n", lib.name.c_str(), where.c_str());
        if (lib.devices.empty()) std::printf("  no devices: %s\n", lib.unavailableReason.c_str());
        for (const auto& d : lib.devices) {
            std::printf("  %-10s %s [%s]\n", d.id.c_str(), d.name.c_str(), d.vendor.c_str());
            std::printf("             memory %s total, %s free", gib(d.totalMemory).c_str(), gib(d.freeMemory).c_str());
            if (!d.computeCapability.empty()) std::printf(", compute %s", d.computeCapability.c_str());
            std::printf("\n");
            if (!d.features.empty()) {
                std::string f;
                for (const auto& x : d.features) f += (f.empty() ? "" : " ") + x;
                std::printf("             %s\n", f.c_str());
            }
        }
    }
    return 0;
}

}  // namespace

HEARTH_COMMAND(devices, "List the compute devices (CPU, CUDA, HIP, Vulkan) and why any are missing", runDevices);
