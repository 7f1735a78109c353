// libFuzzer: GgufFile on arbitrary bytes. Any exception other than FormatError, any read outside
// the input (ASan) or undefined behaviour (UBSan) is a finding.
#include <cstddef>
#include <cstdint>

#include "models/formats/gguf.h"
#include "models/formats/model_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto f = hearth::gguf::GgufFile::fromMemory({data, size}, "fuzz.gguf");
        // Touch what the reader vouched for: every tensor's first and last byte lie in the input.
        volatile uint8_t sink = 0;
        for (const auto& t : f.tensors()) {
            if (t.bytes) sink = static_cast<uint8_t>(sink ^ t.data[0] ^ t.data[t.bytes - 1]);
            (void)t.elements();
        }
        for (const auto& [key, value] : f.metadata()) {
            (void)value.asInt();
            (void)value.asFloat();
            (void)f.find(key);
        }
        try {
            (void)hearth::specFromGguf(f);
        } catch (const hearth::FormatError&) {
        }
    } catch (const hearth::FormatError&) {
    }
    return 0;
}
