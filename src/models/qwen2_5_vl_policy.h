#pragma once
// Private to src/models: Qwen2.5-VL behind the Policy seam: the loaded Qwen2_5_VLForConditionalGeneration plus its
// configs. Prefill runs the vision tower and the prompt once (M-RoPE positions from the image
// grid); decode continues at position L + rope_delta on all three axes, as transformers does.
#include <filesystem>
#include <memory>

#include "models/policy.h"
#include "models/qwen2_5_vl_weights.h"

namespace balcap::models {

class Qwen2_5_VLPolicy : public Policy {
 public:
  explicit Qwen2_5_VLPolicy(Qwen2_5_VLCheckpoint checkpoint);
  // load_qwen2_5_vl(dir, dtype, device) wrapped as a policy (eval mode).
  static std::unique_ptr<Qwen2_5_VLPolicy> load(const std::filesystem::path& dir, at::ScalarType dtype = at::kFloat,
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

  Qwen2_5_VLForConditionalGeneration& model() { return checkpoint_.model; }
  const io::Qwen2_5_VLConfig& config() const { return checkpoint_.config; }

 private:
  Qwen2_5_VLCheckpoint checkpoint_;
  at::Device device_;
  at::ScalarType dtype_;
};

}  // namespace balcap::models
