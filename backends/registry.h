// Finds the compute backends and opens devices by id.
//
// The CPU backend is built in. GPU backends are modules, libhearth-backend-<name>.so, opened at
// run time from $HEARTH_BACKEND_DIR if set, else from <exe dir>/../lib/hearth and the build
// tree's lib/hearth. A module that is missing, fails to load (its runtime library is absent) or
// was built for another kBackendApiVersion is reported with the reason, never a crash.
//
//   hearth::BackendRegistry registry;
//   for (const auto& lib : registry.libraries()) ...   // name, devices, unavailableReason
//   auto backend = registry.open("auto", {.threads = 0});   // or "cpu", "cuda:1", "vulkan:0"
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.h"

namespace hearth {

struct LibraryStatus {
    std::string name;                 // "cpu", "cuda", "hip", "vulkan", ...
    std::vector<DeviceInfo> devices;  // empty when the backend cannot run here
    std::string unavailableReason;    // why `devices` is empty; "" otherwise
    std::string path;                 // the module file; "" for the built-in CPU backend
};

class BackendRegistry {
public:
    // Searches the default folders (see above).
    BackendRegistry();
    // Searches exactly these folders for modules.
    explicit BackendRegistry(std::vector<std::string> moduleDirs);
    ~BackendRegistry();
    BackendRegistry(const BackendRegistry&) = delete;
    BackendRegistry& operator=(const BackendRegistry&) = delete;

    // Every backend known or found, with its devices (queried once, when the registry loads).
    std::vector<LibraryStatus> libraries() const;

    // "cpu", "cuda" (= "cuda:0"), "cuda:1", "hip:0", "vulkan:0", or "auto": the first device that
    // opens of CUDA, then HIP, then Vulkan (software rasterizers such as llvmpipe skipped), then
    // the CPU. Throws BackendError naming the id and listing the devices that exist.
    std::unique_ptr<Backend> open(std::string_view deviceId, const BackendOptions& options = {});

    // The folders searched when none are given.
    static std::vector<std::string> defaultModuleDirs();

private:
    struct Entry;
    void loadModules(const std::vector<std::string>& dirs);
    std::string describeAvailable() const;

    std::vector<std::unique_ptr<Entry>> entries_;
    std::vector<std::string> dirs_;
};

}  // namespace hearth
