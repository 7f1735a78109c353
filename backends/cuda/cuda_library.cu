// The module's entry point: discovers the devices, reports why there are none, opens backends.
// The CUDA runtime is linked statically, so this module loads on any machine; the driver
// (libcuda.so.1) is what the runtime looks for when the first call is made.
#include <dlfcn.h>

#include <memory>
#include <mutex>

#include "backends/cuda/cuda_backend.h"

namespace hearth {

namespace cuda {
namespace {

std::string versionText(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

class CudaLibrary final : public BackendLibrary {
public:
    std::string name() const override { return HEARTH_GPU_BACKEND; }

    std::vector<DeviceInfo> devices() override {
        discover();
        return devices_;
    }

    std::string unavailableReason() override {
        discover();
        return reason_;
    }

    std::unique_ptr<Backend> open(int deviceIndex, const BackendOptions&) override {
        discover();
        if (deviceIndex < 0 || deviceIndex >= static_cast<int>(devices_.size())) {
            std::string id = std::string(HEARTH_GPU_BACKEND) + ":" + std::to_string(deviceIndex);
            if (devices_.empty()) throw BackendError(id + " is not available: " + reason_);
            throw BackendError(id + " does not exist: this machine has " + std::to_string(devices_.size()) + " " +
                               HEARTH_GPU_VENDOR + " device(s), " + HEARTH_GPU_BACKEND + ":0 to " +
                               HEARTH_GPU_BACKEND + ":" + std::to_string(devices_.size() - 1));
        }
        return std::make_unique<CudaBackend>(deviceIndex, devices_[deviceIndex]);
    }

private:
    void discover() {
        std::call_once(once_, [this] { reason_ = findDevices(); });
    }

    std::string findDevices() {
#if !defined(HEARTH_GPU_HIP)
        // Without this check the runtime would report the missing driver as "insufficient driver".
        if (void* driver = dlopen(HEARTH_GPU_DRIVER_LIBRARY, RTLD_LAZY | RTLD_LOCAL)) {
            dlclose(driver);
        } else {
            return "NVIDIA driver not found (" HEARTH_GPU_DRIVER_LIBRARY " could not be loaded)";
        }
#endif
        int count = 0;
        gpuError_t status = gpuGetDeviceCount(&count);
        if (status == gpuErrorInsufficientDriver) {
            int driver = 0;
            (void)gpuDriverGetVersion(&driver);
            (void)gpuGetLastError();
            return std::string(HEARTH_GPU_VENDOR) + " driver too old: it supports " + HEARTH_GPU_BACKEND + " " +
                   versionText(driver) + ", this build needs " + versionText(HEARTH_GPU_RUNTIME_VERSION) +
                   "; update the driver";
        }
        if (status == gpuErrorNoDevice || (status == gpuSuccess && count == 0)) {
            (void)gpuGetLastError();
            return std::string("no ") + HEARTH_GPU_VENDOR + " GPU found";
        }
        if (status != gpuSuccess) {
            (void)gpuGetLastError();
            return std::string(HEARTH_GPU_BACKEND) + " runtime error: " + gpuGetErrorString(status);
        }
        for (int i = 0; i < count; ++i) {
            gpuDeviceProp prop{};
            if (gpuGetDeviceProperties(&prop, i) != gpuSuccess) continue;
            DeviceInfo info;
            info.id = std::string(HEARTH_GPU_BACKEND) + ":" + std::to_string(i);
            info.backend = HEARTH_GPU_BACKEND;
            info.name = prop.name;
            info.vendor = HEARTH_GPU_VENDOR;
            info.totalMemory = prop.totalGlobalMem;
            size_t freeBytes = 0, total = 0;
            if (gpuSetDevice(i) == gpuSuccess && gpuMemGetInfo(&freeBytes, &total) == gpuSuccess) {
                info.freeMemory = freeBytes;
            }
            info.computeCapability = gpu::archName(prop);
            if (gpu::hasTensorCores(prop)) info.features.push_back("tensor-cores");
            info.features.push_back("multiprocessors=" + std::to_string(prop.multiProcessorCount));
            devices_.push_back(std::move(info));
        }
        (void)gpuGetLastError();
        return devices_.empty() ? std::string("no usable ") + HEARTH_GPU_VENDOR + " GPU found" : std::string();
    }

    std::once_flag once_;
    std::vector<DeviceInfo> devices_;
    std::string reason_;
};

}  // namespace
}  // namespace cuda
}  // namespace hearth

extern "C" __attribute__((visibility("default"))) hearth::BackendLibrary* hearth_backend_init(uint32_t apiVersion) {
    if (apiVersion != hearth::kBackendApiVersion) return nullptr;
    return new hearth::cuda::CudaLibrary();
}
