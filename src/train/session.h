#pragma once
// What `balcap train` and `balcap sft` share (docs/architecture.md §1, §9): the resolved device and dtype, the
// policy (frozen parts, gradient checkpointing), tokenizer and image processor, the validated
// dataset and its resumable order, AdamW + LR schedule, the Checkpointer, metrics.jsonl and
// TensorBoard writers, and the counters an exact resume restores (step, optimizer updates, RNG
// states, data cursor, consecutive bad steps).
//
//   Session s(phase_config, {"auto", false});     // loads everything, resumes when asked
//   for (; s.step < max_steps; ) { ...; ++s.step; s.maybe_save(); }
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpointer.h"
#include "checkpoint/trainer_state.h"
#include "config/config.h"
#include "data/data_order.h"
#include "data/dataset.h"
#include "data/record_image.h"
#include "dist/communicator.h"
#include "models/lora.h"
#include "models/policy.h"
#include "text/tokenizer.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"
#include "train/metrics_writer.h"
#include "train/rollout.h"
#include "train/tensorboard_writer.h"
#include "vision/image_processor.h"

namespace balcap::train {

// Command-line choices that are not part of the config hash.
struct RunArgs {
  std::string resume;         // empty = checkpoint.resume; else auto | none | PATH
  bool resume_force = false;  // resume a checkpoint made with another config (warns with the keys)
};

// train.device / train.dtype resolved: auto = CUDA when available (bf16), else CPU (float32).
at::Device resolve_device(const std::string& device);
at::ScalarType resolve_dtype(const std::string& dtype, const at::Device& device);

// The trainable parameters by name after freezing (train.freeze_vision / freeze_projector) — the
// others get requires_grad false. Vision tower and projector are told apart by the parameter names
// of the supported families (Qwen2.5-VL: visual.*, visual.merger.*; LLaVA: vision_tower.*,
// multi_modal_projector.*).
NamedParams trainable_parameters(torch::nn::Module& module, const config::TrainConfig& train);
// The optimizer's lr multiplier of each param: optim.projector_lr_scale for the projector
// (visual.merger / multi_modal_projector), optim.vision_lr_scale for the rest of the vision tower,
// 1 for the language model.
std::vector<double> lr_scales(const NamedParams& params, const config::OptimConfig& optim);

// Turns train.grad_checkpointing on in every text decoder of the module.
void set_gradient_checkpointing(torch::nn::Module& module, bool on);

class Session {
 public:
  // updates_per_step: optimizer steps per training step (the schedule's total = max_steps x this).
  Session(config::Config config, const RunArgs& args, std::int64_t updates_per_step);
  ~Session();

  config::Config config;
  std::filesystem::path run_dir;
  at::Device device = at::kCPU;
  at::ScalarType dtype = at::kFloat;
  std::unique_ptr<dist::Communicator> comm;
  std::unique_ptr<models::Policy> policy;
  std::unique_ptr<models::LoraAdapters> lora;  // train.lora.enabled: the only trained tensors
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::unique_ptr<vision::ImageProcessor> processor;
  data::Dataset dataset;
  std::unique_ptr<data::DataOrder> order;
  std::unique_ptr<data::RecordImageDecoder> images;
  std::unique_ptr<AdamW> optimizer;
  std::vector<std::int64_t> param_owners;  // dist.sharded_optimizer on several ranks: each param's owner; else empty
  std::unique_ptr<LrSchedule> schedule;
  std::unique_ptr<checkpoint::Checkpointer> checkpointer;
  std::unique_ptr<MetricsWriter> metrics;
  std::unique_ptr<TensorBoardWriter> tensorboard;

  std::int64_t step = 0;           // steps completed
  std::int64_t updates = 0;        // optimizer steps applied (the schedule's position)
  std::int64_t bad_in_a_row = 0;   // consecutive steps with a skipped optimizer step (train.max_skipped_steps)
  nlohmann::json totals = nlohmann::json::object();  // cumulative counters (images skipped, ...)
  std::optional<std::int64_t> resumed_from;

  RolloutInputs rollout_inputs();
  // The state an exact resume needs, as of now (call at a step boundary).
  checkpoint::TrainerState trainer_state() const;
  // Writes checkpoints/step-<step>/ (model, optimizer, config, trainer state); returns seconds taken.
  // A save that fails on any rank throws balcap::Error on every rank (rank 0's text names the
  // directory, the reason and the checkpoint left).
  double save_checkpoint();
  // save_checkpoint() when save_every divides step; returns seconds taken (0 when not saved). Under
  // checkpoint.on_save_failure: continue a failed save is logged and the run goes on.
  double maybe_save(std::int64_t save_every);
  // One metrics row: metrics.jsonl (+ TensorBoard scalars of its numeric fields).
  void write_metrics(const nlohmann::json& row);

 private:
  void load_model();
  void load_data();
  void build_optimizer(std::int64_t updates_per_step);
  void resume(const std::filesystem::path& checkpoint_dir, bool force);
  void restore_state(const checkpoint::TrainerState& state);
  // Rank 0: writes the checkpoint directory and returns it.
  std::filesystem::path write_checkpoint(bool sharded);
  void load_weights_from(const std::filesystem::path& checkpoint_dir);
  void load_adapters_from(const std::filesystem::path& checkpoint_dir);
  // Where rank `rank` stages its optimizer shard of this step before rank 0 moves it into the checkpoint.
  std::filesystem::path staged_optimizer_shard(std::int64_t rank) const;
};

}  // namespace balcap::train
