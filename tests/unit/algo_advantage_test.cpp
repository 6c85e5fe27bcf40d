// GDPO / GRPO advantages (docs/architecture.md §7) against hand-computed numbers. std is unbiased (n-1):
// for two values {x, y}, std = |x - y| / sqrt(2), so (x - mean) / std = -1/sqrt(2) when x < y.
#include <gtest/gtest.h>

#include <barrier>
#include <cmath>
#include <mutex>
#include <thread>

#include "algo/advantage.h"
#include "core/error.h"

namespace balcap::algo {
namespace {

constexpr double kEps = 1e-6;

// The one-process world, written here because the algo tests link only balcap_algo; it records
// what the batch normalisation asks to reduce.
class RecordingCommunicator : public dist::Communicator {
 public:
  std::vector<std::vector<double>> reduced;
  std::int64_t rank() const override { return 0; }
  std::int64_t world_size() const override { return 1; }
  void all_reduce_sum(std::vector<double>& values) override { reduced.push_back(values); }
  void barrier() override {}
};

// Two ranks as two threads: all_reduce_sum really sums both ranks' vectors.
struct TwoRankWorld {
  std::barrier<> sync{2};
  std::mutex mutex;
  std::vector<double> sum;
};

class ThreadRankCommunicator : public dist::Communicator {
 public:
  ThreadRankCommunicator(TwoRankWorld& world, std::int64_t rank) : world_(world), rank_(rank) {}
  std::int64_t rank() const override { return rank_; }
  std::int64_t world_size() const override { return 2; }
  void all_reduce_sum(std::vector<double>& values) override {
    {
      std::lock_guard lock(world_.mutex);
      if (world_.sum.empty()) world_.sum.assign(values.size(), 0.0);
      for (std::size_t i = 0; i < values.size(); ++i) world_.sum[i] += values[i];
    }
    world_.sync.arrive_and_wait();
    values = world_.sum;
    world_.sync.arrive_and_wait();
    if (rank_ == 0) world_.sum.clear();
    world_.sync.arrive_and_wait();
  }
  void barrier() override { world_.sync.arrive_and_wait(); }

