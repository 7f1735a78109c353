#include "inference/engine/benchmark.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "backends/cpu/membw.h"
#include "backends/registry.h"
#include "inference/engine/model_graph.h"

namespace hearth {

namespace {

using Clock = std::chrono::steady_clock;

double cpuSeconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double loadAverage() {
    std::ifstream in("/proc/loadavg");
    double l = 0;
    in >> l;
    return l;
}

// The device's free memory now. Backends report it at discovery only, so this discovers afresh
// (a new registry asks every module again); 0 when the device is not found or says nothing.
uint64_t freeDeviceMemoryNow(const std::string& id) {
    BackendRegistry fresh;
    for (const auto& lib : fresh.libraries())
        for (const auto& d : lib.devices)
            if (d.id == id) return d.freeMemory;
    return 0;
}

// add() over three F32 arrays of 256 MiB each (far beyond any GPU's L2): two reads and one write
// per element. Returns 0 when the arrays do not fit beside the model.
double streamBandwidth(Backend& be) {
    constexpr int64_t n = int64_t{1} << 26;
    std::unique_ptr<Buffer> buffers[3];
    Tensor t[3];
    try {
        for (int i = 0; i < 3; ++i) {
            t[i].type = DType::F32;
            t[i].ne[0] = n;
            buffers[i] = be.allocate(t[i].bytes(), BufferUsage::Activations);
            t[i].buffer = buffers[i].get();
        }
    } catch (const BackendError&) {
        return 0;
    }
    be.add(t[2], t[0], t[1]);  // the inputs' contents do not matter for the timing
    be.synchronize();
    constexpr int reps = 50;
    auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) be.add(t[2], t[0], t[1]);
    be.synchronize();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    return 3.0 * static_cast<double>(t[0].bytes()) * reps / s / 1e9;
}

}  // namespace

uint64_t residentBytes() {
    std::ifstream in("/proc/self/status");
    std::string key;
    while (in >> key) {
        if (key == "VmRSS:") {
            uint64_t kb = 0;
            in >> kb;
            return kb * 1024;
        }
        std::getline(in, key);
    }
    return 0;
}

uint64_t hugePageFileBytes() {
    std::ifstream in("/proc/self/smaps_rollup");
    std::string key;
    while (in >> key) {
        if (key == "FilePmdMapped:") {
            uint64_t kb = 0;
            in >> kb;
            return kb * 1024;
        }
        std::getline(in, key);
    }
    return 0;
}

namespace {

// Calls f(tensor) for every weight a decode step reads in full (the embedding table aside).
template <class F>
void forEachDecodeWeight(const ModelGraph& g, F f) {
    const auto& w = g.weights();
    for (const auto& l : w.layers) {
        for (const auto* t : {&l.attnNorm, &l.wq, &l.wk, &l.wv, &l.bq, &l.bk, &l.bv, &l.qNorm, &l.kNorm, &l.wo,
                              &l.ffnNorm, &l.wGate, &l.wUp, &l.wDown})
            if (t->valid()) f(*t);
    }
    for (const auto* t : {&w.outputNorm, &w.output})
        if (t->valid()) f(*t);
}

// The read bandwidth of the host memory span that holds the step's weights (CPU backend: the
// mapped file), or 0 where the weights have no host address.
double weightsReadBandwidth(const ModelGraph& g, int threads) {
    const char* first = nullptr;
    const char* last = nullptr;
    bool host = true;
    forEachDecodeWeight(g, [&](const Tensor& t) {
        const char* base = t.buffer ? static_cast<const char*>(t.buffer->hostPointer()) : nullptr;
        if (!base) {
            host = false;
            return;
        }
        const char* p = base + t.offset;
        if (!first || p < first) first = p;
        if (!last || p + t.bytes() > last) last = p + t.bytes();
    });
    return host && first ? measureReadBandwidth(first, static_cast<size_t>(last - first), threads) : 0.0;
}

}  // namespace

uint64_t bytesPerDecodedToken(const ModelGraph& g, double positions, DType kvType) {
    const auto& w = g.weights();
    uint64_t bytes = 0;
    forEachDecodeWeight(g, [&](const Tensor& t) { bytes += t.bytes(); });
    bytes += w.tokenEmbd.rowBytes();
    const auto& s = g.spec();
    double kvRow = 2.0 * s.numLayers * s.numKvHeads * s.headDim * (kvType == DType::F32 ? 4 : 2);
    return bytes + static_cast<uint64_t>(kvRow * positions);
}

namespace {

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

}  // namespace

double medianFractionOfReadBandwidth(const BenchResult& r) {
    std::vector<double> f;
    for (const auto& run : r.runs)
        if (run.membwReadGBs > 0)
            f.push_back(static_cast<double>(r.bytesPerToken) * run.decodeTps / 1e9 / run.membwReadGBs);
    return median(f);
}

