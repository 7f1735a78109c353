// Decode and prefill speed of a backend on Llama-shaped random weights, through the Backend
// interface alone (the same op sequence as a Llama forward pass), so it runs wherever the
// backend runs, Qt or not. Prints one JSON object per line and a table.
//
//   gpu_decode_bench [device] [model...]   device: cuda:0 (default); model: 8b-q4_k_m 8b-q4_0
//   8b-f16 1b-q4_k_m (default: all four), or `matvec` for the mat-vec kernels alone.
//   HEARTH_BENCH_CTX (512), HEARTH_BENCH_PREFILL (512).
//
// "stream GB/s" is the add() op over 3 x 1 GiB arrays (two reads, one write): the bandwidth the
// device reaches on a plain streaming kernel, the roof for decode.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backends/registry.h"

using namespace hearth;
using Clock = std::chrono::steady_clock;

namespace {

struct Shape {
    const char* name;
    int64_t dim, layers, heads, kvHeads, headDim, ffn, vocab;
    bool tiedOutput;
};
const Shape k8B{"llama-3.1-8b", 4096, 32, 32, 8, 128, 14336, 128256, false};
const Shape k1B{"llama-3.2-1b", 2048, 16, 32, 8, 64, 8192, 128256, true};

struct Quant {
    const char* name;
    DType main, attnV, ffnDown, output;
    bool mixed;  // Q4_K_M: attn_v / ffn_down in Q6_K on every other layer (as llama.cpp's recipe, roughly)
};

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Random bytes with sane scale fields, valid for every supported type; tensors take slices of it.
class WeightPool {
public:
    WeightPool(DType type, size_t bytes) : type_(type), data_(bytes) {
        unsigned threads = std::max(1u, std::thread::hardware_concurrency());
        std::vector<std::thread> pool;
        size_t per = (bytes / threads + 63) & ~size_t{63};
        for (unsigned t = 0; t < threads; ++t) {
            pool.emplace_back([this, t, per] {
                uint64_t s = 0x9E3779B97F4A7C15ull * (t + 1);
                size_t end = std::min(data_.size(), (t + 1) * per);
                for (size_t i = t * per; i < end; i += 8) {
                    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                    std::memcpy(&data_[i], &s, std::min<size_t>(8, end - i));
                }
            });
        }
        for (auto& th : pool) th.join();
        fixScales();
    }
    // A slice of `bytes` starting at a whole block.
    const uint8_t* slice(size_t bytes, std::mt19937_64& rng) const {
        size_t block = dtypeTraits(type_)->typeSize;
        size_t blocks = (data_.size() - bytes) / block;
        return data_.data() + (blocks ? rng() % blocks : 0) * block;
    }

private:
    void putHalf(size_t at, float v) {
        f16_t h = f32ToF16(v);
        std::memcpy(&data_[at], &h, 2);
    }
    void fixScales() {
        auto tr = *dtypeTraits(type_);
        std::mt19937 rng(7);
        std::uniform_real_distribution<float> d(0.001f, 0.01f), w(-0.05f, 0.05f);
        if (type_ == DType::F16 || type_ == DType::BF16) {
            for (size_t at = 0; at + 2 <= data_.size(); at += 2) {
                float v = w(rng);
                if (type_ == DType::F16) putHalf(at, v);
                else { bf16_t b = f32ToBf16(v); std::memcpy(&data_[at], &b, 2); }
            }
            return;
        }
        for (size_t at = 0; at + tr.typeSize <= data_.size(); at += tr.typeSize) {
            switch (type_) {
                case DType::Q4_K: case DType::Q5_K: case DType::Q4_1: putHalf(at, d(rng)); putHalf(at + 2, d(rng)); break;
                case DType::Q6_K: putHalf(at + 208, d(rng)); break;
                default: putHalf(at, d(rng)); break;
            }
        }
    }
    DType type_;
    std::vector<uint8_t> data_;
};

struct Weight {
    std::unique_ptr<Buffer> buffer;
    Tensor t;
};

class Bench {
public:
    Bench(Backend& be, const Shape& s, const Quant& q, int64_t ctx) : be_(be), s_(s), q_(q), ctx_(ctx) {}

