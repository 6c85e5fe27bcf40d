// Qwen2ForCausalLM / LlamaForCausalLM (see text_causal_lm.h). Spec: transformers'
// modeling_qwen2.py / modeling_llama.py (Model.forward, ForCausalLM.forward) and generate's
// position ids for padded batches.
#include "models/text_causal_lm.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/json_file.h"
#include "io/model_family.h"
#include "io/safetensors_checkpoint.h"
#include "models/head_projection.h"
#include "models/weight_loading.h"

namespace balcap::models {
namespace {

namespace fs = std::filesystem;

// transformers applies a sliding window to layers >= max_window_layers when use_sliding_window is
// set (Qwen2); balcap's attention has no window, so such a config is refused rather than run wrong.
void refuse_sliding_window(const fs::path& dir, const io::TextDecoderConfig& config) {
  const fs::path file = io::config_json_path(dir);
  const nlohmann::json root = io::read_json_file(file);
  const io::JsonFields fields(file, root);
  if (config.model_type != "qwen2" || !fields.get_bool("use_sliding_window", false)) return;
  const int64_t first_windowed = fields.get_int("max_window_layers", 28);
  BALCAP_CHECK(first_windowed >= config.num_hidden_layers,
               "{}: use_sliding_window is true and layers {}..{} would use a sliding window (max_window_layers {}); "
               "balcap does not implement sliding-window attention. HINT: use a checkpoint with "
               "use_sliding_window false (every Qwen2.5 hub config).",
               file.string(), first_windowed, config.num_hidden_layers - 1, first_windowed);
}

}  // namespace

TextCausalLMImpl::TextCausalLMImpl(const io::TextDecoderConfig& config) : config_(config) {
  BALCAP_CHECK(config.mrope_section.empty(),
               "text causal LM ({}): the config has an mrope_section; text-only Qwen2/LLaMA models use 1-D RoPE. "
               "HINT: load Qwen2.5-VL checkpoints with load_qwen2_5_vl.",
               config.model_type);
  model = register_module("model", TextDecoder(config));
  if (!config.tie_word_embeddings) {
    lm_head = register_module(
        "lm_head", torch::nn::Linear(torch::nn::LinearOptions(config.hidden_size, config.vocab_size).bias(false)));
  }
}

at::Tensor TextCausalLMImpl::hidden_states(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  BALCAP_CHECK(input_ids.dim() == 2, "input_ids must be [batch, sequence], got {} dims. HINT: add a batch dim.",
               input_ids.dim());
  return model->forward_padded(model->embed(input_ids), attention_mask);  // [B, S, E]
}

at::Tensor TextCausalLMImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  return project(hidden_states(input_ids, attention_mask));
}

at::Tensor TextCausalLMImpl::project(const at::Tensor& hidden) { return project_head(hidden, output_weight()); }

at::Tensor TextCausalLMImpl::output_weight() { return lm_head ? lm_head->weight : model->embed_tokens->weight; }

TextCausalLMCheckpoint load_text_causal_lm(const fs::path& dir, at::ScalarType dtype, at::Device device) {
  check_load_dtype(dir, dtype);
  const io::ModelFamily family = io::detect_family(dir);
  BALCAP_CHECK(family == io::ModelFamily::qwen2 || family == io::ModelFamily::llama,
               "{}: model_type is '{}', not a text-only Qwen2 or LLaMA checkpoint. HINT: load it with "
               "load_policy, which picks the loader for each family.",
               io::config_json_path(dir).string(), to_string(family));
  TextCausalLMCheckpoint out;
  out.dir = dir;
  out.config = io::load_text_decoder_config(dir);
  refuse_sliding_window(dir, out.config);
  if (fs::exists(dir / "generation_config.json")) out.generation = io::load_generation_config(dir);
  const io::SafetensorsCheckpoint checkpoint(dir);
  {
    torch::NoGradGuard no_grad;
    out.model = TextCausalLM(out.config);
  }
  WeightLoadOptions options;
  options.dtype = dtype;
  options.device = device;
  load_pretrained_weights(*out.model, dir, checkpoint, out.config.tie_word_embeddings, std::move(options));
  return out;
}

void save_text_causal_lm(TextCausalLM& model, const fs::path& dir, const fs::path& source_dir,
                         uint64_t max_shard_bytes) {
  save_pretrained_weights(*model, dir, source_dir, {}, max_shard_bytes);
}

}  // namespace balcap::models
