// The resumable record order: permutations against the independent Python implementation of
// docs/data.md (tests/reference/ref_data.py), the stream across epochs, batch-size independence
// and the cursor's save/restore.
#include "data/data_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>

#include "core/error.h"
#include "support/test_support.h"

namespace balcap::data {
namespace {

TEST(DataOrder, SplitMix64MatchesThePublishedReferenceOutputs) {
  // Outputs of the reference splitmix64.c (Vigna) started at 1234567.
  SplitMix64 rng(1234567);
  for (std::uint64_t expected : {6457827717110365317ull, 3203168211198807973ull, 9817491932198370423ull,
                                 4593380528125082431ull, 16408922859458223821ull}) {
    EXPECT_EQ(rng.next(), expected);
  }
}

TEST(DataOrder, EpochPermutationsMatchThePythonReferenceOfTheDocumentedAlgorithm) {
  auto json = nlohmann::json::parse(test::read_file(test::reference_path("data", "permutations.json")));
  ASSERT_FALSE(json["cases"].empty());
  for (const auto& c : json["cases"]) {
    auto seed = std::stoull(c["seed"].get<std::string>());
    auto expected = c["permutation"].get<std::vector<std::int64_t>>();
    EXPECT_EQ(epoch_permutation(c["n"], seed, c["epoch"]), expected) << c["n"] << " " << seed << " " << c["epoch"];
  }
}

TEST(DataOrder, EachEpochIsAPermutationAndEpochsDiffer) {
  auto a = epoch_permutation(50, 7, 0), b = epoch_permutation(50, 7, 1);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> iota(50);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(sorted, iota);
  EXPECT_NE(a, b);
  EXPECT_NE(a, epoch_permutation(50, 8, 0));
}

TEST(DataOrder, NextCrossesTheEpochBoundaryIntoTheNextPermutation) {
  DataOrder order(5, 3);
  auto e0 = epoch_permutation(5, 3, 0), e1 = epoch_permutation(5, 3, 1);
  EXPECT_EQ(order.next(3), (std::vector<std::int64_t>{e0[0], e0[1], e0[2]}));
  EXPECT_EQ(order.next(4), (std::vector<std::int64_t>{e0[3], e0[4], e1[0], e1[1]}));
  EXPECT_EQ(order.cursor(), (DataCursor{1, 2}));
  EXPECT_EQ(order.consumed(), 7);
  // More than a whole epoch in one call.
  auto big = order.next(9);
  auto e2 = epoch_permutation(5, 3, 2), e3 = epoch_permutation(5, 3, 3);
  EXPECT_EQ(big, (std::vector<std::int64_t>{e1[2], e1[3], e1[4], e2[0], e2[1], e2[2], e2[3], e2[4], e3[0]}));
  EXPECT_EQ(order.cursor(), (DataCursor{3, 1}));
}

TEST(DataOrder, TheStreamDoesNotDependOnTheBatchSize) {
  DataOrder by_one(13, 99), by_four(13, 99), mixed(13, 99);
  std::vector<std::int64_t> a, b, c;
  for (int i = 0; i < 40; ++i) a.push_back(by_one.next(1)[0]);
  for (int i = 0; i < 10; ++i) {
    auto v = by_four.next(4);
    b.insert(b.end(), v.begin(), v.end());
  }
  for (int n : {3, 7, 1, 13, 16}) {
    auto v = mixed.next(n);
    c.insert(c.end(), v.begin(), v.end());
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
}

TEST(DataOrder, RestoredCursorContinuesExactlyWhereTheSavedOrderWouldHave) {
  DataOrder original(11, 5);
  original.next(8);
  auto state = original.state();
  auto reparsed = nlohmann::json::parse(state.dump());  // through text, as trainer_state.json
  DataOrder resumed(11, 5);
  resumed.restore(reparsed);
  EXPECT_EQ(resumed.cursor(), original.cursor());
  // Resume with another batch size: same records next.
  auto expected = original.next(12);
  std::vector<std::int64_t> got;
  for (int n : {5, 5, 2}) {
    auto v = resumed.next(n);
    got.insert(got.end(), v.begin(), v.end());
  }
  EXPECT_EQ(got, expected);
}

TEST(DataOrder, SameSeedSameOrderAndShuffleOffIsTheFileOrder) {
  EXPECT_EQ(DataOrder(20, 1).next(45), DataOrder(20, 1).next(45));
  EXPECT_NE(DataOrder(20, 1).next(20), DataOrder(20, 2).next(20));
  DataOrder plain(4, 1, false);
  EXPECT_EQ(plain.next(6), (std::vector<std::int64_t>{0, 1, 2, 3, 0, 1}));
}

TEST(DataOrder, FullSixtyFourBitSeedSurvivesTheStateRoundTrip) {
  std::uint64_t seed = 0xFEDCBA9876543210ull;
  DataOrder a(9, seed);
  a.next(4);
  DataOrder b(9, 0);
  b.restore(nlohmann::json::parse(a.state().dump()));
  EXPECT_EQ(b.seed(), seed);
  EXPECT_EQ(b.next(20), a.next(20));
}

TEST(DataOrder, RestoringIntoADatasetOfAnotherSizeIsAnErrorWithAHint) {
  DataOrder a(10, 1);
  DataOrder b(12, 1);
  try {
    b.restore(a.state());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("10 records"), std::string::npos) << m;
    EXPECT_NE(m.find("12"), std::string::npos) << m;
    EXPECT_NE(m.find("HINT"), std::string::npos) << m;
  }
  EXPECT_THROW(b.restore(nlohmann::json{{"version", 1}}), Error);
  auto bad = DataOrder(12, 1).state();
  bad["position"] = 12;
  EXPECT_THROW(b.restore(bad), Error);
  EXPECT_THROW(DataOrder(0, 1), Error);
}

// Found by fuzzing the trainer state: a float where the cursor holds an integer (1e200 does not
// convert: undefined behaviour) is refused, naming the key.
TEST(DataOrder, ACursorWithAFloatWhereAnIntegerBelongsIsAnErrorNamingTheKey) {
  DataOrder b(12, 1);
  for (const char* key : {"epoch", "position", "num_records", "version"}) {
    auto bad = DataOrder(12, 1).state();
    bad[key] = 1e200;
    try {
      b.restore(bad);
      ADD_FAILURE() << key << ": expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + key + "' = 1e+200 is not an integer"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace balcap::data
