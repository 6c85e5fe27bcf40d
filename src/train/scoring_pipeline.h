#pragma once
// Private to src/train: the scoring half of a step (docs/architecture.md §1), optionally overlapped
// with the rollout (train.overlap_scoring, docs/perf.md). The rollout hands over each chunk of
// finished captions; with `background` their scoring runs on a second thread, chunk after chunk in
// order, while the rollout samples the next chunk. finish() waits and returns the K x N matrix that
// one score_captions call on all the captions would give: the objectives see the same captions, in
// the same order, only in pieces (so the judges' batches are smaller).
//
//   ScoringPipeline scoring(objectives, /*background=*/true);
//   ... scoring.add(rollout, begin, end) after each sampled chunk ...
//   ScoredRollout scored = scoring.finish();   // matrix [K][N], busy and wait seconds
#include <cstddef>
#include <future>
#include <memory>
#include <vector>

#include "rewards/objective.h"
#include "rewards/score_captions.h"
#include "train/rollout.h"

namespace balcap::train {

struct ScoredRollout {
  rewards::RewardMatrix matrix;  // [K][N] over every caption handed over, in order
  double busy_seconds = 0;       // scoring time (summed over chunks), overlapped or not
  double wait_seconds = 0;       // time finish() waited for scoring after the last chunk was added
};

class ScoringPipeline {
 public:
  // The objectives outlive the pipeline. background false: finish() scores everything at once
  // (one score_captions call, the judges' biggest batches).
  ScoringPipeline(const std::vector<std::unique_ptr<rewards::Objective>>& objectives, bool background);
  ~ScoringPipeline();  // waits for a chunk still being scored (its error is dropped: finish() was not reached)
  ScoringPipeline(const ScoringPipeline&) = delete;
  ScoringPipeline& operator=(const ScoringPipeline&) = delete;

  // Hands over the captions of rollout.samples[begin, end) (copied: the rollout may grow).
  void add(const Rollout& rollout, std::size_t begin, std::size_t end);
  // Waits for every chunk; rethrows a scorer's balcap::Error here, on the calling thread.
  ScoredRollout finish();

 private:
  void score_chunk(std::vector<rewards::ScoredCaption> captions);

  const std::vector<std::unique_ptr<rewards::Objective>>& objectives_;
  bool background_;
  std::vector<rewards::ScoredCaption> pending_;  // background false: everything, scored in finish()
  std::vector<rewards::RewardMatrix> parts_;     // one per scored chunk, in order (written by the chain only)
  double busy_seconds_ = 0;
  std::future<void> tail_;                       // the last chunk's task; each task waits for its predecessor
};

}  // namespace balcap::train
