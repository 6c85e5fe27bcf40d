// One-GEMM forward of Linear layers sharing an input (see fused_linears.h).
#include "models/fused_linears.h"

#include "models/attention.h"
#include "models/mlp.h"

namespace balcap::models {
namespace {

// Concatenates the parts' tensors along dim 0 and re-seats each part as its slice.
at::Tensor fuse_rows(const std::vector<at::Tensor*>& tensors) {
  std::vector<at::Tensor> values;
  for (const at::Tensor* t : tensors) values.push_back(*t);
  at::Tensor fused = at::cat(values);
  int64_t row = 0;
  for (at::Tensor* t : tensors) {
    const int64_t rows = t->size(0);
    t->set_data(fused.narrow(0, row, rows));
    row += rows;
  }
  return fused;
}

}  // namespace

void FusedLinears::fuse(std::vector<torch::nn::Linear> parts) {
  *this = FusedLinears();
  if (parts.size() < 2) return;
  const at::Tensor& w0 = parts.front()->weight;
  const bool with_bias = parts.front()->bias.defined();
  for (const auto& p : parts) {
    if (p->weight.dim() != 2 || p->weight.size(1) != w0.size(1) || p->weight.scalar_type() != w0.scalar_type() ||
        p->weight.device() != w0.device() || p->bias.defined() != with_bias) {
      return;  // not one input, dtype and device: leave the parts as they are
    }
  }
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor*> weights, biases;
  for (auto& p : parts) {
    weights.push_back(&p->weight);
    if (with_bias) biases.push_back(&p->bias);
    widths_.push_back(p->weight.size(0));
  }
  weight_ = fuse_rows(weights);
  if (with_bias) bias_ = fuse_rows(biases);
  parts_ = std::move(parts);
  for (const auto& p : parts_) {
    seats_.push_back(p->weight.data_ptr());
    seats_.push_back(with_bias ? p->bias.data_ptr() : nullptr);
  }
}

// Host-side pointer checks only (this runs per forward, also while a CUDA graph is captured): while
// weight_ is alive its addresses cannot be reused, so a re-seated part always shows a new address.
bool FusedLinears::aliased() const {
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (parts_[i]->weight.data_ptr() != seats_[2 * i]) return false;
    if (bias_.defined() && (!parts_[i]->bias.defined() || parts_[i]->bias.data_ptr() != seats_[2 * i + 1])) {
      return false;
    }
  }
  return true;
}

std::vector<at::Tensor> FusedLinears::forward(const at::Tensor& x) {
  if (!weight_.defined()) return {};
  if (!aliased()) {  // a part was re-seated: the fused copy is stale; free it for good
    *this = FusedLinears();
    return {};
  }
  const at::Tensor y = at::linear(x, weight_, bias_);  // [..., sum out_i]
  return y.split_with_sizes(widths_, -1);
}

void fuse_inference_projections(torch::nn::Module& root) {
  for (const auto& module : root.modules(/*include_self=*/true)) {
    if (auto* attention = dynamic_cast<AttentionImpl*>(module.get())) {
      attention->qkv_fused.fuse({attention->q_proj, attention->k_proj, attention->v_proj});
    } else if (auto* mlp = dynamic_cast<SwiGluMlpImpl*>(module.get())) {
      mlp->gate_up_fused.fuse({mlp->gate_proj, mlp->up_proj});
    }
  }
}

}  // namespace balcap::models
