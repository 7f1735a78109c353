// `hearth convert` and `hearth quantize` as a user runs them: exit codes, progress lines when
// stderr is not a terminal, the --report table, usage errors, and a disk that fills up mid-write
// (RLIMIT_FSIZE) leaving neither the output nor its .partial file behind.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "models/formats/gguf.h"

namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(HEARTH_TEST_DATA_DIR) / "fixtures";

struct Run {
    int exitCode = -1;
    QString out, err;
};

Run runProcess(const QString& program, const QStringList& args) {
    QProcess p;
    p.start(program, args);
    Run r;
    if (!p.waitForFinished(120000)) {
        p.kill();
        p.waitForFinished();
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

Run cli(const QStringList& args) { return runProcess(qEnvironmentVariable("HEARTH_CLI"), args); }

QString str(const fs::path& p) { return QString::fromStdString(p.string()); }

bool nothingAt(const fs::path& out) { return !fs::exists(out) && !fs::exists(out.string() + ".partial"); }

// A random F16 llama model of ~34 MB (hidden 512, ffn 2048, 4 layers) using the llama fixture's
// tokenizer: big enough that a Q6_K conversion runs for a noticeable moment.
void writeBigLlama(const fs::path& dir) {
    const uint64_t vocab = 400, hidden = 512, ffn = 2048, layers = 4;
    fs::create_directories(dir);
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) fs::copy_file(kFixtures / "llama" / f, dir / f);
    nlohmann::json cfg = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", hidden},
                          {"intermediate_size", ffn}, {"num_attention_heads", 8}, {"num_key_value_heads", 8},
                          {"num_hidden_layers", layers}, {"vocab_size", vocab}, {"max_position_embeddings", 256},
                          {"rms_norm_eps", 1e-5}, {"tie_word_embeddings", true}};
    std::ofstream(dir / "config.json") << cfg.dump();
    std::vector<std::pair<std::string, std::vector<uint64_t>>> shapes = {{"model.embed_tokens.weight", {vocab, hidden}},
                                                                         {"model.norm.weight", {hidden}}};
    for (uint64_t l = 0; l < layers; ++l) {
        std::string p = "model.layers." + std::to_string(l) + ".";
        for (const char* n : {"input_layernorm", "post_attention_layernorm"}) shapes.push_back({p + n + ".weight", {hidden}});
        for (const char* n : {"q_proj", "k_proj", "v_proj", "o_proj"}) shapes.push_back({p + "self_attn." + n + ".weight", {hidden, hidden}});
        shapes.push_back({p + "mlp.gate_proj.weight", {ffn, hidden}});
        shapes.push_back({p + "mlp.up_proj.weight", {ffn, hidden}});
        shapes.push_back({p + "mlp.down_proj.weight", {hidden, ffn}});
    }
    nlohmann::json header = nlohmann::json::object();
    uint64_t at = 0;
    for (const auto& [name, shape] : shapes) {
        uint64_t n = shape.size() == 1 ? shape[0] : shape[0] * shape[1];
        header[name] = {{"dtype", "F16"}, {"shape", shape}, {"data_offsets", {at, at + n * 2}}};
        at += n * 2;
    }
    std::string h = header.dump();
    while (h.size() % 8) h += ' ';
    std::vector<uint16_t> data(at / 2);
    uint32_t state = 1;
    for (auto& v : data) {  // small random halves: sign, exponent 2^-8..2^-5, random mantissa
        state = state * 1664525u + 1013904223u;
        v = static_cast<uint16_t>(((state >> 16) & 0x83ffu) | ((7u + ((state >> 28) & 3u)) << 10));
    }
    std::ofstream out(dir / "model.safetensors", std::ios::binary);
    uint64_t len = h.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(at));
}

}  // namespace

