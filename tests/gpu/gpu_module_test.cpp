// The CUDA module loads on any machine and says why it has no devices; on a GPU machine it lists
// them. Runs in CI (no GPU there: the "NVIDIA driver not found" path) and on the device machine.
#include <QtTest/QtTest>

#include <dlfcn.h>

#include <string>

#include "backends/registry.h"

using namespace hearth;

namespace {

bool driverPresent() {
    void* h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (h) dlclose(h);
    return h != nullptr;
}

const std::string kModuleDir = HEARTH_BUILD_DIR "/lib/hearth";

}  // namespace

class GpuModuleTest : public QObject {
    Q_OBJECT

private slots:
    void refusesOtherApiVersions() {
        void* module = dlopen((kModuleDir + "/libhearth-backend-cuda.so").c_str(), RTLD_NOW | RTLD_LOCAL);
        QVERIFY2(module, dlerror());
        auto init = reinterpret_cast<BackendInitFn>(dlsym(module, "hearth_backend_init"));
        QVERIFY(init);
        QVERIFY(init(kBackendApiVersion + 1) == nullptr);
        std::unique_ptr<BackendLibrary> lib(init(kBackendApiVersion));
        QVERIFY(lib);
        QCOMPARE(QString::fromStdString(lib->name()), QString("cuda"));
        lib.reset();
        dlclose(module);
    }

    void listsDevicesOrSaysWhyNot() {
        BackendRegistry registry({kModuleDir});
        const LibraryStatus* cuda = nullptr;
        auto libs = registry.libraries();
        for (const auto& l : libs)
            if (l.name == "cuda") cuda = &l;
        QVERIFY2(cuda, "the registry did not load libhearth-backend-cuda.so");
        if (cuda->devices.empty()) {
            QVERIFY(!cuda->unavailableReason.empty());
            if (!driverPresent())
                QVERIFY2(cuda->unavailableReason.find("NVIDIA driver not found") != std::string::npos,
                         cuda->unavailableReason.c_str());
            bool threw = false;
            try {
                registry.open("cuda:0");
            } catch (const BackendError& e) {
                threw = true;
                QVERIFY2(std::string(e.what()).find("cuda") != std::string::npos, e.what());
            }
            QVERIFY(threw);
        } else {
            for (size_t i = 0; i < cuda->devices.size(); ++i) {
                const auto& d = cuda->devices[i];
                QCOMPARE(QString::fromStdString(d.id), QString("cuda:%1").arg(i));
                QVERIFY(!d.name.empty());
                QVERIFY(d.totalMemory > 0);
                QVERIFY(!d.computeCapability.empty());
            }
            auto be = registry.open("cuda:0");
            QVERIFY(be->supportsWeightType(DType::Q4_K));
            QVERIFY(!be->supportsWeightType(DType::IQ2_XXS));
        }
    }

    // The HIP module, where this build has one, loads here too and says why it has no devices.
    void hipModuleLoads() {
        if (!QFile::exists(QString::fromStdString(kModuleDir + "/libhearth-backend-hip.so")))
            QSKIP("this build has no HIP backend");
        BackendRegistry registry({kModuleDir});
        bool found = false;
        for (const auto& l : registry.libraries()) {
            if (l.name != "hip") continue;
            found = true;
            QVERIFY(!l.devices.empty() || !l.unavailableReason.empty());
        }
        QVERIFY(found);
    }

    // `hearth devices --json` lists the cuda backend with its devices or its reason, exit 0.
    void devicesCommand() {
        const QString cli = qEnvironmentVariable("HEARTH_CLI");
        if (cli.isEmpty()) QSKIP("HEARTH_CLI not set");
        QProcess p;
        p.start(cli, {"devices", "--json"});
        QVERIFY(p.waitForFinished(60000));
        const QByteArray out = p.readAllStandardOutput(), err = p.readAllStandardError();
        if (p.exitCode() == 2 && err.contains("unknown")) QSKIP("this build has no `hearth devices` yet");
        QCOMPARE(p.exitCode(), 0);
        QVERIFY2(out.contains("\"cuda\""), out.constData());
        if (!driverPresent()) QVERIFY2(out.contains("NVIDIA driver not found"), out.constData());
    }
};

QTEST_GUILESS_MAIN(GpuModuleTest)
#include "gpu_module_test.moc"