    // Weight tensors prepareWeights rewrote.
    size_t repacked() const { return repacked_; }

    void load() {
        std::mt19937_64 rng(42);
        std::vector<DType> types = {q_.main, q_.attnV, q_.ffnDown, q_.output};
        std::sort(types.begin(), types.end());
        types.erase(std::unique(types.begin(), types.end()), types.end());
        for (DType t : types) pools_.emplace_back(t, std::make_unique<WeightPool>(t, size_t{512} << 20));
        auto w = [&](DType type, int64_t k, int64_t rows) {
            Weight out;
            out.t.type = type;
            out.t.ne[0] = k;
            out.t.ne[1] = rows;
            const WeightPool* pool = nullptr;
            for (auto& [pt, p] : pools_) if (pt == type) pool = p.get();
            size_t bytes = out.t.bytes();
            out.buffer = be_.allocate(bytes, BufferUsage::Weights);
            out.t.buffer = out.buffer.get();
            for (size_t done = 0; done < bytes;) {  // pool slices of at most 256 MiB
                size_t n = std::min(bytes - done, size_t{256} << 20);
                be_.upload(out.t, pool->slice(n, rng), n, done);
                done += n;
            }
            weightBytes_ += bytes;
            return out;
        };
        tokenEmbd_ = w(q_.main, s_.dim, s_.vocab);
        weightBytes_ -= tokenEmbd_.t.bytes();  // a decode step reads one row of it
        int64_t qDim = s_.heads * s_.headDim, kvDim = s_.kvHeads * s_.headDim;
        for (int64_t l = 0; l < s_.layers; ++l) {
            bool hi = q_.mixed && l % 2 == 0;
            Layer L;
            L.q = w(q_.main, s_.dim, qDim);
            L.k = w(q_.main, s_.dim, kvDim);
            L.v = w(hi ? q_.attnV : q_.main, s_.dim, kvDim);
            L.o = w(q_.main, qDim, s_.dim);
            L.gate = w(q_.main, s_.dim, s_.ffn);
            L.up = w(q_.main, s_.dim, s_.ffn);
            L.down = w(hi ? q_.ffnDown : q_.main, s_.ffn, s_.dim);
            L.kc = act(DType::F16, {s_.headDim, s_.kvHeads, ctx_});
            L.vc = act(DType::F16, {s_.headDim, s_.kvHeads, ctx_});
            layers_.push_back(std::move(L));
        }
        if (s_.tiedOutput && q_.output == q_.main) {
            weightBytes_ += tokenEmbd_.t.bytes();
        } else {
            output_ = w(q_.output, s_.dim, s_.vocab);
        }
        pools_.clear();
        // As the engine does after loading: the backend may rewrite the weights in place
        // (CUDA: Q4_0 / Q6_K rows made planar; HEARTH_CUDA_REPACK=0 keeps the GGUF layout).
        std::vector<Tensor> all = {tokenEmbd_.t};
        if (output_.buffer) all.push_back(output_.t);
        for (const Layer& L : layers_) {
            for (const Weight* x : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) all.push_back(x->t);
        }
        repacked_ = be_.prepareWeights(all);
        std::vector<float> ones(static_cast<size_t>(s_.dim), 1.0f);
        norm_ = act(DType::F32, {s_.dim});
        be_.upload(norm_.t, ones.data(), ones.size() * 4);
    }