 private:
  TwoRankWorld& world_;
  std::int64_t rank_;
};

ObjectiveRewards objective(std::string name, std::vector<double> score, double weight = 1.0) {
  return ObjectiveRewards{std::move(name), weight, score, std::vector<bool>(score.size(), true)};
}

AdvantageOptions gdpo_unnormalized() { return AdvantageOptions{"gdpo", kEps, false}; }
AdvantageOptions grpo() { return AdvantageOptions{"grpo", kEps, false}; }

std::vector<double> run(const AdvantageInput& input, const AdvantageOptions& options) {
  RecordingCommunicator comm;
  return compute_advantages(input, options, comm);
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << "sample " << i;
}

// The GDPO paper's example: G = 2 rollouts, two binary rewards. The three groups have total
// rewards (0,1), (0,2) and (1,2): sample 0 scores (0,0),(0,0),(1,0); sample 1 (1,0),(1,1),(1,1).
AdvantageInput collapse_example() {
  return AdvantageInput{{objective("a", {0, 1, 0, 1, 1, 1}), objective("b", {0, 0, 0, 1, 0, 1})}, {}, {2, 2, 2}};
}

TEST(Advantage, GrpoCollapsesTheGdpoPapersThreeRewardCombinations) {
  // Totals {0,1}: std 1/sqrt2, A = -/+0.5/(1/sqrt2 + eps); {0,2}: std sqrt2, A = -/+1/(sqrt2 + eps).
  std::vector<double> a = run(collapse_example(), grpo());
  double u = 0.5 / (std::sqrt(0.5) + kEps), v = 1.0 / (std::sqrt(2.0) + kEps);
  expect_near(a, {-u, u, -v, v, -u, u});
  EXPECT_NEAR(a[1], a[3], 1e-6);  // the same advantage for (0,1) and (0,2): the collapse
  EXPECT_NEAR(a[3], a[5], 1e-6);
}

TEST(Advantage, GdpoSeparatesRewardCombinationsThatGrpoCollapses) {
  // Per objective: a 0/1 pair gives -/+u; an equal pair (zero spread) gives exactly 0.
  std::vector<double> a = run(collapse_example(), gdpo_unnormalized());
  double u = 0.5 / (std::sqrt(0.5) + kEps);
  expect_near(a, {-u, u, -2 * u, 2 * u, -u, u});
  EXPECT_GT(a[3] - a[1], 0.7);  // (0,2) is worth twice (0,1)
}

TEST(Advantage, GdpoBatchNormalisationUsesTheGlobalBatch) {
  // Before: u * {-1, 1, -2, 2, -1, 1}; mean 0, unbiased var u^2 * 12/5.
  RecordingCommunicator comm;
  std::vector<double> a = compute_advantages(collapse_example(), AdvantageOptions{}, comm);
  double u = 0.5 / (std::sqrt(0.5) + kEps);
  double s = u * std::sqrt(12.0 / 5.0) + kEps;
  expect_near(a, {-u / s, u / s, -2 * u / s, 2 * u / s, -u / s, u / s});
  ASSERT_EQ(comm.reduced.size(), 1u);  // one all-reduce of (count, sum, sum of squares)
  EXPECT_EQ(comm.reduced[0].size(), 3u);
  EXPECT_DOUBLE_EQ(comm.reduced[0][0], 6.0);
  EXPECT_NEAR(comm.reduced[0][1], 0.0, 1e-12);
  EXPECT_NEAR(comm.reduced[0][2], 12 * u * u, 1e-12);
}

TEST(Advantage, TwoRanksEachHoldingHalfTheGroupsEqualOneRankWithAll) {
  AdvantageInput all = collapse_example();
  RecordingCommunicator one;
  std::vector<double> expected = compute_advantages(all, AdvantageOptions{}, one);
  AdvantageInput first{{objective("a", {0, 1, 0, 1}), objective("b", {0, 0, 0, 1})}, {}, {2, 2}};
  AdvantageInput second{{objective("a", {1, 1}), objective("b", {0, 1})}, {}, {2}};
  TwoRankWorld world;
  std::vector<double> got0, got1;
  std::thread t1([&] {
    ThreadRankCommunicator comm(world, 1);
    got1 = compute_advantages(second, AdvantageOptions{}, comm);
  });
  ThreadRankCommunicator comm0(world, 0);
  got0 = compute_advantages(first, AdvantageOptions{}, comm0);
  t1.join();
  got0.insert(got0.end(), got1.begin(), got1.end());
  expect_near(got0, expected);
}

TEST(Advantage, ZeroSpreadObjectiveContributesExactlyZero) {
  // Objective b is 0.3 for the whole group: its mean in floating point need not be 0.3, but its
  // contribution must be exactly 0 (not rounding noise divided by eps).
  AdvantageInput input{{objective("a", {0.2, 0.6, 0.4}), objective("b", {0.3, 0.3, 0.3})}, {}, {3}};
  std::vector<double> a = run(input, gdpo_unnormalized());
  // a: mean 0.4, deviations -0.2, 0.2, 0; unbiased std = sqrt(0.08 / 2) = 0.2.
  expect_near(a, {-0.2 / (0.2 + kEps), 0.2 / (0.2 + kEps), 0.0});
  AdvantageInput flat{{objective("b", {0.3, 0.3, 0.3})}, {}, {3}};
  EXPECT_EQ(run(flat, gdpo_unnormalized()), (std::vector<double>{0.0, 0.0, 0.0}));
}

TEST(Advantage, SingleSampleGroupHasNoAdvantage) {
  AdvantageInput input{{objective("a", {0.9, 0.1, 0.5})}, {}, {1, 2}};
  double u = 0.2 / (std::sqrt(0.08) + kEps);  // group {0.1, 0.5}: deviations 0.2, std 0.4 / sqrt 2
  expect_near(run(input, gdpo_unnormalized()), {0.0, -u, u});
}

TEST(Advantage, InvalidScoresAreLeftOutOfTheGroupAndGetZero) {
  AdvantageInput input{{objective("a", {1.0, 0.0, 0.5})}, {}, {3}};
  input.objectives[0].valid[1] = false;
  // Included {1.0, 0.5}: mean 0.75, std 0.25 * sqrt 2.
  double u = 0.25 / (0.25 * std::sqrt(2.0) + kEps);
  expect_near(run(input, gdpo_unnormalized()), {u, 0.0, -u});
}

TEST(Advantage, GroupWithFewerThanTwoValidScoresContributesZero) {
  AdvantageInput input{{objective("a", {1.0, 0.0, 0.5}), objective("b", {0.0, 1.0, 1.0})}, {}, {3}};
  input.objectives[0].valid = {false, true, false};
  // Only b counts: {0, 1, 1}: mean 2/3, unbiased var (4/9 + 1/9 + 1/9) / 2 = 1/3.
  double s = std::sqrt(1.0 / 3.0) + kEps;
  expect_near(run(input, gdpo_unnormalized()), {(-2.0 / 3.0) / s, (1.0 / 3.0) / s, (1.0 / 3.0) / s});
}

TEST(Advantage, WeightsScaleEachNormalisedObjective) {
  AdvantageInput input{{objective("a", {0.0, 1.0}, 2.0), objective("b", {0.8, 0.2}, 0.5)}, {}, {2}};
  double u = 0.5 / (std::sqrt(0.5) + kEps), w = 0.3 / (0.6 / std::sqrt(2.0) + kEps);
  // A = 2 * (-u, u) + 0.5 * (w, -w).
  expect_near(run(input, gdpo_unnormalized()), {-2 * u + 0.5 * w, 2 * u - 0.5 * w});
  AdvantageInput zero_weight{{objective("a", {0.0, 1.0}, 0.0), objective("b", {0.8, 0.2}, 1.0)}, {}, {2}};
  expect_near(run(zero_weight, gdpo_unnormalized()), {w, -w});
}

TEST(Advantage, GrpoNormalisesTheWeightedSumOfRawScores) {
  AdvantageInput input{{objective("a", {0.0, 1.0}, 2.0), objective("b", {0.8, 0.2}, 0.5)}, {}, {2}};
  // Totals 0.4 and 2.1: deviations -/+0.85, std 1.7 / sqrt 2.
  double u = 0.85 / (1.7 / std::sqrt(2.0) + kEps);
  expect_near(run(input, grpo()), {-u, u});
}

TEST(Advantage, GrpoLeavesOutSamplesWithAnyInvalidObjective) {
  AdvantageInput input{{objective("a", {0.0, 1.0, 0.5}), objective("b", {0.0, 0.0, 0.0})}, {}, {3}};
  input.objectives[1].valid[2] = false;
  double u = 0.5 / (std::sqrt(0.5) + kEps);
  expect_near(run(input, grpo()), {-u, u, 0.0});
}

TEST(Advantage, GrpoIsNotBatchNormalised) {
  RecordingCommunicator comm;
  compute_advantages(collapse_example(), AdvantageOptions{"grpo", kEps, true}, comm);
  EXPECT_TRUE(comm.reduced.empty());
}

TEST(Advantage, ZeroMaskTurnsALengthMaskedScoreIntoANegativeAdvantage) {
  // linguistic {0.9, 0.8, 0.7}; samples 1 (rho 0.3) and 2 (rho 2.5) masked -> {0.9, 0, 0}:
  // mean 0.3, deviations 0.6, -0.3, -0.3, unbiased var 0.54 / 2 = 0.27.
  RecordingCommunicator comm;
  AdvantageResult r =
      advantages_from_rewards({objective("linguistic", {0.9, 0.8, 0.7})}, {{10, 10.0}, {3, 10.0}, {25, 10.0}}, {3},
                              config::LengthMaskConfig{}, gdpo_unnormalized(), comm);
  double s = std::sqrt(0.27) + kEps;
  expect_near(r.advantages, {0.6 / s, -0.3 / s, -0.3 / s});
  EXPECT_EQ(r.masked[0], (std::vector<bool>{false, true, true}));
  EXPECT_NEAR(r.stats.objectives[0].masked_fraction, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.stats.objectives[0].raw_mean, 0.8, 1e-12);  // raw scores, before the mask
  EXPECT_NEAR(r.stats.objectives[0].raw_std, 0.1, 1e-12);
}

TEST(Advantage, ExcludeMaskLeavesTheSampleOutOfThatObjectiveOnly) {
  config::LengthMaskConfig mask;
  mask.mask_mode = "exclude";
  RecordingCommunicator comm;
  // linguistic {0.9, 0.5, 0.7, 0.6}, sample 2 (rho 0.3) excluded: {0.9, 0.5, 0.6}, mean 2/3,
  // unbiased var (0.2333^2 + 0.1667^2 + 0.0667^2) / 2 = 0.13/3. correctness {0, 0, 1, 1} is kept
  // whole: mean 0.5, std 1/sqrt3 -> -/+ 0.5 / (1/sqrt3 + eps).
  AdvantageResult r = advantages_from_rewards(
      {objective("correctness", {0.0, 0.0, 1.0, 1.0}), objective("linguistic", {0.9, 0.5, 0.7, 0.6})},
      {{10, 10.0}, {12, 10.0}, {3, 10.0}, {10, 10.0}}, {4}, mask, gdpo_unnormalized(), comm);
  double s = std::sqrt(0.13 / 3.0) + kEps, c = 0.5 / (1.0 / std::sqrt(3.0) + kEps);
  expect_near(r.advantages, {-c + (0.9 - 2.0 / 3) / s, -c + (0.5 - 2.0 / 3) / s, c, c + (0.6 - 2.0 / 3) / s});
  EXPECT_EQ(r.masked[1], (std::vector<bool>{false, false, true, false}));
  EXPECT_EQ(r.masked[0], (std::vector<bool>{false, false, false, false}));
}

TEST(Advantage, StatsReportRawScoresAndFinalAdvantages) {
  RecordingCommunicator comm;
  AdvantageInput input = collapse_example();
  AdvantageResult r = advantages_from_rewards(input.objectives, std::vector<SampleLength>(6, {10, 10.0}), {2, 2, 2},
                                              config::LengthMaskConfig{.enabled = false}, AdvantageOptions{}, comm);
  ASSERT_EQ(r.stats.objectives.size(), 2u);
  EXPECT_EQ(r.stats.objectives[0].name, "a");
  EXPECT_NEAR(r.stats.objectives[0].raw_mean, 4.0 / 6.0, 1e-12);
  EXPECT_NEAR(r.stats.objectives[0].raw_std, std::sqrt((4 * (1.0 / 9) + 2 * (4.0 / 9)) / 5), 1e-12);
  EXPECT_NEAR(r.stats.objectives[1].valid_fraction, 1.0, 1e-12);
  EXPECT_EQ(r.stats.samples, 6);
  EXPECT_NEAR(r.stats.mean, 0.0, 1e-12);
  EXPECT_NEAR(r.stats.std, 1.0, 1e-5);  // batch-normalised (eps keeps it just below 1)
  EXPECT_NEAR(r.stats.max, -r.stats.min, 1e-12);
}

TEST(Advantage, GroupSizesThatDoNotCoverTheSamplesAreAnError) {
  AdvantageInput input{{objective("a", {0.0, 1.0, 0.5})}, {}, {2}};
  EXPECT_THROW(run(input, gdpo_unnormalized()), Error);
  AdvantageInput unknown{{objective("a", {0.0, 1.0})}, {}, {2}};
  EXPECT_THROW(run(unknown, AdvantageOptions{"ppo", kEps, false}), Error);
}

}  // namespace
}  // namespace balcap::algo
