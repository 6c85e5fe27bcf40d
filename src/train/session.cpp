// The shared run set-up of `balcap train` / `balcap sft`; see src/train/session.h.
#include "train/session.h"

#include <chrono>

#include "checkpoint/resume.h"
#include "checkpoint/rng_state.h"
#include "config/save.h"
#include "core/error.h"
#include "core/log.h"
#include "io/safetensors_reader.h"
#include "models/load_policy.h"
#include "models/text_decoder.h"
#include "dist/param_shards.h"
#include "train/world.h"

namespace balcap::train {

namespace fs = std::filesystem;

at::Device resolve_device(const std::string& device) {
  if (device == "auto") return at::hasCUDA() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  at::Device d(device);
  BALCAP_CHECK(!d.is_cuda() || at::hasCUDA(),
               "train.device '{}': this build or machine has no CUDA. HINT: use train.device cpu (or auto).", device);
  return d;
}

at::ScalarType resolve_dtype(const std::string& dtype, const at::Device& device) {
  if (dtype == "auto") return device.is_cuda() ? at::kBFloat16 : at::kFloat;
  if (dtype == "bfloat16") return at::kBFloat16;
  if (dtype == "float16") return at::kHalf;
  return at::kFloat;
}

namespace {

bool is_projector(const std::string& name) {
  return name.find("visual.merger.") != std::string::npos || name.find("multi_modal_projector.") != std::string::npos;
}

bool is_vision(const std::string& name) {
  if (is_projector(name)) return false;
  return name.find("visual.") != std::string::npos || name.find("vision_tower.") != std::string::npos;
}

at::Generator cpu_generator() { return at::detail::getDefaultCPUGenerator(); }

models::LoraOptions lora_options(const config::LoraConfig& lora) {
  return {lora.r, lora.alpha, lora.dropout, lora.target_modules};
}

}  // namespace

NamedParams trainable_parameters(torch::nn::Module& module, const config::TrainConfig& train) {
  NamedParams out;
  for (const auto& item : module.named_parameters()) {
    at::Tensor p = item.value();
    const bool frozen = (train.freeze_vision && is_vision(item.key())) ||
                        (train.freeze_projector && is_projector(item.key())) || train.lora.enabled;
    p.requires_grad_(!frozen);
    if (!frozen) out.emplace_back(item.key(), p);
  }
  return out;
}

std::vector<double> lr_scales(const NamedParams& params, const config::OptimConfig& optim) {
  std::vector<double> out;
  for (const auto& [name, p] : params) {
    out.push_back(is_projector(name) ? optim.projector_lr_scale : is_vision(name) ? optim.vision_lr_scale : 1.0);
  }
  return out;
}

void set_gradient_checkpointing(torch::nn::Module& module, bool on) {
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (auto* decoder = dynamic_cast<models::TextDecoderImpl*>(m.get())) decoder->set_gradient_checkpointing(on);
  }
}

Session::Session(config::Config cfg, const RunArgs& args, std::int64_t updates_per_step) : config(std::move(cfg)) {
  run_dir = config.train.run_dir;
  checkpoint::require_writable_run_dir(run_dir);  // before minutes of model loading, and before rank logs go there
  World world = join_world(config, resolve_device(config.train.device));
  comm = std::move(world.comm);
  device = world.device;
  dtype = resolve_dtype(config.train.dtype, device);
  at::manual_seed(static_cast<std::uint64_t>(config.train.seed));  // the same on every rank
  load_model();
  load_data();
  fs::create_directories(run_dir);
  if (writes_run_files(*comm)) config::save_config(config, run_dir / "config.yaml");
  checkpointer = std::make_unique<checkpoint::Checkpointer>(run_dir, config.checkpoint.keep_last);
  build_optimizer(updates_per_step);
  const std::string resume_mode = args.resume.empty() ? config.checkpoint.resume : args.resume;
  if (auto dir = checkpoint::resolve_resume(resume_mode, run_dir)) resume(*dir, args.resume_force);
  if (!writes_run_files(*comm)) return;  // metrics and TensorBoard are rank 0's (its values are global)
  metrics = std::make_unique<MetricsWriter>(run_dir, resumed_from);
  if (config.logging.tensorboard) {
    tensorboard = std::make_unique<TensorBoardWriter>(run_dir / "tensorboard", resumed_from);
  }
}

