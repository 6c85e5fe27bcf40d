#include "io/hf_config.h"

#include "core/error.h"
#include "io/model_family.h"
#include "io/text_decoder_config.h"

namespace balcap::io {
namespace fs = std::filesystem;
namespace {

void require_positive(const JsonFields& fields, const char* key, int64_t value) {
  if (value <= 0) fields.fail_key(key, fmt::format("must be positive, got {}", value), "fix the config");
}

// The file's model_type must be `expected` (or absent); otherwise the caller picked the wrong loader.
void expect_model_type(const JsonFields& root, const std::string& expected) {
  const std::string found = root.get_string("model_type", expected);
  if (found != expected) {
    root.fail_key("model_type", fmt::format("is '{}', expected '{}'", found, expected),
                  "load this directory with the loader of its family (see balcap::detect_family)");
  }
}

Qwen2_5_VLVisionConfig parse_qwen_vision(const JsonFields& v) {
  Qwen2_5_VLVisionConfig c;
  c.in_channels = v.get_int("in_chans", c.in_channels);  // hub files say in_chans; in_channels wins
  read_fields(v, c);
  require_positive(v, "depth", c.depth);
  require_positive(v, "num_heads", c.num_heads);
  require_positive(v, "patch_size", c.patch_size);
  require_positive(v, "spatial_merge_size", c.spatial_merge_size);
  require_positive(v, "temporal_patch_size", c.temporal_patch_size);
  require_positive(v, "out_hidden_size", c.out_hidden_size);
  if (c.hidden_size <= 0 || c.hidden_size % c.num_heads != 0) {
    v.fail_key("hidden_size", fmt::format("is {}, not a positive multiple of num_heads {}", c.hidden_size, c.num_heads),
               "fix the vision config");
  }
  for (int64_t index : c.fullatt_block_indexes) {
    if (index < 0 || index >= c.depth) {
      v.fail_key("fullatt_block_indexes", fmt::format("holds block {} outside [0, depth {})", index, c.depth),
                 "list blocks of the vision tower only");
    }
  }
  return c;
}

ClipVisionConfig parse_clip_vision(const JsonFields& v) {
  const std::string type = v.get_string("model_type", "clip_vision_model");
  if (type != "clip_vision_model") {
    v.fail_key("model_type", fmt::format("is '{}'; balcap's LLaVA supports the CLIP vision tower only", type),
               "use a LLaVA-1.5 style checkpoint (clip_vision_model)");
  }
  ClipVisionConfig c;
  read_fields(v, c);
  require_positive(v, "num_hidden_layers", c.num_hidden_layers);
  require_positive(v, "num_attention_heads", c.num_attention_heads);
  require_positive(v, "patch_size", c.patch_size);
  if (c.hidden_size <= 0 || c.hidden_size % c.num_attention_heads != 0) {
    v.fail_key("hidden_size", fmt::format("is {}, not a positive multiple of num_attention_heads {}", c.hidden_size,
                                          c.num_attention_heads),
               "fix the vision config");
  }
  if (c.image_size <= 0 || c.image_size % c.patch_size != 0) {
    v.fail_key("image_size", fmt::format("is {}, not a positive multiple of patch_size {}", c.image_size, c.patch_size),
               "fix the vision config");
  }
  return c;
}

// LlavaConfig's default vision tower when `vision_config` is absent (CLIP ViT-L/14-336).
ClipVisionConfig llava_default_vision() {
  ClipVisionConfig c;
  c.intermediate_size = 4096;
  c.hidden_size = 1024;
  c.patch_size = 14;
  c.image_size = 336;
  c.num_hidden_layers = 24;
  c.num_attention_heads = 16;
  c.projection_dim = 768;
  return c;
}

struct ConfigFile {
  fs::path path;
  nlohmann::json root;
};

ConfigFile read_config(const fs::path& model_dir_or_file) {
  const fs::path path = config_json_path(model_dir_or_file);
  return {path, read_json_file(path)};
}

}  // namespace

Qwen2_5_VLConfig load_qwen2_5_vl_config(const fs::path& model_dir_or_file) {
  const ConfigFile file = read_config(model_dir_or_file);
  const JsonFields root(file.path, file.root);
  expect_model_type(root, "qwen2_5_vl");
  Qwen2_5_VLConfig c;
  // v4 hub files are flat: the text fields live at the top level.
  const std::optional<JsonFields> text_obj = root.object("text_config");
  const JsonFields& text = text_obj ? *text_obj : root;
  c.text = parse_text_decoder(text, "qwen2_5_vl_text");
  c.tie_word_embeddings = root.get_bool("tie_word_embeddings", false) || c.text.tie_word_embeddings;
  c.text.tie_word_embeddings = c.tie_word_embeddings;
  if (auto vision = root.object("vision_config")) c.vision = parse_qwen_vision(*vision);
  read_fields(root, c);
  int64_t mrope_sum = 0;
  for (int64_t s : c.text.mrope_section) mrope_sum += s;
  if (c.text.mrope_section.size() != 3 || mrope_sum * 2 != c.text.head_dim) {
    text.fail_key(text.has("rope_scaling") ? "rope_scaling.mrope_section" : "rope_parameters.mrope_section",
                  fmt::format("is [{}]; Qwen2.5-VL needs 3 sections summing to head_dim/2 = {}",
                              fmt::join(c.text.mrope_section, ", "), c.text.head_dim / 2),
                  "copy mrope_section from the original checkpoint ([16, 24, 24] for head_dim 128)");
  }
  return c;
}

LlavaConfig load_llava_config(const fs::path& model_dir_or_file) {
  const ConfigFile file = read_config(model_dir_or_file);
  const JsonFields root(file.path, file.root);
  expect_model_type(root, "llava");
  LlavaConfig c;
  const nlohmann::json empty = nlohmann::json::object();
  const std::optional<JsonFields> text_obj = root.object("text_config");
  const JsonFields text = text_obj ? *text_obj : JsonFields(file.path, empty, "text_config");
  c.text = parse_text_decoder(text, text.get_string("model_type", "llama"));
  const std::optional<JsonFields> vision = root.object("vision_config");
  c.vision = vision ? parse_clip_vision(*vision) : llava_default_vision();
  c.image_token_index = root.get_int("image_token_id", c.image_token_index);  // image_token_index wins
  read_fields(root, c);
  if (c.vision_feature_select_strategy != "default" && c.vision_feature_select_strategy != "full") {
    root.fail_key("vision_feature_select_strategy", fmt::format("is '{}'", c.vision_feature_select_strategy),
                  "use \"default\" (drop the CLS feature) or \"full\"");
  }
  c.vision_feature_layers = root.get_int_list("vision_feature_layer", c.vision_feature_layers, /*int_or_list=*/true);
  const int64_t states = c.vision.num_hidden_layers + 1;  // embeddings + one per layer
  for (int64_t layer : c.vision_feature_layers) {
    if (layer < -states || layer >= states) {
      root.fail_key("vision_feature_layer", fmt::format("selects hidden state {} of {}", layer, states),
                    "pick a layer inside the vision tower (LLaVA-1.5 uses -2)");
    }
  }
  c.tie_word_embeddings = root.get_bool("tie_word_embeddings", false) || c.text.tie_word_embeddings;
  c.text.tie_word_embeddings = c.tie_word_embeddings;
  c.pad_token_id = root.get_optional_int("pad_token_id");
  return c;
}

TextDecoderConfig load_text_decoder_config(const fs::path& model_dir_or_file) {
  const ConfigFile file = read_config(model_dir_or_file);
  const JsonFields root(file.path, file.root);
  const std::string type = root.get_string("model_type", "");
  if (type != "qwen2" && type != "llama") {
    root.fail_key("model_type", fmt::format("is '{}', not a text-only decoder balcap supports", type),
                  "supported: qwen2, llama; use load_qwen2_5_vl_config / load_llava_config for the VLMs");
  }
  return parse_text_decoder(root, type);
}

}  // namespace balcap::io
