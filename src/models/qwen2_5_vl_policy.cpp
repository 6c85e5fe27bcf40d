// Qwen2.5-VL as a Policy (see qwen2_5_vl_policy.h). Spec: transformers' Qwen2_5_VLModel.forward
// (prefill with get_rope_index, decode at cache_position + rope_deltas on every M-RoPE axis).
#include "models/qwen2_5_vl_policy.h"

#include "core/error.h"
#include "models/attention.h"
#include "models/qwen2_5_vl_rope_index.h"

namespace balcap::models {

Qwen2_5_VLPolicy::Qwen2_5_VLPolicy(Qwen2_5_VLCheckpoint checkpoint)
    : checkpoint_(std::move(checkpoint)), device_(at::kCPU), dtype_(at::kFloat) {
  const at::Tensor weight = checkpoint_.model->model->language_model->embed_tokens->weight;
  device_ = weight.device();
  dtype_ = weight.scalar_type();
}

std::unique_ptr<Qwen2_5_VLPolicy> Qwen2_5_VLPolicy::load(const std::filesystem::path& dir, at::ScalarType dtype,
                                                         at::Device device) {
  return std::make_unique<Qwen2_5_VLPolicy>(load_qwen2_5_vl(dir, dtype, device));
}

at::Tensor Qwen2_5_VLPolicy::hidden_states(const PolicyBatch& batch) {
  auto& model = checkpoint_.model;
  const at::Tensor embeds =
      model->embed_inputs(batch.input_ids, batch.pixel_values, batch.vision_grid_thw, batch.image_index);
  const RopeIndex rope = qwen2_5_vl_rope_index(batch.input_ids, batch.pixel_values.defined() ? batch.image_grid_thw
                                                                                             : at::Tensor(),
                                               batch.attention_mask, checkpoint_.config);
  const auto [cos, sin] = model->model->language_model->rotary(rope.position_ids.to(device_), dtype_);
  at::Tensor mask;  // causal, AND real key when some row is padded
  if (batch.attention_mask.defined() && !batch.attention_mask.all().item<bool>()) {
    mask = attention_mask_for(batch.attention_mask.to(device_), batch.input_ids.size(1), 0);
  }
  return model->model->language_model->forward(embeds, cos, sin, mask);  // [B, S, E]
}

at::Tensor Qwen2_5_VLPolicy::output_weight() {
  auto& model = checkpoint_.model;
  return model->lm_head ? model->lm_head->weight : model->model->language_model->embed_tokens->weight;
}

PolicyPrefill Qwen2_5_VLPolicy::prefill(const PolicyPrompt& prompt) {
  PolicyPrefillBatch batch = prefill_batch({&prompt});
  return PolicyPrefill{std::move(batch.cache), batch.logits, batch.next_positions.front()};
}

// B prompts of one length L in one forward: their images go through the vision tower together
// (concatenated in batch order, as the training forward), no padding, plain causal attention.
PolicyPrefillBatch Qwen2_5_VLPolicy::prefill_batch(const std::vector<const PolicyPrompt*>& prompts) {
  check_equal_lengths(prompts);
  BALCAP_CHECK(!prompts.front()->ids.empty(),
               "prefill: the prompt has no tokens. HINT: build it with build_caption_prompt.");
  auto& model = checkpoint_.model;
  const auto B = static_cast<int64_t>(prompts.size()), L = static_cast<int64_t>(prompts.front()->ids.size());
  at::Tensor ids = at::empty({B, L}, at::kLong);  // CPU: the rope index reads it
  std::vector<at::Tensor> pixels, grids;
  for (int64_t b = 0; b < B; ++b) {
    ids[b].copy_(at::tensor(prompts[b]->ids, at::kLong));
    if (prompts[b]->pixel_values.defined()) {
      BALCAP_CHECK(prompts[b]->image_grid_thw.defined(),
                   "prefill: prompt {} has pixel_values without image_grid_thw. HINT: pass both.", b);
      pixels.push_back(prompts[b]->pixel_values.to(device_));
      grids.push_back(prompts[b]->image_grid_thw.to(at::kCPU, at::kLong));
    }
  }
  const at::Tensor pixel_values = pixels.empty() ? at::Tensor() : at::cat(pixels);
  const at::Tensor grid = grids.empty() ? at::Tensor() : at::cat(grids);
  const at::Tensor embeds = model->embed_inputs(ids.to(device_), pixel_values, grid);  // [B, L, E]
  const RopeIndex rope = qwen2_5_vl_rope_index(ids, grid, at::Tensor(), checkpoint_.config);
  const auto [cos, sin] = model->model->language_model->rotary(rope.position_ids.to(device_), dtype_);
  KvCache cache(checkpoint_.config.text, B, L, dtype_, device_);
  const at::Tensor hidden = model->model->language_model->forward(embeds, cos, sin, {}, &cache, 0);  // [B, L, E]
  const at::Tensor logits = model->project(hidden.select(1, L - 1));                                 // [B, V]
  std::vector<int64_t> next_positions;
  const at::Tensor deltas = rope.rope_deltas.view({B}).cpu();
  for (int64_t b = 0; b < B; ++b) next_positions.push_back(L + deltas[b].item<int64_t>());
  return PolicyPrefillBatch{std::move(cache), logits, next_positions};
}

at::Tensor Qwen2_5_VLPolicy::decode(const at::Tensor& tokens, const at::Tensor& positions, KvCache& cache,
                                    int64_t cache_index, const at::Tensor& key_mask) {
  auto& model = checkpoint_.model;
  auto& decoder = *model->model->language_model;
  const at::Tensor embeds = decoder.embed_tokens->forward(tokens.view({-1, 1}));  // [N, 1, E]
  return model->project(text_decoder_step(decoder, embeds, positions, cache, cache_index, key_mask));  // [N, V]
}

at::Tensor Qwen2_5_VLPolicy::decode_static(const at::Tensor& tokens, const at::Tensor& positions, KvCache& cache,
                                          const at::Tensor& index, const at::Tensor& key_mask) {
  auto& model = checkpoint_.model;
  auto& decoder = *model->model->language_model;
  const at::Tensor embeds = decoder.embed_tokens->forward(tokens.view({-1, 1}));  // [N, 1, E]
  return model->project(text_decoder_step_static(decoder, embeds, positions, cache, index, key_mask));  // [N, V]
}

void Qwen2_5_VLPolicy::save_pretrained(const std::filesystem::path& dir) {
  save_qwen2_5_vl(checkpoint_.model, dir, checkpoint_.layout, checkpoint_.dir);
}

}  // namespace balcap::models
