#include "backends/registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "backends/cpu/cpu_backend.h"

namespace hearth {

namespace fs = std::filesystem;

namespace {

// Backends Hearth can be built with; listed even when their module is absent, so that
// `hearth devices` can say why.
const char* const kKnownModules[] = {"cuda", "hip", "vulkan"};
const char* const kModulePrefix = "libhearth-backend-";

std::string moduleFileName(const std::string& name) { return kModulePrefix + name + ".so"; }

// Vulkan drivers that run on the CPU: never worth choosing over the CPU backend.
bool isSoftwareRenderer(const DeviceInfo& d) {
    for (const char* name : {"llvmpipe", "lavapipe", "SwiftShader", "softpipe"})
        if (d.name.find(name) != std::string::npos) return true;
    return false;
}

std::string joined(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
    return out;
}

}  // namespace

struct BackendRegistry::Entry {
    std::string name;
    std::string path;
    std::unique_ptr<BackendLibrary> library;  // null when the module could not be used
    std::vector<DeviceInfo> devices;
    std::string reason;
};

BackendRegistry::BackendRegistry() : BackendRegistry(defaultModuleDirs()) {}

BackendRegistry::BackendRegistry(std::vector<std::string> moduleDirs) : dirs_(std::move(moduleDirs)) {
    auto cpuEntry = std::make_unique<Entry>();
    cpuEntry->name = "cpu";
    cpuEntry->library = cpu::makeCpuLibrary();
    cpuEntry->devices = cpuEntry->library->devices();
    entries_.push_back(std::move(cpuEntry));
    loadModules(dirs_);
}

// Modules are never dlclose()d: a Backend opened from one may outlive the registry, and its code
// must stay mapped until the process ends.
BackendRegistry::~BackendRegistry() = default;

std::vector<std::string> BackendRegistry::defaultModuleDirs() {
    if (const char* env = std::getenv("HEARTH_BACKEND_DIR"); env && *env) return {env};
    std::vector<std::string> dirs;
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) dirs.push_back((exe.parent_path().parent_path() / "lib" / "hearth").string());
#ifdef HEARTH_BUILD_BACKEND_DIR
    dirs.emplace_back(HEARTH_BUILD_BACKEND_DIR);
#endif
    return dirs;
}

void BackendRegistry::loadModules(const std::vector<std::string>& dirs) {
    // name -> first file found, in folder order.
    std::vector<std::pair<std::string, std::string>> found;
    std::set<std::string> names;
    for (const auto& dir : dirs) {
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            std::string file = it->path().filename().string();
            if (file.rfind(kModulePrefix, 0) != 0 || file.size() <= 3 || file.substr(file.size() - 3) != ".so") continue;
            std::string name = file.substr(std::string(kModulePrefix).size(), file.size() - 3 - std::string(kModulePrefix).size());
            if (name.empty() || name == "cpu" || !names.insert(name).second) continue;
            found.emplace_back(name, it->path().string());
        }
    }
    std::sort(found.begin(), found.end());
    for (const char* known : kKnownModules) {
        if (names.count(known)) continue;
        auto entry = std::make_unique<Entry>();
        entry->name = known;
        entry->reason = "this build has no " + std::string(known) + " backend (" + moduleFileName(known) +
                        " not found in " + (dirs.empty() ? std::string("any folder") : joined(dirs)) + ")";
        entries_.push_back(std::move(entry));
    }
    for (auto& [name, path] : found) {
        auto entry = std::make_unique<Entry>();
        entry->name = name;
        entry->path = path;
        void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char* err = dlerror();
            entry->reason = "cannot load " + path + ": " + (err ? err : "unknown error");
        } else if (auto init = reinterpret_cast<BackendInitFn>(dlsym(handle, "hearth_backend_init")); !init) {
            entry->reason = path + " is not a Hearth backend module (no hearth_backend_init)";
        } else {
            try {
                entry->library.reset(init(kBackendApiVersion));
                if (!entry->library) {
                    entry->reason = path + " was built for another version of Hearth (backend API " +
                                    std::to_string(kBackendApiVersion) + " wanted); reinstall matching files";
                } else {
                    entry->devices = entry->library->devices();
                    if (entry->devices.empty()) {
                        entry->reason = entry->library->unavailableReason();
                        if (entry->reason.empty()) entry->reason = "no device found";
                    }
                }
            } catch (const std::exception& e) {
                entry->library.reset();
                entry->devices.clear();
                entry->reason = path + " failed to start: " + e.what();
            }
        }
        entries_.push_back(std::move(entry));
    }
}

std::vector<LibraryStatus> BackendRegistry::libraries() const {
    std::vector<LibraryStatus> out;
    for (const auto& e : entries_) out.push_back({e->name, e->devices, e->reason, e->path});
    return out;
}

std::string BackendRegistry::describeAvailable() const {
    std::vector<std::string> ids, missing;
    for (const auto& e : entries_) {
        for (const auto& d : e->devices) ids.push_back(d.id);
        if (e->devices.empty() && !e->path.empty()) missing.push_back(e->name + ": " + e->reason);
    }
    std::string text = "available devices: " + joined(ids);
    if (!missing.empty()) text += "; " + joined(missing);
    return text + " (see 'hearth devices')";
}

std::unique_ptr<Backend> BackendRegistry::open(std::string_view deviceId, const BackendOptions& options) {
    std::string id(deviceId);
    if (id == "auto" || id.empty()) {
        // CUDA for NVIDIA, HIP for AMD, Vulkan for the rest, the CPU last.
        for (const char* name : {"cuda", "hip", "vulkan"}) {
            for (auto& e : entries_) {
                if (e->name != name || !e->library) continue;
                for (size_t i = 0; i < e->devices.size(); ++i) {
                    if (isSoftwareRenderer(e->devices[i])) continue;
                    try {
                        return e->library->open(static_cast<int>(i), options);
                    } catch (const BackendError&) {
                        // Try the next device or kind; the CPU always works.
                    }
                }
            }
        }
        id = "cpu";
    }
    std::string name = id;
    int index = 0;
    if (auto colon = id.find(':'); colon != std::string::npos) {
        name = id.substr(0, colon);
        std::string_view digits(id.data() + colon + 1, id.size() - colon - 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || index < 0)
            throw BackendError("device '" + id + "' is not a valid device id (like cpu, cuda:0, vulkan:1); " +
                               describeAvailable());
    }
    for (auto& e : entries_) {
        if (e->name != name) continue;
        if (!e->library || e->devices.empty())
            throw BackendError("device '" + id + "' is not available: " + e->reason + "; " + describeAvailable());
        if (index >= static_cast<int>(e->devices.size()))
            throw BackendError("device '" + id + "' does not exist: " + name + " has " +
                               std::to_string(e->devices.size()) + " device(s); " + describeAvailable());
        return e->library->open(index, options);
    }
    throw BackendError("unknown device '" + id + "'; " + describeAvailable());
}

}  // namespace hearth