class QuantCliTest : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    fs::path dir() const { return tmp_.path().toStdString(); }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        if (!fs::exists(kFixtures / "qwen2" / "config.json")) QSKIP("the HF fixtures are not there yet");
    }

    void convertShowsProgressAndReport() {
        fs::path out = dir() / "qwen2-q8.gguf";
        Run r = cli({"convert", str(kFixtures / "qwen2"), str(out), "--type", "q8_0", "--report"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("100%"), qPrintable(r.err));  // plain progress lines, not a redrawn bar
        QVERIFY(!r.err.contains('\r'));
        QVERIFY(r.err.contains("wrote "));
        QVERIFY(r.out.contains("rmse"));
        QVERIFY(r.out.contains("blk.0.attn_q.weight"));
        QVERIFY(r.out.contains("types: "));
        auto file = hearth::gguf::GgufFile::open(out);
        QCOMPARE(file.tensor("blk.0.attn_q.weight")->type, hearth::DType::Q8_0);
        QCOMPARE(file.tensor("blk.0.attn_q.bias")->type, hearth::DType::F32);
    }

    void quantizeReencodesAGguf() {
        fs::path f16 = dir() / "mistral-f16.gguf", q = dir() / "mistral-q4_k_m.gguf";
        QCOMPARE(cli({"convert", str(kFixtures / "mistral"), str(f16), "--quiet"}).exitCode, 0);
        Run r = cli({"quantize", str(f16), str(q), "q4_k_m", "--report", "--threads", "2"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("note: rows of 96 are not a multiple"));  // the documented fallback is reported
        auto file = hearth::gguf::GgufFile::open(q);
        QCOMPARE(*file.getUInt("general.file_type"), uint64_t{15});
        QCOMPARE(*file.getString("general.architecture"), std::string("llama"));
        // Quantizing a quantized file is refused with a message, exit 1.
        Run again = cli({"quantize", str(q), str(dir() / "x.gguf"), "q4_0"});
        QCOMPARE(again.exitCode, 1);
        QVERIFY(again.err.contains("already"));
    }

    void usageAndInputErrors() {
        QCOMPARE(cli({"convert"}).exitCode, 2);
        QCOMPARE(cli({"convert", str(kFixtures / "llama"), str(dir() / "a.gguf"), "--type", "q9_9"}).exitCode, 2);
        QCOMPARE(cli({"quantize", "in.gguf", "out.gguf"}).exitCode, 2);
        QCOMPARE(cli({"convert", "--help"}).exitCode, 0);
        QCOMPARE(cli({"convert", str(kFixtures / "llama"), str(dir() / "a.gguf"), "--output-type", "iq2_xs"}).exitCode, 2);
        // --pure and the output type override reach the file (qwen2 ties its embeddings).
        fs::path pure = dir() / "pure.gguf";
        QCOMPARE(cli({"convert", str(kFixtures / "qwen2"), str(pure), "--type", "q4_0", "--pure", "--output-type", "q8_0",
                      "--quiet"}).exitCode, 0);
        auto file = hearth::gguf::GgufFile::open(pure);
        QCOMPARE(file.tensor("token_embd.weight")->type, hearth::DType::Q8_0);
        QCOMPARE(file.tensor("blk.1.ffn_down.weight")->type, hearth::DType::Q4_0);
        fs::path out = dir() / "missing.gguf";
        Run r = cli({"convert", str(dir() / "no-such-folder"), str(out)});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains("no-such-folder"));
        QVERIFY(nothingAt(out));
        Run q = cli({"quantize", str(kFixtures / "llama" / "config.json"), str(out), "q8_0"});
        QCOMPARE(q.exitCode, 1);
        QVERIFY(nothingAt(out));
    }

    // A file-size limit makes write() fail with EFBIG part-way, as a full disk does with ENOSPC.
    void fullDiskLeavesNoPartialFile() {
        fs::path out = dir() / "full.gguf";
        QString script = QString("trap '' XFSZ; ulimit -f 64; exec \"$0\" convert \"$1\" \"$2\" --type f32");
        Run r = runProcess("/bin/sh", {"-c", script, qEnvironmentVariable("HEARTH_CLI"), str(kFixtures / "llama"), str(out)});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(!r.err.isEmpty(), "no error message");
        QVERIFY(nothingAt(out));
    }

    // Ctrl-C while converting: exit 130, a message, nothing left behind.
    void interruptLeavesNoPartialFile() {
        fs::path src = dir() / "big_llama", out = dir() / "interrupted.gguf";
        writeBigLlama(src);
        QProcess p;
        p.start(qEnvironmentVariable("HEARTH_CLI"), {"convert", str(src), str(out), "--type", "q6_k", "--threads", "1"});
        QVERIFY(p.waitForStarted());
        QByteArray err;
        while (!err.contains('%') && p.state() == QProcess::Running) {
            p.waitForReadyRead(100);
            err += p.readAllStandardError();
        }
        QVERIFY2(p.state() == QProcess::Running, "finished before it could be interrupted");
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(60000));
        err += p.readAllStandardError();
        QCOMPARE(p.exitCode(), 130);
        QVERIFY2(err.contains("cancelled"), err.constData());
        QVERIFY(nothingAt(out));
        // The same model converts fine when left alone.
        QCOMPARE(cli({"convert", str(src), str(out), "--type", "q4_k_m", "--quiet"}).exitCode, 0);
        auto file = hearth::gguf::GgufFile::open(out);
        QCOMPARE(file.tensor("blk.1.attn_q.weight")->type, hearth::DType::Q4_K);
        QCOMPARE(file.tensor("token_embd.weight")->type, hearth::DType::Q6_K);  // tied: the output's type
    }
};

QTEST_GUILESS_MAIN(QuantCliTest)
#include "cli_test.moc"
