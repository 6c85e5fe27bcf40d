#pragma once
// `train:` — the loop: how many images per step, how the step is cut into micro-batches,
// what is trained (full / frozen parts / LoRA), precision, seed and device.
#include <cstdint>
#include <string>
#include <vector>

#include "config/spec.h"

namespace balcap::config {

// `train.lora:` low-rank adapters on the language model's linear layers (PEFT format).
struct LoraConfig {
  bool enabled = false;
  std::int64_t r = 16;
  double alpha = 32.0;
  double dropout = 0.05;
  std::vector<std::string> target_modules = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                             "gate_proj", "up_proj", "down_proj"};

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, "Train LoRA adapters instead of the full language model.");
    v.field("r", r, "Adapter rank.", Spec().at_least(1).at_most(4096));
    v.field("alpha", alpha, "Scaling numerator: the update is (alpha / r) * B A.", Spec().above(0));
    v.field("dropout", dropout, "Dropout on the adapter input.", Spec().at_least(0).below(1));
    v.field("target_modules", target_modules,
            "Names of the LM's linear layers that get adapters (PEFT's target_modules).", Spec().required());
  }
  bool operator==(const LoraConfig&) const = default;
};

struct TrainConfig {
  std::string run_dir = "runs/balcap";
  std::int64_t max_steps = 1000;
  std::int64_t save_every = 100;
  std::int64_t batch_size = 8;
  std::int64_t group_size = 8;
  std::int64_t micro_batch = 8;
  std::int64_t grad_accum = 0;
  bool grad_checkpointing = false;
  bool freeze_vision = false;
  bool vision_once_per_image = false;
  bool length_buckets = false;
  bool freeze_projector = false;
  std::int64_t overlap_scoring = 0;
  std::int64_t logits_chunk_mib = 64;
  bool head_grad_in_forward = true;
  LoraConfig lora;
  std::string dtype = "auto";
  std::int64_t seed = 42;
  std::int64_t max_skipped_steps = 5;
  std::string device = "auto";

  template <class V>
  void visit(V& v) {
    v.field("run_dir", run_dir, "Run directory: metrics.jsonl, logs, the resolved config, checkpoints/step-N/.",
            Spec().required());
    v.field("max_steps", max_steps, "Training steps (one step = one rollout batch and its updates).",
            Spec().at_least(1));
    v.field("save_every", save_every, "Checkpoint every N steps (and at the end); 0 = only at the end.",
            Spec().at_least(0));
    v.field("batch_size", batch_size, "Images per step over all ranks; each image gets group_size captions.",
            Spec().at_least(1));
    v.field("group_size", group_size, "G: captions sampled per image (the group normalised together).",
            Spec().at_least(2).at_most(1024));
    v.field("micro_batch", micro_batch, "Sequences per forward/backward pass of the loss, per rank.",
            Spec().at_least(1));
    v.field("grad_accum", grad_accum,
            "Micro-batches accumulated per optimizer step; 0 = derived from batch_size * group_size / "
            "algo.mini_batches / world size / micro_batch.",
            Spec().at_least(0));
    v.field("length_buckets", length_buckets,
            "Loss recomputation: micro-batches take a mini-batch's rows shortest first, so each pads its rows "
            "to a similar length (`tokens/padding_share` in the metrics); the same loss up to fp32 rounding "
            "(tested). Only matters with several micro-batches per mini-batch. balcap's addition (like verl's "
            "dynamic batch sizes), off by default.");
    v.field("grad_checkpointing", grad_checkpointing, "Recompute decoder-layer activations in backward.");
    v.field("freeze_vision", freeze_vision, "Do not train the vision tower.");
    v.field("vision_once_per_image", vision_once_per_image,
            "Loss recomputation: run the vision tower once per image of a micro-batch and share its features "
            "between the image's caption rows (the same gradients as one run per row, tested). Off by default: "
            "on the CPU demo model it measured slower (docs/perf.md); not yet measured on a GPU.");
    v.field("overlap_scoring", overlap_scoring,
            "Score while sampling: each rank's images are sampled in this many chunks and a chunk's captions are "
            "scored on a second thread while the next chunk is sampled (the same captions and rewards; the judges get "
            "smaller batches). For judges that wait (remote endpoints): the step's rollout + scoring then takes about "
            "max(rollout, scoring). 0 or 1 = off (score after the rollout). balcap's addition, not in the paper.",
            Spec().at_least(0));
    v.field("logits_chunk_mib", logits_chunk_mib,
            "Loss recomputation: float32 logits held at once by the fused log-probabilities (models/token_logprobs.h: "
            "[rows of a chunk, vocabulary]; the full [rows, seq, vocab] tensor never exists). Smaller: less peak "
            "memory, more passes over the output projection's weight (docs/perf.md).",
            Spec().at_least(1));
    v.field("head_grad_in_forward", head_grad_in_forward,
            "Loss recomputation: compute the output projection's gradients in the forward pass, chunk by chunk, "
            "from the PPO loss's per-token gradient (the loss is a sum of per-token terms), instead of recomputing "
            "each chunk's logits in backward: 3 GEMMs of [tokens, hidden] x [hidden, vocabulary] instead of 4 "
            "(docs/perf.md). The same gradients within fp32 rounding (tested); backward checks the gradient it "
            "receives and recomputes when it is not the predicted one. balcap's optimisation, on by default.");
    v.field("freeze_projector", freeze_projector, "Do not train the vision-to-language projector / merger.");
    v.field("lora", lora, "LoRA adapters (off by default: full fine-tuning).");
    v.field("dtype", dtype, "Parameter dtype; `auto` = bfloat16 on GPU, float32 on CPU.",
            Spec().one_of({"auto", "float32", "bfloat16", "float16"}));
    v.field("seed", seed, "Seeds data order, sampling (with step and image) and initialisation.",
            Spec().at_least(0));
    v.field("max_skipped_steps", max_skipped_steps,
            "Consecutive steps that skipped an optimizer update (non-finite loss or gradient, logged with the step "
            "and the tensor) before the run saves a checkpoint and stops with an error. Was train.max_bad_steps.",
            Spec().at_least(1));
    v.field("device", device, "`auto` (CUDA when available, else CPU), `cpu`, `cuda` or `cuda:N`.", Spec().device());
  }
  bool operator==(const TrainConfig&) const = default;
};

}  // namespace balcap::config