    // Buffers for n tokens at a time.
    void prepare(int64_t n) {
        n_ = n;
        int64_t qDim = s_.heads * s_.headDim, kvDim = s_.kvHeads * s_.headDim;
        x_ = act(DType::F32, {s_.dim, n});
        xn_ = act(DType::F32, {s_.dim, n});
        tmp_ = act(DType::F32, {s_.dim, n});
        q_t = act(DType::F32, {s_.headDim, s_.heads, n});
        k_t = act(DType::F32, {s_.headDim, s_.kvHeads, n});
        v_t = act(DType::F32, {s_.headDim, s_.kvHeads, n});
        att_ = act(DType::F32, {qDim, n});
        g_ = act(DType::F32, {s_.ffn, n});
        u_ = act(DType::F32, {s_.ffn, n});
        logits_ = act(DType::F32, {s_.vocab, 1});
        ids_ = act(DType::I32, {n});
        pos_ = act(DType::I32, {n});
        best_ = act(DType::I32, {1});
        (void)kvDim;
    }

    void setTokens(int32_t firstPos) {
        std::vector<int32_t> ids(static_cast<size_t>(n_)), pos(static_cast<size_t>(n_));
        for (int64_t i = 0; i < n_; ++i) {
            ids[i] = static_cast<int32_t>((1000 + 7919 * i) % s_.vocab);
            pos[i] = firstPos + static_cast<int32_t>(i);
        }
        be_.upload(ids_.t, ids.data(), ids.size() * 4);
        be_.upload(pos_.t, pos.data(), pos.size() * 4);
    }

    // One forward pass of n_ tokens: the op sequence of inference/'s Llama graph.
    void forward() {
        RopeParams rope;
        rope.style = RopeStyle::Interleaved;
        rope.rotaryDims = static_cast<int>(s_.headDim);
        rope.theta = 500000.0f;
        be_.embed(x_.t, tokenEmbd_.t, ids_.t);
        for (auto& L : layers_) {
            be_.rmsNorm(xn_.t, x_.t, norm_.t, 1e-5f);
            Projection qkv[3] = {{q_t.t, L.q.t, {}}, {k_t.t, L.k.t, {}}, {v_t.t, L.v.t, {}}};
            be_.matmul(xn_.t, qkv);
            be_.rope(q_t.t, pos_.t, rope);
            be_.rope(k_t.t, pos_.t, rope);
            be_.storeKv(L.kc.t, L.vc.t, k_t.t, v_t.t, pos_.t);
            be_.attention(att_.t.reshaped(s_.headDim, s_.heads, n_), q_t.t, L.kc.t, L.vc.t, pos_.t,
                          1.0f / std::sqrt(static_cast<float>(s_.headDim)));
            Projection o{tmp_.t, L.o.t, {}};
            be_.matmul(att_.t, {&o, 1});
            be_.add(x_.t, x_.t, tmp_.t);
            be_.rmsNorm(xn_.t, x_.t, norm_.t, 1e-5f);
            Projection gu[2] = {{g_.t, L.gate.t, {}}, {u_.t, L.up.t, {}}};
            be_.matmul(xn_.t, gu);
            be_.siluMul(g_.t, g_.t, u_.t);
            Projection d{tmp_.t, L.down.t, {}};
            be_.matmul(g_.t, {&d, 1});
            be_.add(x_.t, x_.t, tmp_.t);
        }
        // Logits of the last token only, as a chat engine needs.
        Tensor last = x_.t.rowRange(n_ - 1, 1), lastNorm = xn_.t.rowRange(n_ - 1, 1);
        be_.rmsNorm(lastNorm, last, norm_.t, 1e-5f);
        Projection out{logits_.t, output_.t.valid() ? output_.t : tokenEmbd_.t, {}};
        be_.matmul(lastNorm, {&out, 1});
        be_.argmax(best_.t, logits_.t);
    }

    int32_t readToken() {
        int32_t t = 0;
        be_.download(&t, best_.t, 4);
        return t;
    }

