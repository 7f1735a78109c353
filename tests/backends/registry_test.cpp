// The registry finds modules, reports every reason a backend cannot run, and opens devices by id
// with errors that list what exists. Uses the fake modules built next to this test.
#include <QtTest/QtTest>

#include <cstdlib>
#include <fstream>

#include "backends/registry.h"

using namespace hearth;

namespace {

const LibraryStatus* find(const std::vector<LibraryStatus>& libs, const std::string& name) {
    for (const auto& l : libs)
        if (l.name == name) return &l;
    return nullptr;
}

std::string errorOf(BackendRegistry& r, const std::string& id) {
    try {
        r.open(id);
    } catch (const BackendError& e) {
        return e.what();
    }
    return {};
}

}  // namespace

class RegistryTest : public QObject {
    Q_OBJECT

private slots:
    void cpuIsAlwaysThere() {
        BackendRegistry r(std::vector<std::string>{});
        auto libs = r.libraries();
        const auto* cpu = find(libs, "cpu");
        QVERIFY(cpu);
        QCOMPARE(cpu->devices.size(), size_t(1));
        QCOMPARE(cpu->devices[0].id, std::string("cpu"));
        QVERIFY(cpu->devices[0].totalMemory > 0);
        QVERIFY(cpu->unavailableReason.empty());
        // The known GPU kinds are listed with the reason they are missing.
        for (const char* name : {"cuda", "hip", "vulkan"}) {
            const auto* lib = find(libs, name);
            QVERIFY2(lib, name);
            QVERIFY(lib->devices.empty());
            QVERIFY2(lib->unavailableReason.find("not found") != std::string::npos, lib->unavailableReason.c_str());
        }
        QVERIFY(r.open("cpu") != nullptr);
        QVERIFY(r.open("cpu:0") != nullptr);
        QVERIFY(r.open("auto") != nullptr);
        QCOMPARE(r.open("auto")->device().id, std::string("cpu"));
        BackendOptions three;
        three.threads = 3;
        QVERIFY(r.open("cpu", three) != nullptr);
    }

    void modulesAndTheirFailures() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string modules = HEARTH_FAKE_MODULE_DIR;
        // Copy the fakes under the names the registry looks for.
        const std::pair<const char*, const char*> files[] = {
            {"fake_device", "fake"}, {"fake_none", "empty"}, {"fake_oldapi", "oldapi"}, {"fake_nosym", "nosym"},
            {"fake_device", "cuda"}};  // a CUDA module whose device fails to open
        for (auto [from, to] : files) {
            QVERIFY(QFile::copy(QString::fromStdString(modules + "/lib" + from + ".so"),
                                dir.filePath(QString("libhearth-backend-%1.so").arg(to))));
        }
        std::ofstream(dir.filePath("libhearth-backend-garbage.so").toStdString()) << "not a shared library";

        BackendRegistry r(std::vector<std::string>{dir.path().toStdString()});
        auto libs = r.libraries();
        const auto* fake = find(libs, "fake");
        QVERIFY(fake);
        QCOMPARE(fake->devices.size(), size_t(1));
        QCOMPARE(fake->devices[0].id, std::string("fake:0"));
        auto reason = [&](const char* name) { return find(libs, name) ? find(libs, name)->unavailableReason : "(missing)"; };
        QVERIFY2(reason("empty") == "no fake GPU in this machine", reason("empty").c_str());
        QVERIFY2(reason("oldapi").find("another version") != std::string::npos, reason("oldapi").c_str());
        QVERIFY2(reason("nosym").find("hearth_backend_init") != std::string::npos, reason("nosym").c_str());
        QVERIFY2(reason("garbage").find("cannot load") != std::string::npos, reason("garbage").c_str());

        // Errors name the id and list what exists.
        std::string e = errorOf(r, "fake:0");
        QVERIFY2(e.find("cannot compute anything") != std::string::npos, e.c_str());
        e = errorOf(r, "fake:3");
        QVERIFY2(e.find("fake:3") != std::string::npos && e.find("fake:0") != std::string::npos, e.c_str());
        e = errorOf(r, "oldapi:0");
        QVERIFY2(e.find("another version") != std::string::npos, e.c_str());
        e = errorOf(r, "tpu:0");
        QVERIFY2(e.find("unknown device 'tpu:0'") != std::string::npos && e.find("cpu") != std::string::npos, e.c_str());
        e = errorOf(r, "cuda:0");
        QVERIFY2(e.find("cannot compute anything") != std::string::npos, e.c_str());
        e = errorOf(r, "vulkan:0");
        QVERIFY2(e.find("not available") != std::string::npos, e.c_str());
        e = errorOf(r, "cpu:1");
        QVERIFY2(e.find("cpu:1") != std::string::npos, e.c_str());
        e = errorOf(r, "fake:-1");
        QVERIFY2(!e.empty(), "a negative index is refused");
        // "auto" tries the CUDA device, which fails to open, skips the fake (not a GPU kind Hearth
        // picks by itself) and lands on the CPU.
        QCOMPARE(r.open("auto")->device().id, std::string("cpu"));
    }

    void environmentPicksTheFolder() {
        qputenv("HEARTH_BACKEND_DIR", "/nonexistent/hearth-modules");
        auto dirs = BackendRegistry::defaultModuleDirs();
        qunsetenv("HEARTH_BACKEND_DIR");
        QCOMPARE(dirs.size(), size_t(1));
        QCOMPARE(dirs[0], std::string("/nonexistent/hearth-modules"));
        auto fallback = BackendRegistry::defaultModuleDirs();
        QVERIFY(fallback.size() >= 1);
        QVERIFY(fallback[0].find("lib/hearth") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(RegistryTest)
#include "registry_test.moc"
