#pragma once
// Typed views of a transformers `config.json` for the families balcap runs. Both layouts are read:
//  * transformers v4 hub "flat" files (Qwen2.5-VL: text fields at the top level, `rope_scaling:
//    {type: mrope, mrope_section}`, `vision_config`), and nested 4.5x files (`text_config` +
//    `rope_scaling`/`rope_theta`);
//  * transformers v5 files (`text_config` with `rope_parameters: {rope_type, rope_theta, ...}`).
// Absent fields take the defaults of the transformers config classes (configuration_qwen2_5_vl.py,
// configuration_llava.py, configuration_clip.py, configuration_llama.py, configuration_qwen2.py).
// Wrong types, impossible sizes or unsupported sub-models -> balcap::Error naming file and key.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace balcap::io {

// The decoder shared by Qwen2 / Qwen2.5-VL text and LLaMA.
struct TextDecoderConfig {
  std::string model_type;  // "qwen2", "llama" or "qwen2_5_vl_text"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // GQA groups; == heads for MHA
  int64_t head_dim = 0;             // `head_dim` when given, else hidden_size / heads
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 0;
  double rope_theta = 0;
  // transformers' rope type after its legacy rewrite ("mrope" reads as "default"); models refuse
  // types they do not implement (linear, llama3, yarn, ...).
  std::string rope_type = "default";
  std::vector<int64_t> mrope_section;  // Qwen2.5-VL only: [t, h, w] halves of head_dim, sum == head_dim/2
  std::string hidden_act = "silu";
  bool tie_word_embeddings = false;
  bool qkv_bias = false;     // q/k/v projections carry a bias (always in Qwen2; `attention_bias` in LLaMA)
  bool o_proj_bias = false;  // o_proj bias (`attention_bias` in LLaMA; never in Qwen2)
  bool mlp_bias = false;     // gate/up/down bias (`mlp_bias` in LLaMA)
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // `eos_token_id` as int or list
  std::optional<int64_t> pad_token_id;

  // The keys read as they are (json_file.h read_fields); the others follow family rules
  // (text_decoder_config.cpp: defaults per family, null vs absent, rope dicts, biases).
  template <class V>
  void visit(V& v) {
    v.field("vocab_size", vocab_size); v.field("hidden_size", hidden_size);
    v.field("intermediate_size", intermediate_size); v.field("num_hidden_layers", num_hidden_layers);
    v.field("num_attention_heads", num_attention_heads);
    v.field("max_position_embeddings", max_position_embeddings); v.field("rms_norm_eps", rms_norm_eps);
    v.field("hidden_act", hidden_act); v.field("tie_word_embeddings", tie_word_embeddings);
  }
};

struct Qwen2_5_VLVisionConfig {
  int64_t depth = 32;
  int64_t hidden_size = 3584;
  int64_t intermediate_size = 3420;
  int64_t num_heads = 16;
  int64_t in_channels = 3;
  int64_t patch_size = 14;
  int64_t temporal_patch_size = 2;
  int64_t spatial_merge_size = 2;
  int64_t window_size = 112;  // pixels
  int64_t out_hidden_size = 3584;
  int64_t tokens_per_second = 4;
  std::vector<int64_t> fullatt_block_indexes{7, 15, 23, 31};
  std::string hidden_act = "silu";

  template <class V>
  void visit(V& v) {
    v.field("depth", depth); v.field("hidden_size", hidden_size); v.field("intermediate_size", intermediate_size);
    v.field("num_heads", num_heads); v.field("in_channels", in_channels); v.field("patch_size", patch_size);
    v.field("temporal_patch_size", temporal_patch_size); v.field("spatial_merge_size", spatial_merge_size);
    v.field("window_size", window_size); v.field("out_hidden_size", out_hidden_size);
    v.field("tokens_per_second", tokens_per_second); v.field("fullatt_block_indexes", fullatt_block_indexes);
    v.field("hidden_act", hidden_act);
  }
};

struct Qwen2_5_VLConfig {
  TextDecoderConfig text;
  Qwen2_5_VLVisionConfig vision;
  int64_t image_token_id = 151655;
  int64_t video_token_id = 151656;
  int64_t vision_start_token_id = 151652;
  int64_t vision_end_token_id = 151653;
  bool tie_word_embeddings = false;  // top level or text_config (either true -> tied, as transformers)

  // The top-level keys read as they are; text, vision and tying are read by their own rules.
  template <class V>
  void visit(V& v) {
    v.field("image_token_id", image_token_id); v.field("video_token_id", video_token_id);
    v.field("vision_start_token_id", vision_start_token_id); v.field("vision_end_token_id", vision_end_token_id);
  }
};

struct ClipVisionConfig {
  int64_t hidden_size = 768;
  int64_t intermediate_size = 3072;
  int64_t projection_dim = 512;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t num_channels = 3;
  int64_t image_size = 224;
  int64_t patch_size = 32;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;

  template <class V>
  void visit(V& v) {
    v.field("hidden_size", hidden_size); v.field("intermediate_size", intermediate_size);
    v.field("projection_dim", projection_dim); v.field("num_hidden_layers", num_hidden_layers);
    v.field("num_attention_heads", num_attention_heads); v.field("num_channels", num_channels);
    v.field("image_size", image_size); v.field("patch_size", patch_size); v.field("hidden_act", hidden_act);
    v.field("layer_norm_eps", layer_norm_eps);
  }
};

struct LlavaConfig {
  TextDecoderConfig text;  // llama (or qwen2) decoder
  ClipVisionConfig vision;
  int64_t image_token_index = 32000;
  int64_t image_seq_length = 576;
  std::string projector_hidden_act = "gelu";
  std::string vision_feature_select_strategy = "default";  // "default" drops CLS, "full" keeps it
  std::vector<int64_t> vision_feature_layers{-2};          // `vision_feature_layer` as int or list
  bool multimodal_projector_bias = true;
  bool tie_word_embeddings = false;
  std::optional<int64_t> pad_token_id;  // top-level `pad_token_id` (hub llava-1.5: 32001)

  // The top-level keys read as they are; the rest by their own rules (aliases, int-or-list, tying).
  template <class V>
  void visit(V& v) {
    v.field("image_token_index", image_token_index); v.field("image_seq_length", image_seq_length);
    v.field("projector_hidden_act", projector_hidden_act);
    v.field("vision_feature_select_strategy", vision_feature_select_strategy);
    v.field("multimodal_projector_bias", multimodal_projector_bias);
  }
};

// Each takes a model directory (reads its config.json) or the path of a config file.
Qwen2_5_VLConfig load_qwen2_5_vl_config(const std::filesystem::path& model_dir_or_file);
LlavaConfig load_llava_config(const std::filesystem::path& model_dir_or_file);
// A text-only Qwen2 or LLaMA model (model_type "qwen2" / "llama").
TextDecoderConfig load_text_decoder_config(const std::filesystem::path& model_dir_or_file);

}  // namespace balcap::io
