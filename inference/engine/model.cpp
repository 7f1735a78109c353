// Model::load: open the GGUF file, the device, the tokenizer and the chat template, and wrap the
// mapped weights for the backend.
#include <algorithm>

#include "backends/registry.h"
#include "inference/engine/engine.h"
#include "inference/engine/model_graph.h"
#include "inference/template/chat_template.h"
#include "inference/tokenizer/tokenizer.h"
#include "models/formats/gguf.h"

namespace hearth {

struct Model::Impl {
    std::filesystem::path path;
    LoadOptions options;
    // Declaration order = reverse destruction order: the graph and weights go before the backend,
    // the backend before the registry that may have loaded its module, the mapping last.
    std::unique_ptr<gguf::GgufFile> file;
    std::unique_ptr<BackendRegistry> registry;
    std::unique_ptr<Backend> backend;
    ModelSpec spec;
    std::unique_ptr<Tokenizer> tokenizer;
    std::unique_ptr<ChatTemplate> chatTemplate;
    std::string bosToken, eosToken;
    std::vector<int32_t> eog;
    int contextSize = 0;
    std::unique_ptr<Buffer> weights;
    std::unique_ptr<ModelGraph> graph;
};

namespace {

void progress(const LoadOptions& o, double fraction) {
    if (o.onProgress && !o.onProgress(fraction)) throw EngineError("loading the model was cancelled");
}

// Every weight tensor of the graph, for Backend::prepareWeights (which skips what it does not
// rewrite: norms, biases, types it reads as they are).
std::vector<Tensor> weightTensors(const ModelWeights& w) {
    std::vector<Tensor> all = {w.tokenEmbd, w.outputNorm, w.output, w.ropeFreqs};
    for (const LayerWeights& l : w.layers) {
        for (const Tensor& t : {l.attnNorm, l.wq, l.wk, l.wv, l.bq, l.bk, l.bv, l.qNorm, l.kNorm, l.wo, l.ffnNorm,
                                l.wGate, l.wUp, l.wDown}) {
            all.push_back(t);
        }
    }
    std::erase_if(all, [](const Tensor& t) { return !t.valid(); });
    return all;
}

}  // namespace

std::shared_ptr<Model> Model::load(const std::filesystem::path& path, const LoadOptions& options) {
    auto d = std::make_unique<Impl>();
    d->path = path;
    d->options = options;
    progress(options, 0.0);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw EngineError(path.string() + ": no such model file (give the path of a .gguf file)");
    try {
        d->file = std::make_unique<gguf::GgufFile>(gguf::GgufFile::open(path));
        d->spec = specFromGguf(*d->file);
    } catch (const FormatError& e) {
        throw EngineError(e.what());
    }
    if (options.contextSize < 0) throw EngineError("the context size must be positive");
    d->contextSize = options.contextSize > 0 ? options.contextSize
                                             : static_cast<int>(std::min<uint32_t>(d->spec.contextLength, 4096));
    if (d->contextSize < 1) d->contextSize = 4096;  // files without a context length
    progress(options, 0.05);

    try {
        d->tokenizer = std::make_unique<Tokenizer>(Tokenizer::fromGguf(*d->file));
    } catch (const std::exception& e) {
        throw EngineError(path.string() + ": cannot read the tokenizer: " + e.what());
    }
    try {
        ModelChatTemplate t = loadChatTemplate(path);
        d->bosToken = t.bosToken;
        d->eosToken = t.eosToken;
        d->chatTemplate = std::make_unique<ChatTemplate>(t.source ? ChatTemplate::fromSource(*t.source)
                                                                  : ChatTemplate::chatmlDefault());
    } catch (const std::exception&) {
        // A template our interpreter cannot parse should not stop the model from loading.
        d->chatTemplate = std::make_unique<ChatTemplate>(ChatTemplate::chatmlDefault());
    }
    for (int32_t id : d->tokenizer->eosIds()) d->eog.push_back(id);
    for (int32_t id : d->spec.eosIds) {
        if (std::find(d->eog.begin(), d->eog.end(), id) == d->eog.end()) d->eog.push_back(id);
    }
    progress(options, 0.1);

    try {
        d->registry = std::make_unique<BackendRegistry>();
        BackendOptions bo;
        bo.threads = options.threads;
        d->backend = d->registry->open(options.device, bo);
        const uint8_t* data = d->file->mappedData() + d->file->dataOffset();
        d->weights = d->backend->loadWeights(data, d->file->fileSize() - d->file->dataOffset());
        progress(options, 0.9);
        d->graph = ModelGraph::create(d->spec, *d->file, *d->backend, *d->weights);
        // Once, before any step is recorded: a GPU may rewrite the weights into its own layout.
        d->backend->prepareWeights(weightTensors(d->graph->weights()));
    } catch (const BackendError& e) {
        throw EngineError(e.what());
    }
    progress(options, 1.0);
    return std::shared_ptr<Model>(new Model(std::move(d)));
}

Model::Model(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
Model::~Model() = default;

const ModelSpec& Model::spec() const { return d->spec; }
const Tokenizer& Model::tokenizer() const { return *d->tokenizer; }
const ChatTemplate& Model::chatTemplate() const { return *d->chatTemplate; }
const DeviceInfo& Model::device() const { return d->backend->device(); }
std::filesystem::path Model::path() const { return d->path; }
int Model::contextSize() const { return d->contextSize; }
const std::vector<int32_t>& Model::endOfGenerationIds() const { return d->eog; }
Backend& Model::backend() const { return *d->backend; }
const ModelGraph& Model::graph() const { return *d->graph; }
const LoadOptions& Model::options() const { return d->options; }

int Model::prefillBatch() const {
    return std::min(d->backend->device().backend == "cpu" ? 256 : 512, d->contextSize);
}

MemoryUse Model::memoryUse() const {
    MemoryUse m;
    m.weights = d->graph->weightBytes();
    m.kvCache = ModelGraph::kvBytes(d->spec, d->contextSize, d->options.kvType);
    m.scratch = ModelGraph::activationBytes(d->spec, prefillBatch());
    return m;
}

std::string Model::renderChat(const nlohmann::json& messages, bool addGenerationPrompt) const {
    nlohmann::json extra = {{"bos_token", d->bosToken}, {"eos_token", d->eosToken}};
    return d->chatTemplate->render(messages, addGenerationPrompt, extra);
}

std::vector<int32_t> Model::encode(std::string_view text, bool addSpecialTokens) const {
    return d->tokenizer->encode(text, addSpecialTokens);
}

}  // namespace hearth