Session::~Session() = default;

void Session::load_model() {
  const fs::path model = config.model.path;
  policy = models::load_policy(model, dtype, device);
  tokenizer = text::load_tokenizer(config.model.tokenizer.empty() ? model : fs::path(config.model.tokenizer));
  processor = vision::load_image_processor(model, vision::PixelBounds{config.model.min_pixels, config.model.max_pixels});
  policy->module().eval();
  set_gradient_checkpointing(policy->module(), config.train.grad_checkpointing);
  spdlog::info("policy {} ({}, {}) loaded", model.string(), c10::toString(dtype), device.str());
}

void Session::load_data() {
  dataset = data::load_dataset(config.data.train, config.data);
  order = std::make_unique<data::DataOrder>(static_cast<std::int64_t>(dataset.records.size()),
                                            static_cast<std::uint64_t>(config.train.seed), config.data.shuffle);
  images = std::make_unique<data::RecordImageDecoder>(data::parse_on_bad_record(config.data.on_bad_record));
  totals["records_bad_at_load"] = static_cast<std::int64_t>(dataset.bad.size());
  spdlog::info("data {}: {} records ({} bad lines skipped)", config.data.train, dataset.records.size(),
               dataset.bad.size());
}

void Session::build_optimizer(std::int64_t updates_per_step) {
  NamedParams params = trainable_parameters(policy->module(), config.train);
  if (config.train.lora.enabled) {
    at::Generator init = at::detail::createCPUGenerator(static_cast<std::uint64_t>(config.train.seed));
    const models::LoraOptions options = lora_options(config.train.lora);
    lora = std::make_unique<models::LoraAdapters>(models::LoraAdapters::inject(policy->module(), options, init));
    params = lora->named_parameters();
    spdlog::info("LoRA: {} adapted layers (r {}, alpha {})", lora->size(), config.train.lora.r, config.train.lora.alpha);
  }
  BALCAP_CHECK(!params.empty(),
               "nothing to train: every parameter is frozen. HINT: check train.freeze_vision, "
               "train.freeze_projector and train.lora.");
  std::vector<double> scales = lr_scales(params, config.optim);
  std::vector<bool> owned;  // empty: this rank keeps the whole optimizer state
  if (config.dist.sharded_optimizer && comm->world_size() > 1) {
    std::vector<std::int64_t> numels;
    for (const auto& [name, p] : params) numels.push_back(p.numel());
    param_owners = dist::partition_parameters(numels, comm->world_size());
    for (std::int64_t owner : param_owners) owned.push_back(owner == comm->rank());
    spdlog::info("sharded optimizer: rank {} keeps the AdamW state of {} of {} parameters", comm->rank(),
                 std::count(owned.begin(), owned.end(), true), owned.size());
  }
  optimizer = std::make_unique<AdamW>(std::move(params), adamw_options_from(config.optim), std::move(scales),
                                      std::move(owned));
  schedule = std::make_unique<LrSchedule>(config.optim, config.train.max_steps * updates_per_step);
}

RolloutInputs Session::rollout_inputs() {
  return {&config, policy.get(), tokenizer.get(), processor.get(), &dataset, images.get(), comm.get()};
}

checkpoint::TrainerState Session::trainer_state() const {
  checkpoint::TrainerState s;
  s.step = step;
  s.epoch = order->cursor().epoch;
  s.data_cursor = order->state();
  s.rng["torch_cpu"] = checkpoint::generator_state_base64(cpu_generator());
  if (device.is_cuda()) {
    s.rng["torch_cuda"] = checkpoint::generator_state_base64(at::globalContext().defaultGenerator(device));
  }
  s.lr_schedule = LrSchedule::state(updates);
  s.world_size = comm->world_size();
  s.config_hash = checkpoint::resume_config_hash(config);
  s.extra = {{"bad_in_a_row", bad_in_a_row}, {"totals", totals}};
  return s;
}

