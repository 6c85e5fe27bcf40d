#pragma once
// Private to src/io: Parsing the decoder part of a transformers config (internal to the io area, shared by
// hf_config.cpp for text-only models and the text part of Qwen2.5-VL / LLaVA).
#include "io/hf_config.h"
#include "io/json_file.h"

namespace balcap::io {

// `model_type` selects the defaults: "qwen2", "llama" or "qwen2_5_vl_text".
TextDecoderConfig parse_text_decoder(const JsonFields& fields, const std::string& model_type);

// Rejects impossible sizes (non-positive, heads not divisible by kv heads, ...).
void validate_text_decoder(const JsonFields& fields, const TextDecoderConfig& config);

}  // namespace balcap::io
