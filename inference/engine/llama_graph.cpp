// Llama 2 / 3 / 3.1 / 3.2 and Mistral: the graph of ModelGraph as it is. GGUF converters permute
// the Q/K rows of llama-family models so that rotary pairs are adjacent (interleaved).
#include "inference/engine/model_graph.h"

namespace hearth {

namespace {

class LlamaGraph final : public ModelGraph {
public:
    LlamaGraph(const ModelSpec& spec, Backend& backend) : ModelGraph(spec, backend, RopeStyle::Interleaved) {}
};

}  // namespace

std::unique_ptr<ModelGraph> makeLlamaGraph(const ModelSpec& spec, Backend& backend) {
    return std::make_unique<LlamaGraph>(spec, backend);
}

}  // namespace hearth
