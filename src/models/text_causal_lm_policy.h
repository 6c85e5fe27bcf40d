#pragma once
// Private to src/models: A text-only Qwen2 / LLaMA causal LM behind the Policy seam (judges, `balcap serve`, text policies):
// no images, 1-D RoPE; prefill runs the prompt once at positions 0..L-1, decode continues at L.
#include <filesystem>
#include <memory>

#include "models/policy.h"
#include "models/text_causal_lm.h"

namespace balcap::models {

class TextCausalLMPolicy : public Policy {
 public:
  explicit TextCausalLMPolicy(TextCausalLMCheckpoint checkpoint);
  // load_text_causal_lm(dir, dtype, device) wrapped as a policy (eval mode).
  static std::unique_ptr<TextCausalLMPolicy> load(const std::filesystem::path& dir, at::ScalarType dtype = at::kFloat,
                                                  at::Device device = at::kCPU);

  torch::nn::Module& module() override { return *checkpoint_.model; }
  const io::TextDecoderConfig& decoder_config() const override { return checkpoint_.config; }
  at::Device device() const override { return device_; }
  at::ScalarType dtype() const override { return dtype_; }
  const io::GenerationConfig& generation_config() const override { return checkpoint_.generation; }

  // Pixels in the batch or prompt -> balcap::Error (a text-only model cannot see images).
  at::Tensor hidden_states(const PolicyBatch& batch) override;
  at::Tensor output_weight() override;
  PolicyPrefill prefill(const PolicyPrompt& prompt) override;
  at::Tensor decode(const at::Tensor& tokens, const at::Tensor& positions, KvCache& cache, int64_t cache_index,
                    const at::Tensor& key_mask) override;
  at::Tensor decode_static(const at::Tensor& tokens, const at::Tensor& positions, KvCache& cache,
                           const at::Tensor& index, const at::Tensor& key_mask) override;
  void save_pretrained(const std::filesystem::path& dir) override;
  std::filesystem::path source_dir() const override { return checkpoint_.dir; }

  TextCausalLM& model() { return checkpoint_.model; }

 private:
  TextCausalLMCheckpoint checkpoint_;
  at::Device device_;
  at::ScalarType dtype_;
};

}  // namespace balcap::models
