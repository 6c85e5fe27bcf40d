#pragma once
// Private to src/models: LLaVA-1.5 behind the Policy seam: the loaded LlavaForConditionalGeneration
// plus its configs. Prefill runs the CLIP tower and the prompt once (image tokens are ordinary
// positions 0..L-1, 1-D RoPE); decode continues at position L, as transformers does.
#include <filesystem>
#include <memory>

#include "models/llava_weights.h"
#include "models/policy.h"

namespace balcap::models {

class LlavaPolicy : public Policy {
 public:
  explicit LlavaPolicy(LlavaCheckpoint checkpoint);
  // load_llava(dir, dtype, device) wrapped as a policy (eval mode).
  static std::unique_ptr<LlavaPolicy> load(const std::filesystem::path& dir, at::ScalarType dtype = at::kFloat,
                                           at::Device device = at::kCPU);

  torch::nn::Module& module() override { return *checkpoint_.model; }
  const io::TextDecoderConfig& decoder_config() const override { return checkpoint_.config.text; }
  at::Device device() const override { return device_; }
  at::ScalarType dtype() const override { return dtype_; }
  const io::GenerationConfig& generation_config() const override { return checkpoint_.generation; }

  at::Tensor hidden_states(const PolicyBatch& batch) override;
  at::Tensor output_weight() override;
  PolicyPrefill prefill(const PolicyPrompt& prompt) override;
  PolicyPrefillBatch prefill_batch(const std::vector<const PolicyPrompt*>& prompts) override;
  at::Tensor decode(const at::Tensor& tokens, const at::Tensor& positions, KvCache& cache, int64_t cache_index,
                    const at::Tensor& key_mask) override;
  at::Tensor decode_static(const at::Tensor& tokens, const at::Tensor& positions, KvCache& cache,
                           const at::Tensor& index, const at::Tensor& key_mask) override;
  void save_pretrained(const std::filesystem::path& dir) override;
  std::filesystem::path source_dir() const override { return checkpoint_.dir; }

  LlavaForConditionalGeneration& model() { return checkpoint_.model; }
  const io::LlavaConfig& config() const { return checkpoint_.config; }

 private:
  LlavaCheckpoint checkpoint_;
  at::Device device_;
  at::ScalarType dtype_;
};

}  // namespace balcap::models