fs::path Session::staged_optimizer_shard(std::int64_t rank) const {
  return run_dir / "checkpoints" / fmt::format(".step-{}.optim-rank-{}.safetensors", step, rank);
}

double Session::save_checkpoint() {
  const auto t0 = std::chrono::steady_clock::now();
  const bool sharded = !param_owners.empty() && config.checkpoint.save_optimizer;
  std::string error;  // this rank's failure
  const auto attempt = [&error](const auto& work) {
    try {
      work();
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  // Rank 0 writes the checkpoint; the others only stage their optimizer shard.
  if (sharded && !writes_run_files(*comm)) {
    attempt([&] { save_optimizer_state(*optimizer, staged_optimizer_shard(comm->rank())); });
  }
  if (sharded) comm->barrier();  // every shard is staged before the checkpoint (and its COMPLETE) is written
  if (writes_run_files(*comm)) attempt([&] { spdlog::info("checkpoint {}", write_checkpoint(sharded).string()); });
  // Every rank learns whether the save worked (and goes on only once it is complete), so that all
  // stop or all continue.
  std::vector<double> failed{error.empty() ? 0.0 : 1.0};
  comm->all_reduce_sum(failed);
  if (!error.empty() && comm->world_size() > 1) spdlog::error("{}", error);  // into rank-R.log, which the others name
  if (!error.empty()) fail("{}", error);
  BALCAP_CHECK(failed[0] == 0, "the checkpoint of step {} failed on another rank. HINT: {} names the directory and "
               "the reason", step, (run_dir / "rank-0.log").string());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::filesystem::path Session::write_checkpoint(bool sharded) {
  const checkpoint::TrainerState state = trainer_state();
  return checkpointer->save(step, [&](const fs::path& tmp) {
    if (lora) {
      lora->save_peft(checkpoint::adapter_dir(tmp), policy->source_dir().string());
    } else {
      policy->save_pretrained(checkpoint::model_dir(tmp));
    }
    if (config.checkpoint.save_optimizer) {  // not sharded: every rank holds the same state, rank 0's serves all
      save_optimizer_state(*optimizer, checkpoint::optimizer_file(tmp, 0));
    }
    for (std::int64_t r = 1; sharded && r < comm->world_size(); ++r) {
      fs::rename(staged_optimizer_shard(r), checkpoint::optimizer_file(tmp, r));
    }
    config::save_config(config, checkpoint::config_file(tmp));
    checkpoint::save_trainer_state(checkpoint::trainer_state_file(tmp), state);
  });
}

double Session::maybe_save(std::int64_t save_every) {
  if (save_every <= 0 || step % save_every != 0) return 0.0;
  try {
    return save_checkpoint();
  } catch (const Error& e) {
    if (config.checkpoint.on_save_failure != "continue") {
      spdlog::error("step {}: the checkpoint failed and checkpoint.on_save_failure is stop: the run ends here", step);
      throw;
    }
    spdlog::error("{}", e.what());
    spdlog::warn("step {}: training goes on without this checkpoint (checkpoint.on_save_failure: continue); the next "
                 "save is at step {}", step, step + save_every);
    return 0.0;
  }
}

void Session::write_metrics(const nlohmann::json& row) {
  if (!metrics) return;  // not rank 0
  metrics->write(row);
  if (!tensorboard) return;
  std::vector<std::pair<std::string, double>> scalars;
  for (const auto& [key, value] : row.items()) {
    if (key != "step" && value.is_number()) scalars.emplace_back(key, value.get<double>());
  }
  tensorboard->add_scalars(row.at("step").get<std::int64_t>(), scalars, unix_seconds());
}

void Session::resume(const fs::path& checkpoint_dir, bool force) {
  const checkpoint::TrainerState state = checkpoint::load_for_resume(checkpoint_dir, config, force);
  if (lora) {
    load_adapters_from(checkpoint_dir);
  } else {
    load_weights_from(checkpoint_dir);
  }
  const fs::path optim = checkpoint::optimizer_file(checkpoint_dir, 0).parent_path();  // every rank-*.safetensors
  if (fs::exists(optim)) {
    load_optimizer_state(*optimizer, optim);  // this rank's part of the state, whatever the saved world size
  } else {
    spdlog::warn("{}: no optimizer state (checkpoint.save_optimizer was off): AdamW moments start at zero, "
                 "the resumed run is not bitwise identical",
                 checkpoint_dir.string());
  }
  restore_state(state);
  resumed_from = state.step;
  spdlog::info("resumed from {} (step {}, epoch {})", checkpoint_dir.string(), state.step, state.epoch);
}

void Session::restore_state(const checkpoint::TrainerState& state) {
  step = state.step;
  updates = LrSchedule::step_from_state(state.lr_schedule, "trainer_state.json lr_schedule");
  order->restore(state.data_cursor);
  at::Generator cpu = cpu_generator();
  BALCAP_CHECK(state.rng.count("torch_cpu") == 1,
               "trainer_state.json has no 'torch_cpu' RNG state. HINT: the checkpoint is damaged; resume from another");
  checkpoint::restore_generator_state(cpu, state.rng.at("torch_cpu"), "torch_cpu");
  if (device.is_cuda() && state.rng.count("torch_cuda")) {
    at::Generator cuda = at::globalContext().defaultGenerator(device);
    checkpoint::restore_generator_state(cuda, state.rng.at("torch_cuda"), "torch_cuda");
  }
  const nlohmann::json& extra = state.extra;
  const bool counts_ok = extra.is_object() && (!extra.contains("bad_in_a_row") || extra["bad_in_a_row"].is_number_integer()) &&
                         (!extra.contains("totals") || extra["totals"].is_object());
  BALCAP_CHECK(counts_ok, "trainer_state.json 'extra' = {} lacks integer counters. HINT: the checkpoint is damaged; "
               "resume from another", extra.dump());
  bad_in_a_row = extra.value("bad_in_a_row", std::int64_t{0});
  totals = extra.value("totals", nlohmann::json::object());
  for (const auto& [key, value] : totals.items()) {
    BALCAP_CHECK(value.is_number_integer(), "trainer_state.json extra.totals.{} = {} is not an integer. HINT: the "
                 "checkpoint is damaged; resume from another", key, value.dump());
  }
}

void Session::load_weights_from(const fs::path& checkpoint_dir) {
  // The saved model is the same family as the policy: its parameters share the in-memory names.
  std::unique_ptr<models::Policy> saved = models::load_policy(checkpoint::model_dir(checkpoint_dir), dtype, device);
  auto source = saved->module().named_parameters();
  at::NoGradGuard no_grad;
  for (auto& item : policy->module().named_parameters()) {
    const at::Tensor* src = source.find(item.key());
    BALCAP_CHECK(src != nullptr && src->sizes() == item.value().sizes(),
                 "{}: parameter {} is missing or has another shape in the checkpoint's model. HINT: resume with the "
                 "model the checkpoint was made from (model.path), or --resume none.",
                 checkpoint_dir.string(), item.key());
    item.value().copy_(*src);
  }
}

void Session::load_adapters_from(const fs::path& checkpoint_dir) {
  const fs::path file = checkpoint::adapter_dir(checkpoint_dir) / "adapter_model.safetensors";
  io::SafetensorsFile saved(file);
  at::NoGradGuard no_grad;
  for (auto& [name, tensor] : lora->named_parameters()) {
    BALCAP_CHECK(saved.contains(name) && saved.info(name).shape == tensor.sizes().vec(),
                 "{}: adapter {} is missing or has another shape. HINT: resume with the train.lora settings the "
                 "checkpoint was made with, or --resume none.",
                 file.string(), name);
    tensor.copy_(saved.tensor(name));
  }
}

}  // namespace balcap::train
