// Qwen2 / LLaMA text LMs as a Policy (see text_causal_lm_policy.h). Spec: transformers'
// Qwen2Model / LlamaModel forward with a cache (positions = cache_position).
#include "models/text_causal_lm_policy.h"

#include "core/error.h"

namespace balcap::models {
namespace {

void refuse_image(const at::Tensor& pixel_values, const std::string& model_type) {
  BALCAP_CHECK(!pixel_values.defined(),
               "a text-only {} model was given an image. HINT: use a vision-language checkpoint (Qwen2.5-VL) "
               "for prompts with images, or drop the image.",
               model_type);
}

}  // namespace

TextCausalLMPolicy::TextCausalLMPolicy(TextCausalLMCheckpoint checkpoint)
    : checkpoint_(std::move(checkpoint)), device_(at::kCPU), dtype_(at::kFloat) {
  const at::Tensor weight = checkpoint_.model->model->embed_tokens->weight;
  device_ = weight.device();
  dtype_ = weight.scalar_type();
}

std::unique_ptr<TextCausalLMPolicy> TextCausalLMPolicy::load(const std::filesystem::path& dir, at::ScalarType dtype,
                                                             at::Device device) {
  return std::make_unique<TextCausalLMPolicy>(load_text_causal_lm(dir, dtype, device));
}

at::Tensor TextCausalLMPolicy::hidden_states(const PolicyBatch& batch) {
  refuse_image(batch.pixel_values, checkpoint_.config.model_type);
  return checkpoint_.model->hidden_states(batch.input_ids.to(device_), batch.attention_mask);  // [B, S, E]
}

at::Tensor TextCausalLMPolicy::output_weight() { return checkpoint_.model->output_weight(); }

PolicyPrefill TextCausalLMPolicy::prefill(const PolicyPrompt& prompt) {
  BALCAP_CHECK(!prompt.ids.empty(), "prefill: the prompt has no tokens. HINT: tokenize a non-empty prompt.");
  refuse_image(prompt.pixel_values, checkpoint_.config.model_type);
  auto& lm = *checkpoint_.model;
  const auto L = static_cast<int64_t>(prompt.ids.size());
  const at::Tensor ids = at::tensor(prompt.ids, at::kLong).view({1, L}).to(device_);
  const at::Tensor embeds = lm.model->embed(ids);  // [1, L, E]; checks the ids against the vocabulary
  const auto [cos, sin] = lm.model->rotary(at::arange(L, ids.options()).view({1, L}), dtype_);  // [1, L, D]
  KvCache cache(checkpoint_.config, 1, L, dtype_, device_);
  const at::Tensor hidden = lm.model->forward(embeds, cos, sin, {}, &cache, 0);    // [1, L, E]
  return PolicyPrefill{std::move(cache), lm.project(hidden.select(1, L - 1)), L};  // logits [1, V]
}

at::Tensor TextCausalLMPolicy::decode(const at::Tensor& tokens, const at::Tensor& positions, KvCache& cache,
                                      int64_t cache_index, const at::Tensor& key_mask) {
  auto& lm = *checkpoint_.model;
  const at::Tensor embeds = lm.model->embed_tokens->forward(tokens.view({-1, 1}));                   // [N, 1, E]
  return lm.project(text_decoder_step(*lm.model, embeds, positions, cache, cache_index, key_mask));  // [N, V]
}

at::Tensor TextCausalLMPolicy::decode_static(const at::Tensor& tokens, const at::Tensor& positions, KvCache& cache,
                                            const at::Tensor& index, const at::Tensor& key_mask) {
  auto& lm = *checkpoint_.model;
  const at::Tensor embeds = lm.model->embed_tokens->forward(tokens.view({-1, 1}));                  // [N, 1, E]
  return lm.project(text_decoder_step_static(*lm.model, embeds, positions, cache, index, key_mask));  // [N, V]
}

void TextCausalLMPolicy::save_pretrained(const std::filesystem::path& dir) {
  save_text_causal_lm(checkpoint_.model, dir, checkpoint_.dir);
}

}  // namespace balcap::models
