// LLaVA-1.5 as a Policy (see llava_policy.h). Spec: transformers' LlavaModel.forward over
// LlamaModel (positions = cache_position; images scattered into the <image> embeddings).
#include "models/llava_policy.h"

#include "core/error.h"

namespace balcap::models {

LlavaPolicy::LlavaPolicy(LlavaCheckpoint checkpoint)
    : checkpoint_(std::move(checkpoint)), device_(at::kCPU), dtype_(at::kFloat) {
  const at::Tensor weight = checkpoint_.model->model->language_model->embed_tokens->weight;
  device_ = weight.device();
  dtype_ = weight.scalar_type();
}

std::unique_ptr<LlavaPolicy> LlavaPolicy::load(const std::filesystem::path& dir, at::ScalarType dtype,
                                               at::Device device) {
  return std::make_unique<LlavaPolicy>(load_llava(dir, dtype, device));
}

at::Tensor LlavaPolicy::hidden_states(const PolicyBatch& batch) {
  auto& model = *checkpoint_.model;
  const at::Tensor pixels = batch.pixel_values.defined() ? batch.pixel_values.to(device_) : at::Tensor();
  const at::Tensor embeds = model.embed_inputs(batch.input_ids.to(device_), pixels, batch.image_index);  // [B, S, E]
  return model.model->language_model->forward_padded(embeds, batch.attention_mask);   // [B, S, E]
}

at::Tensor LlavaPolicy::output_weight() {
  auto& model = checkpoint_.model;
  return model->lm_head ? model->lm_head->weight : model->model->language_model->embed_tokens->weight;
}

PolicyPrefill LlavaPolicy::prefill(const PolicyPrompt& prompt) {
  PolicyPrefillBatch batch = prefill_batch({&prompt});
  return PolicyPrefill{std::move(batch.cache), batch.logits, batch.next_positions.front()};
}

// B prompts of one length L in one forward: their images through the CLIP tower together (in
// batch order), no padding, causal attention, positions 0..L-1.
PolicyPrefillBatch LlavaPolicy::prefill_batch(const std::vector<const PolicyPrompt*>& prompts) {
  check_equal_lengths(prompts);
  BALCAP_CHECK(!prompts.front()->ids.empty(),
               "prefill: the prompt has no tokens. HINT: build it with build_caption_prompt.");
  auto& model = *checkpoint_.model;
  auto& decoder = *model.model->language_model;
  const auto B = static_cast<int64_t>(prompts.size()), L = static_cast<int64_t>(prompts.front()->ids.size());
  at::Tensor ids = at::empty({B, L}, at::kLong);
  std::vector<at::Tensor> pixels;
  for (int64_t b = 0; b < B; ++b) {
    ids[b].copy_(at::tensor(prompts[b]->ids, at::kLong));
    if (prompts[b]->pixel_values.defined()) pixels.push_back(prompts[b]->pixel_values.to(device_));
  }
  const at::Tensor embeds = model.embed_inputs(ids.to(device_), pixels.empty() ? at::Tensor() : at::cat(pixels));
  const at::Tensor positions = at::arange(L, at::TensorOptions().dtype(at::kLong).device(device_)).expand({B, L});
  const auto [cos, sin] = decoder.rotary(positions, dtype_);  // [B, L, D]
  KvCache cache(checkpoint_.config.text, B, L, dtype_, device_);
  const at::Tensor hidden = decoder.forward(embeds, cos, sin, {}, &cache, 0);  // [B, L, E]
  const at::Tensor logits = model.project(hidden.select(1, L - 1));           // [B, V]
  return PolicyPrefillBatch{std::move(cache), logits, std::vector<int64_t>(static_cast<size_t>(B), L)};
}

at::Tensor LlavaPolicy::decode(const at::Tensor& tokens, const at::Tensor& positions, KvCache& cache,
                               int64_t cache_index, const at::Tensor& key_mask) {
  auto& model = *checkpoint_.model;
  auto& decoder = *model.model->language_model;
  const at::Tensor embeds = decoder.embed_tokens->forward(tokens.view({-1, 1}));  // [N, 1, E]
  return model.project(text_decoder_step(decoder, embeds, positions, cache, cache_index, key_mask));  // [N, V]
}

at::Tensor LlavaPolicy::decode_static(const at::Tensor& tokens, const at::Tensor& positions, KvCache& cache,
                                      const at::Tensor& index, const at::Tensor& key_mask) {
  auto& model = *checkpoint_.model;
  auto& decoder = *model.model->language_model;
  const at::Tensor embeds = decoder.embed_tokens->forward(tokens.view({-1, 1}));  // [N, 1, E]
  return model.project(text_decoder_step_static(decoder, embeds, positions, cache, index, key_mask));  // [N, V]
}

void LlavaPolicy::save_pretrained(const std::filesystem::path& dir) {
  save_llava(checkpoint_.model, dir, checkpoint_.layout, checkpoint_.dir);
}

}  // namespace balcap::models
