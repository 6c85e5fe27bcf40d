#pragma once
// Private to src/models: Linear layers that read the same input (q/k/v of attention, gate/up of the MLP) held in one
// weight, so that an inference forward is one GEMM instead of three or two: fewer kernels and a
// wider product per decode step. The layers keep their own parameters (names, checkpoints,
// gradients and optimizer updates unchanged): fuse() re-seats each weight (and bias) as a row slice
// of one new tensor, values unchanged. If something later re-seats a parameter (set_data, .to()),
// the slices no longer alias it: forward() then says so and drops the stale copy, and callers run
// the separate layers.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace balcap::models {

class FusedLinears {
 public:
  FusedLinears() = default;
  // Fuses `parts` (same input width, dtype and device; all with or all without bias). Fewer than
  // two parts, or parts that differ -> no fusion (forward() returns {}).
  void fuse(std::vector<torch::nn::Linear> parts);

  // x: [..., in] -> one output per part ([..., out_i], views of one GEMM's result), or {} when not
  // fused or no longer aliased (the caller runs the parts itself).
  std::vector<at::Tensor> forward(const at::Tensor& x);

  bool fused() const { return weight_.defined(); }

 private:
  bool aliased() const;

  std::vector<torch::nn::Linear> parts_;
  at::Tensor weight_, bias_;  // [sum out_i, in], [sum out_i] or undefined
  std::vector<int64_t> widths_;
  std::vector<const void*> seats_;  // per part: where its weight and bias live inside weight_/bias_
};

// Fuses q/k/v of every text-decoder attention and gate/up of every SwiGLU MLP under `root` (the
// text decoder and the vision blocks). Called once after the weights are loaded.
void fuse_inference_projections(torch::nn::Module& root);

}  // namespace balcap::models
