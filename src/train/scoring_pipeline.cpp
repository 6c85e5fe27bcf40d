// Scoring, overlapped with the rollout or not; see src/train/scoring_pipeline.h.
#include "train/scoring_pipeline.h"

#include <chrono>
#include <exception>
#include <utility>

#include "train/reward_phase.h"

namespace balcap::train {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Chunk matrices -> one [K][N] matrix (columns in chunk order; per-objective seconds summed).
rewards::RewardMatrix concatenate(std::vector<rewards::RewardMatrix>& parts) {
  rewards::RewardMatrix out;
  for (rewards::RewardMatrix& part : parts) {
    if (out.objectives.empty()) {
      out = std::move(part);
      continue;
    }
    for (std::size_t k = 0; k < part.objectives.size(); ++k) {
      out.score[k].insert(out.score[k].end(), part.score[k].begin(), part.score[k].end());
      out.valid[k].insert(out.valid[k].end(), part.valid[k].begin(), part.valid[k].end());
      out.seconds[k] += part.seconds[k];
    }
  }
  return out;
}

}  // namespace

ScoringPipeline::ScoringPipeline(const std::vector<std::unique_ptr<rewards::Objective>>& objectives, bool background)
    : objectives_(objectives), background_(background) {}

ScoringPipeline::~ScoringPipeline() {
  if (!tail_.valid()) return;
  try {
    tail_.get();
  } catch (const std::exception&) {  // the step is being abandoned for another error already
  }
}

void ScoringPipeline::add(const Rollout& rollout, std::size_t begin, std::size_t end) {
  std::vector<rewards::ScoredCaption> captions;
  for (std::size_t i = begin; i < end; ++i) {
    const sampling::Sample& s = rollout.samples.at(i);
    captions.push_back({rollout.items.at(static_cast<std::size_t>(s.request)).record, s.text, caption_tokens(s)});
  }
  if (!background_) {
    pending_.insert(pending_.end(), std::make_move_iterator(captions.begin()), std::make_move_iterator(captions.end()));
    return;
  }
  // One task per chunk, each first waiting for the one before: one chunk is scored at a time, in
  // order, so an objective is never called from two threads at once (their caches are not locked).
  tail_ = std::async(std::launch::async, [this, prev = std::move(tail_), captions = std::move(captions)]() mutable {
    if (prev.valid()) prev.get();  // rethrows the previous chunk's error, which ends the chain
    score_chunk(std::move(captions));
  });
}

void ScoringPipeline::score_chunk(std::vector<rewards::ScoredCaption> captions) {
  const auto t0 = Clock::now();
  parts_.push_back(rewards::score_captions(objectives_, captions));
  busy_seconds_ += since(t0);
}

ScoredRollout ScoringPipeline::finish() {
  const auto t0 = Clock::now();
  if (!background_) score_chunk(std::move(pending_));
  if (tail_.valid()) tail_.get();
  ScoredRollout out;
  out.wait_seconds = since(t0);
  out.busy_seconds = busy_seconds_;
  out.matrix = concatenate(parts_);
  if (out.matrix.objectives.empty()) out.matrix = rewards::score_captions(objectives_, {});  // no captions: K empty rows
  return out;
}

}  // namespace balcap::train
