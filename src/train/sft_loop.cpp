// Supervised captioning (`balcap sft`): cross-entropy on reference captions through the chunked
// completion logprobs, with the session's data order, AdamW, checkpoints and metrics.
#include "train/sft_loop.h"

#include <chrono>

#include "algo/policy_loss.h"
#include "core/error.h"
#include "core/log.h"
#include "data/data_order.h"
#include "dist/grad_sync.h"
#include "dist/param_shards.h"
#include "dist/shard.h"
#include "models/policy_logprobs.h"
#include "train/progress.h"
#include "train/stop_signal.h"
#include "train/update_phase.h"

namespace balcap::train {

config::Config sft_phase_config(const config::Config& config) {
  config::Config c = config;
  c.train.run_dir = config.sft.run_dir.empty() ? (std::filesystem::path(config.train.run_dir) / "sft").string()
                                               : config.sft.run_dir;
  c.train.max_steps = config.sft.max_steps;
  c.train.save_every = config.sft.save_every;
  c.train.batch_size = config.sft.batch_size;
  c.optim.lr = config.sft.lr;
  c.optim.warmup_steps = config.sft.warmup_steps;
  c.optim.min_lr = std::min(config.optim.min_lr, config.sft.lr);
  return c;
}

namespace {

using Clock = std::chrono::steady_clock;

// One training sequence: a prompt and a tokenized reference + the end-of-turn id.
struct SftRow {
  const models::PolicyPrompt* prompt;
  std::vector<std::int64_t> target;
};

std::vector<std::size_t> chosen_references(const config::Config& cfg, const data::Record& r, std::int64_t step) {
  const std::size_t n = r.references.size();
  if (n == 0) return {};
  if (cfg.sft.references == "all") {
    std::vector<std::size_t> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = i;
    return all;
  }
  if (cfg.sft.references == "first") return {0};
  const std::uint64_t h = data::splitmix64(static_cast<std::uint64_t>(cfg.train.seed) ^
                                           data::splitmix64(static_cast<std::uint64_t>(step) * 1000003u +
                                                            static_cast<std::uint64_t>(r.index)));
  return {static_cast<std::size_t>(h % n)};
}

std::vector<SftRow> sft_rows(const Session& s, const std::vector<PromptedRecord>& items, std::int64_t step) {
  const auto& eos = s.policy->generation_config().eos_token_ids;
  BALCAP_CHECK(!eos.empty(), "{}: generation_config.json has no eos_token_id, so a caption cannot end. HINT: add it.",
               s.config.model.path);
  std::vector<SftRow> rows;
  for (const PromptedRecord& item : items) {
    for (std::size_t k : chosen_references(s.config, *item.record, step)) {
      std::vector<std::int32_t> ids = s.tokenizer->encode(item.record->references[k], false);
      SftRow row{&item.prompt, std::vector<std::int64_t>(ids.begin(), ids.end())};
      row.target.push_back(eos.front());  // the caption ends the assistant turn
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

struct SftStep {
  double loss = 0, grad_norm = 0, lr = 0;
  std::int64_t tokens = 0, sequences = 0, images = 0, images_skipped = 0;
  bool applied = false, dropped = false;
  double seconds = 0, preprocess_seconds = 0;
};

// Mean token NLL over the step's rows: backward per micro-batch with token_mean weights of the step.
// Every rank calls it (with or without rows): the counts, loss and gradients are summed over ranks.
void sft_update(Session& s, const std::vector<SftRow>& rows, SftStep& out) {
  std::vector<double> counts{0, static_cast<double>(rows.size())};
  for (const auto& r : rows) counts[0] += static_cast<double>(r.target.size());
  s.comm->all_reduce_sum(counts);
  if (counts[1] == 0) return;  // no rows on any rank
  const auto total_tokens = static_cast<std::int64_t>(counts[0]);
  const bool one_process = s.comm->world_size() == 1;
  s.policy->module().train();
  at::Tensor loss_sum;
  const auto n = static_cast<std::int64_t>(rows.size());
  for (auto [a, b] : n > 0 ? split_evenly(n, micro_batch_count(s.config.train, n))
                           : std::vector<std::pair<std::int64_t, std::int64_t>>{}) {
    std::vector<models::LogprobRow> batch;
    for (std::int64_t i = a; i < b; ++i) batch.push_back(models::completion_row(*rows[i].prompt, rows[i].target));
    models::PolicyLogprobs lp = models::policy_logprobs(*s.policy, batch);
    at::Tensor w = algo::aggregation_weights(lp.counts, "token_mean", total_tokens, 1).to(lp.logprobs.device());
    at::Tensor loss = -(w * lp.logprobs).sum();
    loss_fault_point(loss);
    loss.backward();
    loss_sum = loss_sum.defined() ? loss_sum + loss.detach() : loss.detach();
    out.tokens += static_cast<std::int64_t>(w.numel());
    if (one_process && stop_requested()) break;
  }
  if (stop_agreed(*s.comm)) return s.optimizer->zero_grad(), s.policy->module().eval(), void(out.dropped = true);
  s.policy->module().eval();
  const std::vector<at::Tensor> params = s.optimizer->tensors();
  dist::sync_gradients(params, *s.comm, s.config.dist.bucket_bytes(), s.param_owners);
  std::vector<double> v{loss_sum.defined() ? loss_sum.item<double>() : 0.0, static_cast<double>(out.tokens)};
  s.comm->all_reduce_sum(v);
  out.loss = v[0];
  out.tokens = static_cast<std::int64_t>(v[1]);
  gradient_fault_point(*s.optimizer);
  const GradNorm g =
      s.optimizer->clip_grad_norm(s.config.optim.grad_clip, s.param_owners.empty() ? nullptr : s.comm.get());
  out.grad_norm = g.norm;
  out.lr = s.schedule->lr_at(s.updates);
  if (std::isfinite(out.loss) && g.finite) {
    s.optimizer->step(out.lr);
    if (!s.param_owners.empty()) dist::broadcast_from_owners(params, s.param_owners, *s.comm);
    ++s.updates;
    out.applied = true;
  } else {
    spdlog::warn("SFT step {}: optimizer step skipped, nothing applied: {} (gradient norm {})", s.step + 1,
                 non_finite_tensors(out.loss, *s.optimizer), g.norm);
  }
  s.optimizer->zero_grad();
}

SftStep sft_step(Session& s) {
  const auto t0 = Clock::now();
  SftStep out;
  const nlohmann::json cursor = s.order->state();
  std::vector<PromptedRecord> items =
      build_prompts(s.rollout_inputs(), dist::rank_shard(s.order->next(s.config.train.batch_size), *s.comm),
                    &out.images_skipped);
  out.preprocess_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const std::vector<SftRow> rows = sft_rows(s, items, s.step + 1);
  std::vector<double> counts{static_cast<double>(items.size()), static_cast<double>(out.images_skipped),
                             static_cast<double>(rows.size())};
  s.comm->all_reduce_sum(counts);  // the step's global counts
  out.images = static_cast<std::int64_t>(counts[0]);
  out.images_skipped = static_cast<std::int64_t>(counts[1]);
  out.sequences = static_cast<std::int64_t>(counts[2]);
  sft_update(s, rows, out);
  if (out.dropped) {
    s.order->restore(cursor);
    return out;
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

nlohmann::json sft_metrics(const Session& s, const SftStep& r) {
  return {{"step", s.step},
          {"epoch", s.order->cursor().epoch},
          {"loss", r.loss},
          {"grad_norm", r.grad_norm},
          {"lr", r.lr},
          {"tokens/update", r.tokens},
          {"sequences", r.sequences},
          {"images", r.images},
          {"images_skipped", r.images_skipped},
          {"skipped_steps", r.applied || r.sequences == 0 ? 0 : 1},
          {"time/preprocess_s", r.preprocess_seconds},
          {"time/step_s", r.seconds},
          {"perf/update_tokens_per_s", r.seconds > 0 ? static_cast<double>(r.tokens) / r.seconds : 0.0}};
}

void save_final_model(Session& s) {
  if (s.comm->rank() != 0) return;  // every rank holds the same weights
  const std::filesystem::path dir = s.run_dir / "model";
  s.policy->save_pretrained(dir);
  spdlog::info("SFT model written to {} (point model.path of the RL phase at it)", dir.string());
}

}  // namespace

int run_sft(const config::Config& config, const RunArgs& args) {
  install_stop_handlers();
  const config::Config phase = sft_phase_config(config);
  Session s(phase, args, 1);
  Progress progress(phase.train.max_steps, s.step, phase.logging.progress);
  while (s.step < phase.train.max_steps) {
    SftStep r = sft_step(s);
    if (r.dropped) break;
    s.step += 1;
    s.bad_in_a_row = (!r.applied && r.sequences > 0) ? s.bad_in_a_row + 1 : 0;
    s.write_metrics(sft_metrics(s, r));
    s.maybe_save(phase.train.save_every);
    progress.update(s.step, fmt::format("loss {:.4f}", r.loss));
    if (stop_agreed(*s.comm)) break;
    if (s.bad_in_a_row >= phase.train.max_skipped_steps) {
      if (!checkpoint::is_complete(s.checkpointer->step_dir(s.step))) s.save_checkpoint();
      fail("SFT stopped after step {}: {} steps in a row skipped their optimizer update because of a non-finite loss "
           "or gradient (train.max_skipped_steps = {}; the log names each step and tensor); checkpoint {} saved. "
           "HINT: lower sft.lr, clip harder (a smaller optim.grad_clip), check the references; then resume with "
           "--resume auto",
           s.step, s.bad_in_a_row, phase.train.max_skipped_steps, s.checkpointer->step_dir(s.step).string());
    }
  }
  if (!checkpoint::is_complete(s.checkpointer->step_dir(s.step))) s.save_checkpoint();
  progress.finish();
  if (stop_requested()) {
    spdlog::info("stopped by {} after SFT step {}; continue with --resume auto", stop_signal_name(), s.step);
    return 0;
  }
  save_final_model(s);
  remove_stop_handlers();
  return 0;
}

}  // namespace balcap::train
