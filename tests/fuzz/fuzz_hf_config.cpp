// libFuzzer: config.json text -> ModelSpec.
#include <cstddef>
#include <cstdint>
#include <string>

#include "models/formats/model_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto spec = hearth::specFromHfConfigText(std::string(reinterpret_cast<const char*>(data), size), "config.json");
        // What the engine relies on once a spec is accepted.
        if (spec.numKvHeads == 0 || spec.numHeads % spec.numKvHeads != 0 || spec.headDim == 0) __builtin_trap();
    } catch (const hearth::FormatError&) {
    }
    return 0;
}
