// configs/demo.yaml compiled into the binary: the config `balcap train` runs when given
// none (DESIGN §2, "the embedded default"). A test checks this text equals the file.
#include "balcap/config/config.h"

namespace balcap::config {

std::string_view embedded_demo_yaml() {
  static constexpr std::string_view kDemo = R"yaml(# The embedded default (README's first command): a tiny Qwen2.5-VL-architecture policy
# learns to caption synthetic scenes on a laptop CPU. scripts/demo.sh creates the model and
# the data under runs/demo/ before training; `balcap config check` does not need them.
# Keys not written here take the defaults listed in docs/config.md.

model:
  path: runs/demo/model            # tiny Qwen2.5-VL written by the demo (HF layout)
  family: qwen2_5_vl

data:
  train: runs/demo/data/train.jsonl   # `balcap data synth` output
  eval: runs/demo/data/eval.jsonl
  prompt: Describe this image.
  workers: 2

sampling:
  temperature: 1.0
  top_p: 1.0
  max_new_tokens: 48                # scene captions are short
  cuda_graphs: false

rewards:
  objectives:                       # the three BalCapRL objectives, judged exactly against the scene
    correctness: {scorer: claim_precision, judge: scene, weight: 1.0}
    coverage: {scorer: claim_recall, judge: scene, weight: 1.0}
    linguistic: {scorer: judge_rating, judge: scene, weight: 1.0}
  judges:
    scene: {kind: scene}
  length_mask:
    objectives: [linguistic]
    min_ratio: 0.5
    max_ratio: 2.0
    mask_mode: zero

algo:
  advantage: gdpo                   # c-GDPO: per-objective group normalisation
  clip_low: 0.2
  clip_high: 0.28
  kl_coef: 0.0

optim:
  lr: 5.0e-5                        # a tiny random-init model needs a far larger lr than 1e-6
  warmup_steps: 2
  schedule: constant
  weight_decay: 0.0

train:
  run_dir: runs/demo
  max_steps: 40
  save_every: 10
  batch_size: 4                     # images per step
  group_size: 4
  micro_batch: 16
  dtype: float32
  device: cpu
  seed: 0

dist:
  backend: gloo

checkpoint:
  keep_last: 2
  resume: auto

logging:
  tensorboard: false
  samples_every: 10
  samples_count: 2
)yaml";
  return kDemo;
}

Config demo_config(const std::vector<std::string>& overrides) {
  return load_config_text(std::string(embedded_demo_yaml()), "configs/demo.yaml (embedded)", overrides);
}

}  // namespace balcap::config
