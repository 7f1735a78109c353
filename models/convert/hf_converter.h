// Hugging Face folder (config.json + safetensors, one file or sharded) -> GGUF, in-process.
//
// Writes the GGUF ecosystem's metadata keys (general.*, <arch>.* hyper-parameters, rope settings,
// tokenizer.ggml.*, tokenizer.chat_template) and tensor names (token_embd, blk.N.attn_q, ...),
// applies the Q/K row permutation the ecosystem's converter applies to llama-family models (the
// GGUF "llama" architecture rotates interleaved pairs; HF rotates halves), stores llama3 rope
// scaling as the rope_freqs.weight tensor, and converts every tensor to the type the preset gives
// it (see models/quant/quant_preset.h) while streaming.
//
//   quant::WriteOptions opts;  // progress, cancellation, threads
//   convert::convertHfFolder("Llama-3.2-1B/", "llama-3.2-1b-q4_k_m.gguf", "q4_k_m", opts);
#pragma once

#include <filesystem>
#include <string_view>

#include "models/quant/quantizer.h"

namespace hearth::convert {

// Throws FormatError for a folder that cannot be converted (no config.json or weights, unsupported
// architecture, missing or mis-shaped tensors, unsupported dtypes), quant::QuantizeError for an
// unknown preset or too little disk space, quant::Cancelled when cancelled. No output is left
// behind on any failure.
quant::WriteResult convertHfFolder(const std::filesystem::path& folder, const std::filesystem::path& out,
                                   std::string_view preset, const quant::WriteOptions& options);

}  // namespace hearth::convert
