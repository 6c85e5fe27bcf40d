#pragma once
// Private to src/train: model FLOPs utilisation of an RL step (metrics `perf/mfu`, CUDA only): the model
// FLOPs the step needed over (step seconds x the device's dense peak FLOP/s).
//
// Model FLOPs as PaLM counts them (Chowdhery et al. 2022, appendix B), per part of the policy:
//   a forward costs 2 FLOPs per parameter per token, a forward + backward 6 (3 x 2);
//   decoder (every parameter but the token embedding and the output projection): every token a
//     forward runs over (rollout: each image's prompt once and each generated token; loss: every
//     token of every row, prompt included);
//   output projection (E x V): only the positions projected to the vocabulary (generated tokens in
//     the rollout, caption tokens in the loss), as balcap computes it;
//   vision tower + merger: every patch of every tower run (once per image in the rollout; per row,
//     or per image with train.vision_once_per_image, in the loss), x 3 in the loss when trained.
// Left out: attention's scores and weighted sums (12 x layers x E x T per token: T / (6 E) of the
// decoder term, under 10% for a 3B model's E = 2048 below ~1,200 tokens) and the reference model's
// forward (KL), which is added when present as 2 FLOPs per parameter per loss token.
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <string>

#include <torch/nn/module.h>

#include "train/rollout.h"

namespace balcap::train {

// Parameter counts of a policy, by part (from the module's parameter names).
struct ParamCounts {
  double decoder = 0;  // decoder layers and final norm
  double output = 0;   // the output projection (E x V), tied or not
  double vision = 0;   // vision tower and merger / projector
  bool vision_trained = false;
};
// `output_numel`: the output projection's size (Policy::output_weight().numel()); a tied embedding is
// one parameter named *embed_tokens*, counted as the output projection only.
ParamCounts count_params(const torch::nn::Module& policy, double output_numel);

// What a step ran, summed over ranks.
struct StepWork {
  double prompt_tokens = 0;     // rollout: each image's prompt once
  double generated_tokens = 0;  // rollout: every caption token sampled
  double rollout_patches = 0;   // rollout: vision patches, once per image
  double loss_row_tokens = 0;   // loss: every token of every row (prompt + caption), per PPO epoch
  double loss_caption_tokens = 0;  // loss: the positions projected to the vocabulary
  double loss_patches = 0;         // loss: vision patches of the tower runs
  bool reference = false;          // a reference model's forward over the loss rows (KL)
};
double step_model_flops(const ParamCounts& p, const StepWork& w);

// This rank's StepWork (the caller sums it over ranks): from the rollout's prompts and samples, with
// `ppo_epochs` passes of the loss over every row. Vision patches: a Qwen-style [patches, C*t*p*p]
// pixel tensor counts its rows; a CLIP-style [images, 3, H, W] one counts 14 x 14 patches per image.
StepWork rank_step_work(const Rollout& rollout, std::int64_t ppo_epochs, bool vision_once_per_image, bool reference);

// The dense peak FLOP/s of `device` for `dtype` (bf16/f16: tensor cores; float32: without TF32):
// `override_tflops` > 0 wins; else balcap's table by GPU name; nullopt on the CPU or an unknown GPU.
std::optional<double> peak_flops(const c10::Device& device, c10::ScalarType dtype, double override_tflops);

// The table behind peak_flops, by the name CUDA reports (e.g. "NVIDIA H100 80GB HBM3"); nullopt
// when no entry matches.
std::optional<double> peak_flops_of_gpu(const std::string& name, c10::ScalarType dtype);

}  // namespace balcap::train
