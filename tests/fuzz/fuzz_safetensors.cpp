// libFuzzer: SafetensorsFile on arbitrary bytes (header length, JSON header, offsets).
#include <cstddef>
#include <cstdint>

#include "models/formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto f = hearth::safetensors::SafetensorsFile::fromMemory({data, size}, "fuzz.safetensors");
        volatile uint8_t sink = 0;
        for (const auto& t : f.tensors()) {
            if (t.bytes) sink = static_cast<uint8_t>(sink ^ t.data[0] ^ t.data[t.bytes - 1]);
            if (f.tensor(t.name) == nullptr) __builtin_trap();  // every listed tensor is findable
        }
    } catch (const hearth::FormatError&) {
    }
    return 0;
}
