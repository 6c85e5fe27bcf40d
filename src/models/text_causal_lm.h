#pragma once
// Text-only causal LMs as transformers' Qwen2ForCausalLM and LlamaForCausalLM: one module over the
// shared TextDecoder (1-D RoPE; q/k/v bias for Qwen2, `attention_bias`/`mlp_bias` for LLaMA, as the
// config says). Parameter names are transformers' own, which are also the names on disk:
//   model.embed_tokens.weight, model.layers.{i}.*, model.norm.weight, lm_head.weight
// With tie_word_embeddings there is no lm_head module: logits use model.embed_tokens.weight, so
// named_parameters() lists exactly the tensors a tied checkpoint holds.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>

#include "io/generation_config.h"
#include "io/hf_config.h"
#include "models/text_decoder.h"

namespace balcap::models {

class TextCausalLMImpl : public torch::nn::Module {
 public:
  // config.model_type "qwen2" or "llama"; an M-RoPE config -> balcap::Error (text-only models use 1-D RoPE).
  explicit TextCausalLMImpl(const io::TextDecoderConfig& config);

  // input_ids [B, S] int64; attention_mask [B, S] (1 = token, 0 = padding, left or right) or undefined
  // (every token real) -> hidden states after the final norm [B, S, E]. Positions count real tokens
  // only (cumsum(mask) - 1, as transformers' generate builds them), so left and right padding both
  // give each real token the position it has alone; padding rows/columns hold finite, unused values.
  at::Tensor hidden_states(const at::Tensor& input_ids, const at::Tensor& attention_mask = {});

  // Same inputs -> logits [B, S, V] in the weights' dtype (the whole vocabulary: tests and `logits`;
  // scorers project only the positions they need with output_weight()).
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {});

  // hidden [..., E] -> logits [..., V] through lm_head (or the tied embedding).
  at::Tensor project(const at::Tensor& hidden);
  // The output projection weight [V, E].
  at::Tensor output_weight();

  const io::TextDecoderConfig& config() const { return config_; }
  bool tied() const { return config_.tie_word_embeddings; }

  TextDecoder model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // hidden -> vocab, no bias; null when tied

 private:
  io::TextDecoderConfig config_;
};
TORCH_MODULE(TextCausalLM);

struct TextCausalLMCheckpoint {
  TextCausalLM model{nullptr};  // eval mode, weights in the dtype/device asked
  io::TextDecoderConfig config;
  io::GenerationConfig generation;  // empty when generation_config.json is absent
  std::filesystem::path dir;
};

// Loads a transformers Qwen2 / LLaMA directory (config.json, generation_config.json, model.safetensors
// or a sharded index). `dtype` bf16, f16 or f32 (whatever is on disk is converted). Another model
// type, sliding-window attention, rope scaling, or weights that do not fit the config (every
// missing, unexpected and mis-shaped tensor listed at once) -> balcap::Error naming the file. A
// missing lm_head.weight is accepted only when the config ties it; a tied checkpoint's stored
// lm_head.weight is ignored (as transformers does).
TextCausalLMCheckpoint load_text_causal_lm(const std::filesystem::path& dir, at::ScalarType dtype = at::kFloat,
                                           at::Device device = at::kCPU);

// Writes `model` to `dir` as transformers does: model.safetensors (or shards + index) in the weights'
// dtype, config.json of `source_dir` with its dtype updated, and the generation config and tokenizer
// files of `source_dir` copied.
void save_text_causal_lm(TextCausalLM& model, const std::filesystem::path& dir, const std::filesystem::path& source_dir,
                         uint64_t max_shard_bytes = 5'000'000'000ULL);

}  // namespace balcap::models