    size_t weightBytes() const { return weightBytes_; }

private:
    struct Layer {
        Weight q, k, v, o, gate, up, down, kc, vc;
    };
    Weight act(DType type, std::vector<int64_t> ne) {
        Weight out;
        out.t.type = type;
        for (size_t i = 0; i < ne.size(); ++i) out.t.ne[i] = ne[i];
        out.buffer = be_.allocate(out.t.bytes(), type == DType::F16 ? BufferUsage::KvCache : BufferUsage::Activations);
        out.t.buffer = out.buffer.get();
        return out;
    }

    Backend& be_;
    Shape s_;
    Quant q_;
    int64_t ctx_, n_ = 0;
    std::vector<std::pair<DType, std::unique_ptr<WeightPool>>> pools_;
    size_t weightBytes_ = 0;
    size_t repacked_ = 0;
    Weight tokenEmbd_, output_, norm_;
    std::vector<Layer> layers_;
    Weight x_, xn_, tmp_, q_t, k_t, v_t, att_, g_, u_, logits_, ids_, pos_, best_;
};

double streamBandwidth(Backend& be) {
    int64_t n = int64_t{1} << 28;  // 1 GiB of floats per array
    Weight a, b, c;
    for (Weight* w : {&a, &b, &c}) {
        w->t.type = DType::F32;
        w->t.ne[0] = n;
        w->buffer = be.allocate(w->t.bytes(), BufferUsage::Activations);
        w->t.buffer = w->buffer.get();
    }
    be.add(c.t, a.t, b.t);
    be.synchronize();
    const int reps = 20;
    auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) be.add(c.t, a.t, b.t);
    be.synchronize();
    return 3.0 * 4.0 * static_cast<double>(n) * reps / seconds(t0, Clock::now()) / 1e9;
}

