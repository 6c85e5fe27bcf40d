#include "io/text_decoder_config.h"

#include "core/error.h"

namespace balcap::io {
namespace {

// Class defaults of the transformers configs (v5.x: configuration_qwen2.py, configuration_llama.py,
// configuration_qwen2_5_vl.py::Qwen2_5_VLTextConfig). nullopt = None in python.
struct DecoderDefaults {
  int64_t vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads;
  std::optional<int64_t> num_key_value_heads;  // None -> num_attention_heads
  int64_t max_position_embeddings;
  double rms_norm_eps, rope_theta;
  std::optional<int64_t> bos_token_id, eos_token_id;
};

DecoderDefaults defaults_for(const JsonFields& fields, const std::string& model_type) {
  if (model_type == "qwen2") return {151936, 4096, 22016, 32, 32, 32, 32768, 1e-6, 10000.0, std::nullopt, std::nullopt};
  if (model_type == "llama") return {32000, 4096, 11008, 32, 32, std::nullopt, 2048, 1e-6, 10000.0, 1, 2};
  if (model_type == "qwen2_5_vl_text") return {152064, 8192, 29568, 80, 64, 8, 32768, 1e-5, 1e6, 151643, 151645};
  fields.fail_key("model_type", fmt::format("is '{}', not a supported text decoder", model_type),
                  "supported decoders: qwen2, llama (and the text part of qwen2_5_vl)");
}

// Legacy `rope_scaling` wins over `rope_parameters` (as in convert_rope_params_to_dict); the
// theta comes from the dict, else a top-level `rope_theta`, else the class default.
void read_rope(const JsonFields& fields, double default_theta, TextDecoderConfig& out) {
  std::optional<JsonFields> rope = fields.object("rope_scaling");
  if (!rope) rope = fields.object("rope_parameters");
  out.rope_theta = fields.get_double("rope_theta", default_theta);
  if (!rope) return;
  out.rope_theta = rope->get_double("rope_theta", out.rope_theta);
  std::string type = rope->get_string("rope_type", rope->get_string("type", "default"));
  if (type == "mrope") type = "default";  // M-RoPE uses plain RoPE frequencies + mrope_section
  out.rope_type = type;
  out.mrope_section = rope->get_int_list("mrope_section", {});
}

}  // namespace

TextDecoderConfig parse_text_decoder(const JsonFields& fields, const std::string& model_type) {
  const DecoderDefaults d = defaults_for(fields, model_type);
  TextDecoderConfig c;
  c.model_type = model_type;
  c.vocab_size = d.vocab_size, c.hidden_size = d.hidden_size, c.intermediate_size = d.intermediate_size;
  c.num_hidden_layers = d.num_hidden_layers, c.num_attention_heads = d.num_attention_heads;
  c.max_position_embeddings = d.max_position_embeddings, c.rms_norm_eps = d.rms_norm_eps;
  read_fields(fields, c);
  // An explicit null means "same as heads" in every family; absent means the class default.
  c.num_key_value_heads = fields.contains("num_key_value_heads")
                              ? fields.get_optional_int("num_key_value_heads").value_or(c.num_attention_heads)
                              : d.num_key_value_heads.value_or(c.num_attention_heads);
  BALCAP_CHECK(c.num_attention_heads > 0, "{}: key '{}' must be positive, got {}. HINT: fix the config",
               fields.file().string(), fields.key_path("num_attention_heads"), c.num_attention_heads);
  // Qwen2.5-VL's text attention always uses hidden / heads; Qwen2 and LLaMA honour `head_dim`.
  c.head_dim = c.hidden_size / c.num_attention_heads;
  if (model_type != "qwen2_5_vl_text") c.head_dim = fields.get_optional_int("head_dim").value_or(c.head_dim);
  read_rope(fields, d.rope_theta, c);
  if (model_type == "llama") {
    c.qkv_bias = c.o_proj_bias = fields.get_bool("attention_bias", false);
    c.mlp_bias = fields.get_bool("mlp_bias", false);
  } else {
    c.qkv_bias = true;  // Qwen2 attention: bias on q/k/v, none on o_proj or the MLP
  }
  // Absent -> class default; null -> none.
  c.bos_token_id = fields.contains("bos_token_id") ? fields.get_optional_int("bos_token_id") : d.bos_token_id;
  if (fields.contains("eos_token_id")) {
    c.eos_token_ids = fields.get_int_list("eos_token_id", {}, /*int_or_list=*/true);
  } else if (d.eos_token_id) {
    c.eos_token_ids = {*d.eos_token_id};
  }
  c.pad_token_id = fields.get_optional_int("pad_token_id");
  validate_text_decoder(fields, c);
  return c;
}

void validate_text_decoder(const JsonFields& fields, const TextDecoderConfig& c) {
  auto positive = [&](const char* key, int64_t value) {
    if (value <= 0) fields.fail_key(key, fmt::format("must be positive, got {}", value), "fix the config");
  };
  positive("vocab_size", c.vocab_size);
  positive("hidden_size", c.hidden_size);
  positive("intermediate_size", c.intermediate_size);
  positive("num_hidden_layers", c.num_hidden_layers);
  positive("num_key_value_heads", c.num_key_value_heads);
  positive("head_dim", c.head_dim);
  positive("max_position_embeddings", c.max_position_embeddings);
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    fields.fail_key("num_key_value_heads",
                    fmt::format("is {}, which does not divide num_attention_heads {}", c.num_key_value_heads,
                                c.num_attention_heads),
                    "grouped-query attention needs heads to be a multiple of key/value heads");
  }
  if (c.head_dim % 2 != 0) {
    fields.fail_key("head_dim", fmt::format("is {} (hidden_size / heads when absent); RoPE needs it even", c.head_dim),
                    "fix hidden_size, num_attention_heads or head_dim");
  }
  if (c.rms_norm_eps <= 0 || c.rope_theta <= 0) {
    fields.fail_key(c.rms_norm_eps <= 0 ? "rms_norm_eps" : "rope_theta", "must be positive", "fix the config");
  }
}

}  // namespace balcap::io
