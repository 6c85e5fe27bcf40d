// Advantages and length masks on 300 random cases against tests/reference/ref_algo.py (torch,
// unbiased torch.std): random group sizes, weights, ties, invalid scores, both mask modes,
// records without references, GDPO with and without batch normalisation, GRPO.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "algo/advantage.h"
#include "support/test_support.h"

namespace balcap::algo {
namespace {

class SingleRank : public dist::Communicator {
 public:
  std::int64_t rank() const override { return 0; }
  std::int64_t world_size() const override { return 1; }
  void all_reduce_sum(std::vector<double>&) override {}
  void barrier() override {}
};

config::LengthMaskConfig mask_of(const nlohmann::json& j) {
  config::LengthMaskConfig m;
  m.enabled = j.at("enabled").get<bool>();
  m.objectives = j.at("objectives").get<std::vector<std::string>>();
  m.min_ratio = j.at("min_ratio").get<double>();
  m.max_ratio = j.at("max_ratio").get<double>();
  m.mask_mode = j.at("mask_mode").get<std::string>();
  m.masked_value = j.at("masked_value").get<double>();
  m.min_tokens = j.at("min_tokens").get<std::int64_t>();
  m.max_tokens = j.at("max_tokens").get<std::int64_t>();
  return m;
}

TEST(AdvantageReference, RandomCasesMatchTheTorchReference) {
  std::ifstream in(test::reference_path("algo", "advantage_cases.json"));
  nlohmann::json cases = nlohmann::json::parse(in);
  ASSERT_GE(cases.size(), 300u);
  int masked_cases = 0, zero_spread_seen = 0;
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const nlohmann::json& j = cases[c];
    std::vector<ObjectiveRewards> rewards;
    for (const auto& o : j.at("objectives")) {
      rewards.push_back({o.at("name").get<std::string>(), o.at("weight").get<double>(),
                         o.at("score").get<std::vector<double>>(), o.at("valid").get<std::vector<bool>>()});
    }
    std::vector<SampleLength> lengths;
    for (const auto& l : j.at("lengths")) lengths.push_back({l[0].get<std::int64_t>(), l[1].get<double>()});
    AdvantageOptions options{j.at("mode").get<std::string>(), j.at("eps").get<double>(),
                             j.at("batch_normalize").get<bool>()};
    SingleRank comm;
    AdvantageResult r = advantages_from_rewards(rewards, lengths, j.at("group_sizes").get<std::vector<std::int64_t>>(),
                                                mask_of(j.at("mask")), options, comm);
    auto expected = j.at("expected_advantages").get<std::vector<double>>();
    ASSERT_EQ(r.advantages.size(), expected.size()) << "case " << c;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_NEAR(r.advantages[i], expected[i], 1e-9 * (1 + std::abs(expected[i]))) << "case " << c << " sample " << i;
      zero_spread_seen += expected[i] == 0.0;
    }
    for (std::size_t k = 0; k < rewards.size(); ++k) {
      auto want = j.at("expected_masked").at(rewards[k].name).get<std::vector<bool>>();
      EXPECT_EQ(r.masked[k], want) << "case " << c << " objective " << rewards[k].name;
      masked_cases += std::count(want.begin(), want.end(), true) > 0;
    }
  }
  // The random cases must exercise the mask and the exact-zero rules, or this test proves little.
  EXPECT_GT(masked_cases, 50);
  EXPECT_GT(zero_spread_seen, 50);
}

}  // namespace
}  // namespace balcap::algo
