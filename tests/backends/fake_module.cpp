// Backend modules for the registry test, one per FAKE_KIND (see CMakeLists.txt): a module with a
// device, one with none, one built for another API version, and one without the entry point.
#include <string>

#include "backends/backend.h"

namespace {

class FakeLibrary final : public hearth::BackendLibrary {
public:
    std::string name() const override { return "fake"; }
    std::vector<hearth::DeviceInfo> devices() override {
#if FAKE_KIND == 1
        hearth::DeviceInfo d;
        d.id = "fake:0";
        d.backend = "fake";
        d.name = "Fake Accelerator";
        d.vendor = "NVIDIA";
        d.totalMemory = 1ull << 30;
        return {d};
#else
        return {};
#endif
    }
    std::string unavailableReason() override { return FAKE_KIND == 1 ? "" : "no fake GPU in this machine"; }
    std::unique_ptr<hearth::Backend> open(int deviceIndex, const hearth::BackendOptions&) override {
        throw hearth::BackendError("fake:" + std::to_string(deviceIndex) + " cannot compute anything");
    }
};

}  // namespace

#if FAKE_KIND != 4
extern "C" __attribute__((visibility("default"))) hearth::BackendLibrary* hearth_backend_init(uint32_t apiVersion) {
    const uint32_t builtFor = FAKE_KIND == 3 ? hearth::kBackendApiVersion + 1 : hearth::kBackendApiVersion;
    if (apiVersion != builtFor) return nullptr;
    return new FakeLibrary;
}
#else
extern "C" __attribute__((visibility("default"))) int hearth_something_else() { return 0; }
#endif
