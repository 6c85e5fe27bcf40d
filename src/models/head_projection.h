#pragma once
// The output head's logits without autograd: hidden [..., E] x weight [V, E]^T -> [..., V]. On the
// CPU in float32 the GEMM can run on XNNPACK's prepacked kernels (LibTorch's `prepacked::linear_clamp_*`
// ops). MKL's sgemm repacks the [V, E] weight on every call, which dominates when few rows are
// projected: a decode step's 16 rows take 0.5-0.55x MKL's time at E = 64-1024 (V = 151,936), 110
// rows 0.6x at E = 64 and 0.9x at E = 256-1024. The packed copy (V x E floats, as large as the
// head) is kept per weight tensor until the weight changes (its version counter moves, as an
// optimizer step's in-place update does).
// Who packs: decoding (`pack`, the sampler's many small calls); the loss's chunks only reuse a
// packing the step's rollout made (`reuse`), so an update on its own never holds the copy.
// Elsewhere (CUDA, bf16, autograd wanted, or a LibTorch without XNNPACK) it is at::linear.
#include <ATen/ATen.h>

namespace balcap::models {

enum class HeadPacking {
  pack,   // pack the weight if it is not packed yet
  reuse,  // use a packing if one is held for this weight version, else at::linear
};

// The logits; the result carries no gradient (callers that need one use at::linear).
at::Tensor head_logits(const at::Tensor& hidden, const at::Tensor& weight, HeadPacking packing = HeadPacking::pack);

// A model's `project`: head_logits when no gradient can flow (decoding, scoring under no_grad),
// at::linear otherwise (a training forward through the full logits).
at::Tensor project_head(const at::Tensor& hidden, const at::Tensor& weight);

// Whether head_logits takes the packed path for this weight (CPU, float32, XNNPACK present and not
// turned off by BALCAP_HEAD_XNNPACK=0).
bool head_logits_packed(const at::Tensor& weight);

}  // namespace balcap::models
