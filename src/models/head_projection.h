#pragma once
// The output head's logits without autograd: hidden [..., E] x weight [V, E]^T -> [..., V]. On the
// CPU in float32 the GEMM runs on XNNPACK's prepacked kernels (LibTorch's `prepacked::linear_clamp_*`
// ops), which for the head's shape (a small E against V = 151,936) take 0.6-0.8x the time of MKL's
// sgemm: MKL repacks the [V, E] weight on every call, XNNPACK packs it once. The packed copy (V x E
// floats) is kept per weight tensor until the weight changes (its version counter moves, as an
// optimizer step's in-place update does), so a step's decode calls and loss chunks share one packing.
// Elsewhere (CUDA, bf16, autograd wanted, or a LibTorch without XNNPACK) it is at::linear.
#include <ATen/ATen.h>

namespace balcap::models {

// The logits; the result carries no gradient (callers that need one use at::linear).
at::Tensor head_logits(const at::Tensor& hidden, const at::Tensor& weight);

// A model's `project`: head_logits when no gradient can flow (decoding, scoring under no_grad),
// at::linear otherwise (a training forward through the full logits).
at::Tensor project_head(const at::Tensor& hidden, const at::Tensor& weight);

// Whether head_logits takes the packed path for this weight (CPU, float32, XNNPACK present and not
// turned off by BALCAP_HEAD_XNNPACK=0).
bool head_logits_packed(const at::Tensor& weight);

}  // namespace balcap::models
