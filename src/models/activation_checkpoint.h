#pragma once
// Private to src/models: Activation (gradient) checkpointing: run a block without keeping its activations, recompute
// them in backward. Exact: the recomputation replays the same operations on the same inputs with
// the same RNG state (dropout, e.g. LoRA's, draws the same mask), so gradients equal those of the
// plain forward.
#include <ATen/ATen.h>

#include <functional>
#include <vector>

namespace balcap::models {

// y = fn(x) without saving fn's intermediates. `params`: the tensors fn reads besides x that need
// gradients (the block's parameters); their gradients are returned to autograd like any other
// input's, so they accumulate into .grad as usual. Tensors fn captures that are NOT in `params`
// (cos/sin, masks) must not need gradients. Outside grad mode this is just fn(x).
at::Tensor checkpointed(const std::function<at::Tensor(const at::Tensor&)>& fn, const at::Tensor& x,
                        const std::vector<at::Tensor>& params);

}  // namespace balcap::models