BenchResult runBenchmark(const std::filesystem::path& path, LoadOptions lo, int p, int n, bool measureBandwidth,
                         int repetitions) {
    if (p < 1 || n < 1) throw EngineError("the benchmark needs at least one prompt and one generated token");
    if (repetitions < 1) throw EngineError("the benchmark needs at least one repetition");
    if (lo.contextSize == 0) lo.contextSize = p + n;
    auto model = Model::load(path, lo);
    if (p + n > model->contextSize())
        throw EngineError(std::to_string(p) + " + " + std::to_string(n) + " tokens do not fit the context of " +
                          std::to_string(model->contextSize()) + " (raise --ctx-size)");
    const auto vocab = static_cast<uint32_t>(model->spec().vocabSize);
    std::vector<int32_t> prompt(static_cast<size_t>(p));
    uint32_t x = 12345;
    for (auto& id : prompt) {
        x = x * 1664525u + 1013904223u;
        id = static_cast<int32_t>((x >> 8) % vocab);
    }
    Session session(model);
    // Warm-up: page the weights in and build the decode graph once. A GPU also prefills the whole
    // prompt once, so that the one-time costs of its first batch of that size (kernels loaded
    // lazily, scratch grown, library set-up) stay out of the figure: without it a 512-token
    // prefill on an H100 took ~160 ms for 1B and 8B alike, against bench/cuda's 14-52 ms.
    const bool gpu = model->device().backend != "cpu";
    session.logits({prompt.data(), gpu ? prompt.size() : std::min<size_t>(prompt.size(), 8)});
    session.decodeGreedy(prompt[0]);
    session.reset();

    BenchResult r;
    r.loadAverage = loadAverage();
    // One probe for every run's measurement: its buffers stay allocated until the end, so that no
    // run follows a free of them (see MemoryBandwidthProbe).
    std::unique_ptr<MemoryBandwidthProbe> probe;
    if (measureBandwidth && !gpu) probe = std::make_unique<MemoryBandwidthProbe>(lo.threads);
    for (int rep = 0; rep < repetitions; ++rep) {
        if (rep > 0) session.reset();
        BenchRun run;
        double c0 = cpuSeconds();
        session.logits(prompt);
        const double prefillSeconds = session.lastPrefillSeconds();
        r.prefillSeconds += prefillSeconds;
        r.prefillCpuSeconds += cpuSeconds() - c0;
        int32_t token = prompt.back();
        auto t0 = Clock::now();
        c0 = cpuSeconds();
        for (int i = 0; i < n; ++i) token = session.decodeGreedy(token);
        const double decodeSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
        r.decodeSeconds += decodeSeconds;
        r.decodeCpuSeconds += cpuSeconds() - c0;
        run.prefillTps = p / prefillSeconds;
        run.decodeTps = n / decodeSeconds;
        if (probe) {
            const MemoryBandwidth bw = probe->measure();
            run.membwCopyGBs = bw.copyGBs;
            run.membwReadGBs = bw.readGBs;
        }
        r.runs.push_back(run);
    }
    probe.reset();  // before the resident memory below is read
    auto medianOf = [&](double BenchRun::*field) {
        std::vector<double> v;
        for (const auto& run : r.runs) v.push_back(run.*field);
        return median(std::move(v));
    };

    r.deviceId = model->device().id;
    r.deviceName = model->device().name;
    r.promptTokens = p;
    r.genTokens = n;
    r.contextSize = model->contextSize();
    r.prefillTps = medianOf(&BenchRun::prefillTps);
    r.decodeTps = medianOf(&BenchRun::decodeTps);
    r.bytesPerToken = bytesPerDecodedToken(model->graph(), p + n / 2.0, lo.kvType);
    r.achievedGBs = static_cast<double>(r.bytesPerToken) * r.decodeTps / 1e9;
    r.memory = model->memoryUse();
    r.residentBytes = residentBytes();
    r.hugePageFileBytes = hugePageFileBytes();
    const DeviceInfo& dev = model->device();
    if (dev.backend != "cpu") {
        r.deviceTotalMemory = dev.totalMemory;
        uint64_t freeNow = dev.freeMemory > 0 ? freeDeviceMemoryNow(dev.id) : 0;
        if (freeNow > 0 && freeNow < dev.freeMemory) r.deviceMemoryUsed = dev.freeMemory - freeNow;
    }
    if (measureBandwidth) {
        if (dev.backend == "cpu") {
            r.membwCopyGBs = medianOf(&BenchRun::membwCopyGBs);
            r.membwReadGBs = medianOf(&BenchRun::membwReadGBs);
            r.weightsReadGBs = weightsReadBandwidth(model->graph(), lo.threads);
        } else r.deviceStreamGBs = streamBandwidth(model->backend());
    }
    return r;
}

}  // namespace hearth