// Mat-vec alone (`gpu_decode_bench cuda:0 matvec`): each projection group of a decode layer as
// its own matmul() call (the q8 quantization of x and the mat-vec kernels), 20 calls captured in
// one graph and replayed, so the figure is the in-graph cost per call at real clocks. "x only"
// is a 1-row matrix: the floor of one call (two launches, no weight traffic to speak of). A
// second argument keeps only the cases whose name contains it.
void matvecBench(Backend& be, const std::string& only) {
    struct Case {
        const char* name;
        DType type;
        int64_t k;
        std::vector<int64_t> rows;
    };
    const Case cases[] = {
        {"x only", DType::Q4_K, 4096, {1}},
        {"8B q/k/v q4_k", DType::Q4_K, 4096, {4096, 1024, 1024}},
        {"8B q/k q4_k", DType::Q4_K, 4096, {4096, 1024}},
        {"8B v q6_k", DType::Q6_K, 4096, {1024}},
        {"8B o q4_k", DType::Q4_K, 4096, {4096}},
        {"8B gate/up q4_k", DType::Q4_K, 4096, {14336, 14336}},
        {"8B down q4_k", DType::Q4_K, 14336, {4096}},
        {"8B down q6_k", DType::Q6_K, 14336, {4096}},
        {"8B output q6_k", DType::Q6_K, 4096, {128256}},
        {"8B q/k/v q4_0", DType::Q4_0, 4096, {4096, 1024, 1024}},
        {"8B o q4_0", DType::Q4_0, 4096, {4096}},
        {"8B gate/up q4_0", DType::Q4_0, 4096, {14336, 14336}},
        {"8B down q4_0", DType::Q4_0, 14336, {4096}},
        {"8B gate/up f16", DType::F16, 4096, {14336, 14336}},
        {"1B q/k/v q4_k", DType::Q4_K, 2048, {2048, 512, 512}},
        {"1B o q4_k", DType::Q4_K, 2048, {2048}},
        {"1B gate/up q4_k", DType::Q4_K, 2048, {8192, 8192}},
        {"1B down q6_k", DType::Q6_K, 8192, {2048}},
        {"1B output q4_k", DType::Q4_K, 2048, {128256}},
    };
    std::mt19937_64 rng(1);
    std::vector<std::pair<DType, std::unique_ptr<WeightPool>>> pools;
    auto pool = [&](DType t) -> const WeightPool& {
        for (auto& [pt, p] : pools) if (pt == t) return *p;
        pools.emplace_back(t, std::make_unique<WeightPool>(t, size_t{512} << 20));
        return *pools.back().second;
    };
    for (const Case& c : cases) {
        if (!only.empty() && std::string(c.name).find(only) == std::string::npos) continue;
        std::vector<Weight> ws, outs;
        std::vector<Projection> projections;
        size_t bytes = 0;
        for (int64_t rows : c.rows) {
            Weight w;
            w.t.type = c.type;
            w.t.ne[0] = c.k;
            w.t.ne[1] = rows;
            w.buffer = be.allocate(w.t.bytes(), BufferUsage::Weights);
            w.t.buffer = w.buffer.get();
            be.upload(w.t, pool(c.type).slice(w.t.bytes(), rng), w.t.bytes());
            be.prepareWeights({&w.t, 1});
            bytes += w.t.bytes();
            Weight o;
            o.t.type = DType::F32;
            o.t.ne[0] = rows;
            o.buffer = be.allocate(o.t.bytes(), BufferUsage::Activations);
            o.t.buffer = o.buffer.get();
            ws.push_back(std::move(w));
            outs.push_back(std::move(o));
        }
        for (size_t i = 0; i < ws.size(); ++i) projections.push_back({outs[i].t, ws[i].t, {}});
        Weight x;
        x.t.type = DType::F32;
        x.t.ne[0] = c.k;
        x.buffer = be.allocate(x.t.bytes(), BufferUsage::Activations);
        x.t.buffer = x.buffer.get();
        std::vector<float> xv(static_cast<size_t>(c.k));
        std::mt19937 xr(3);
        std::normal_distribution<float> nd(0.0f, 1.0f);
        for (float& v : xv) v = nd(xr);
        be.upload(x.t, xv.data(), xv.size() * 4);
        const int perGraph = 20, reps = 10;
        auto graph = be.capture([&] {
            for (int i = 0; i < perGraph; ++i) be.matmul(x.t, projections);
        });
        graph->run();
        be.synchronize();
        auto t0 = Clock::now();
        for (int i = 0; i < reps; ++i) graph->run();
        be.synchronize();
        double us = seconds(t0, Clock::now()) / (perGraph * reps) * 1e6;
        std::printf("{\"matvec\":\"%s\",\"us\":%.2f,\"mib\":%.2f,\"gbps\":%.1f}\n", c.name, us,
                    bytes / 1048576.0, bytes / us / 1e3);
        std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string device = argc > 1 ? argv[1] : "cuda:0";
    std::vector<std::string> models;
    for (int i = 2; i < argc; ++i) models.push_back(argv[i]);
    if (models.empty()) models = {"8b-q4_k_m", "8b-q4_0", "8b-f16", "1b-q4_k_m"};
    int64_t ctx = std::getenv("HEARTH_BENCH_CTX") ? std::atoll(std::getenv("HEARTH_BENCH_CTX")) : 512;
    int64_t prefill = std::getenv("HEARTH_BENCH_PREFILL") ? std::atoll(std::getenv("HEARTH_BENCH_PREFILL")) : 512;

    BackendRegistry registry;
    std::unique_ptr<Backend> be;
    try {
        be = registry.open(device);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gpu_decode_bench: %s\n", e.what());
        return 1;
    }
    if (!models.empty() && models[0] == "matvec") {
        matvecBench(*be, models.size() > 1 ? models[1] : "");
        return 0;
    }
    double stream = streamBandwidth(*be);
    std::printf("{\"device\":\"%s\",\"name\":\"%s\",\"stream_gbps\":%.1f}\n", be->device().id.c_str(),
                be->device().name.c_str(), stream);

    std::vector<std::string> table;
    for (const std::string& m : models) {
        const Shape& shape = m.rfind("1b", 0) == 0 ? k1B : k8B;
        Quant q{"q4_k_m", DType::Q4_K, DType::Q6_K, DType::Q6_K, DType::Q6_K, true};
        if (m.find("q4_0") != std::string::npos) q = {"q4_0", DType::Q4_0, DType::Q4_0, DType::Q4_0, DType::Q6_K, false};
        if (m.find("f16") != std::string::npos) q = {"f16", DType::F16, DType::F16, DType::F16, DType::F16, false};
        if (m.find("q8_0") != std::string::npos) q = {"q8_0", DType::Q8_0, DType::Q8_0, DType::Q8_0, DType::Q8_0, false};
        if (shape.tiedOutput) q.output = q.main;
        try {
            Bench bench(*be, shape, q, std::max(ctx, prefill) + 1);
            auto t0 = Clock::now();
            bench.load();
            double loadS = seconds(t0, Clock::now());

            const int steps = std::getenv("HEARTH_BENCH_STEPS") ? std::atoi(std::getenv("HEARTH_BENCH_STEPS")) : 100;
            bench.prepare(prefill);
            bench.setTokens(0);  // fills cache rows [0, prefill) for the decode below
            bench.forward();
            be->synchronize();
            t0 = Clock::now();
            const int prefillReps = std::min(steps, 3);
            for (int i = 0; i < prefillReps; ++i) bench.forward();
            be->synchronize();
            double prefillS = seconds(t0, Clock::now()) / prefillReps;

            // Decode at position ctx (attention over ctx cached rows), captured once, replayed.
            bench.prepare(1);
            bench.setTokens(static_cast<int32_t>(ctx));
            auto graph = be->capture([&] { bench.forward(); });
            for (int i = 0; i < std::min(steps, 5); ++i) { graph->run(); bench.readToken(); }
            t0 = Clock::now();
            for (int i = 0; i < steps; ++i) {
                graph->run();
                bench.readToken();  // the token id crosses to the host every step, as in chat
            }
            double decodeS = seconds(t0, Clock::now()) / steps;
            // The same step without the graph (launch overhead visible).
            t0 = Clock::now();
            const int eagerSteps = std::min(steps, 20);
            for (int i = 0; i < eagerSteps; ++i) { bench.forward(); bench.readToken(); }
            double eagerS = seconds(t0, Clock::now()) / eagerSteps;
            graph.reset();

            double gbps = static_cast<double>(bench.weightBytes()) / decodeS / 1e9;
            std::printf("{\"model\":\"%s\",\"shape\":\"%s\",\"quant\":\"%s\",\"weights_gib\":%.3f,\"ctx\":%lld,"
                        "\"decode_tok_s\":%.1f,\"decode_eager_tok_s\":%.1f,\"decode_gbps\":%.1f,\"of_stream\":%.3f,"
                        "\"prefill_tokens\":%lld,\"prefill_tok_s\":%.1f,\"load_s\":%.1f,\"repacked\":%zu}\n",
                        m.c_str(), shape.name, q.name, bench.weightBytes() / 1073741824.0, static_cast<long long>(ctx),
                        1.0 / decodeS, 1.0 / eagerS, gbps, gbps / stream, static_cast<long long>(prefill),
                        prefill / prefillS, loadS, bench.repacked());
            char line[256];
            std::snprintf(line, sizeof line, "%-10s %8.1f tok/s %7.1f GB/s (%4.1f%% of stream)  eager %7.1f  prefill %9.1f tok/s",
                          m.c_str(), 1.0 / decodeS, gbps, 100.0 * gbps / stream, 1.0 / eagerS, prefill / prefillS);
            table.push_back(line);
            std::fflush(stdout);
        } catch (const std::exception& e) {
            std::printf("{\"model\":\"%s\",\"error\":\"%s\"}\n", m.c_str(), e.what());
        }
    }
    std::printf("\n%s  stream %.1f GB/s, context %lld\n", be->device().name.c_str(), stream, static_cast<long long>(ctx));
    for (auto& l : table) std::printf("%s\n", l.c_str());
    return 0;
}
