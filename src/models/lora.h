#pragma once
// LoRA on the language model's linear layers (train.lora): the adapters injected into a model's
// LoraAdapter slots (models/lora_adapter.h), and their PEFT adapter files.
//
// API summary:
//   LoraAdapters lora = LoraAdapters::inject(policy.module(), options, generator);  // train.lora's values
//       // every text decoder's q/k/v/o/gate/up/down_proj named in target_modules gets an adapter
//       // (A kaiming-uniform as PEFT, B = 0), in the base weight's dtype/device; ALL base
//       // parameters of the module are frozen (requires_grad false). The vision tower is untouched.
//   AdamW opt(lora.named_parameters(), ...);             // PEFT key names, see below
//   lora.save_peft(adapter_dir(tmp), policy.source_dir()); // adapter_config.json + adapter_model.safetensors
//   LoraAdapters back = LoraAdapters::load_peft(policy.module(), dir);   // resume / export
//   back.merge_and_remove();                             // W += (alpha/r) B A; module is plain again
//
// Names: adapter tensors are "base_model.model.<module path>.lora_A.weight" / ".lora_B.weight", the
// module path being the parameter path inside Policy::module() (transformers' in-memory names, e.g.
// model.language_model.layers.0.self_attn.q_proj for Qwen2.5-VL), which is what PEFT saves and loads.
// adapter_config.json's target_modules is a regex that matches exactly the adapted layers, so PEFT
// adapts the LM's layers and not the vision MLPs that share the gate/up/down_proj names.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "models/lora_adapter.h"

namespace balcap::models {

// What inject() adapts and how (train.lora's values, or adapter_config.json's for load_peft).
struct LoraOptions {
  std::int64_t r = 16;
  double alpha = 32.0;   // the update is (alpha / r) * B A
  double dropout = 0.0;  // on the adapter input, in training mode
  std::vector<std::string> target_modules;  // short names: q_proj, k_proj, ..., down_proj
};

// Holds pointers into the model's modules: keep the model alive as long as its LoraAdapters.
class LoraAdapters {
 public:
  struct Target {
    std::string path;   // module path of the adapted Linear
    LoraAdapter* slot;  // the slot inside the Attention / SwiGluMlp module
    torch::nn::Linear base;
  };

  // See above. A config naming no layer the model has -> balcap::Error listing the names it has.
  static LoraAdapters inject(torch::nn::Module& model, const LoraOptions& options, at::Generator generator);
  // Adapters as a PEFT directory describes them (r, lora_alpha, lora_dropout from adapter_config.json;
  // the layers from the tensor names), values loaded. Base parameters frozen as in inject().
  // A key for a layer the model lacks, a shape mismatch or a non-LoRA PEFT type -> balcap::Error.
  static LoraAdapters load_peft(torch::nn::Module& model, const std::filesystem::path& dir);

  // "base_model.model.<path>.lora_A.weight" / "...lora_B.weight", in layer order.
  std::vector<std::pair<std::string, at::Tensor>> named_parameters() const;

  // Writes adapter_config.json + adapter_model.safetensors into `dir` (created). `base_model` goes
  // to base_model_name_or_path (informational for PEFT).
  void save_peft(const std::filesystem::path& dir, const std::string& base_model) const;

  // Folds every adapter into its base weight (W += scale * B A, computed in float32, stored in W's
  // dtype) and clears the slots: the module computes the merged model without adapters.
  void merge_and_remove();

  const LoraOptions& options() const { return options_; }
  size_t size() const { return targets_.size(); }

 private:
  LoraOptions options_;
  std::vector<Target> targets_;
};

// PEFT's key for one adapter matrix ("A" or "B") of the layer at `path`.
std::string peft_key(const std::string& path, char matrix);

}  // namespace balcap::models
