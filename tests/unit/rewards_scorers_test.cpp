// The judge-backed scorers' arithmetic, with a Judge that answers from tables (the real judges
// are tested in rewards_local_judge / rewards_remote_judge tests). Prompts are short custom
// templates so the table can read the request.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "rewards/b_capscore.h"
#include "rewards/claim_precision.h"
#include "rewards/claim_recall.h"
#include "rewards/judge_rating.h"
#include "rewards/qa_accuracy.h"
#include "rewards_table_judge.h"

namespace balcap::rewards {
namespace {

using test::TableJudge;

ScorerSettings test_settings() {
  ScorerSettings s;
  s.prompts.system = "sys";
  s.prompts.claim_split = "split: {caption}";
  s.prompts.verify_image = "image claim: {claim}";
  s.prompts.pointable = "pointable claim: {claim}";
  s.prompts.verify_reference = "ref: {reference} | claim: {claim}";
  s.prompts.verify_both = "both: {reference} | claim: {claim}";
  s.prompts.claim_support = "cap: {caption} | claim: {claim}";
  s.prompts.qa = "cap: {caption} | q: {question}\n{options}";
  s.prompts.qa_cannot_answer = "Not stated.";
  s.prompts.rating = "{aspect}: {caption}";
  return s;
}

// The text after the last "claim: " of a request.
std::string claim_of(const JudgeRequest& r) { return r.user.substr(r.user.rfind("claim: ") + 7); }

data::Record record(std::string id, std::vector<std::string> references, std::vector<std::string> claims = {}) {
  data::Record r;
  r.id = std::move(id);
  r.image = "images/" + r.id + ".png";
  r.references = std::move(references);
  r.claims = std::move(claims);
  return r;
}

std::shared_ptr<TableJudge> claim_judge() {
  auto judge = std::make_shared<TableJudge>();
  judge->generate_answer = [](const JudgeRequest& r) -> std::string {
    if (r.user == "split: A red car. A dog.") return "- a red car\n- a dog\n";
    if (r.user == "split: Three cats on a sofa.") return "1. three cats\n2) a sofa\n\n3. the cats sleep";
    if (r.user == "split: A dog runs. A ball.") return "a dog runs\na ball";
    return "";
  };
  judge->choice_answer = [](const JudgeRequest& r, const std::vector<std::string>&) {
    std::string claim = claim_of(r);
    if (claim == "the cats sleep") return test::hedge_row();
    if (claim == "a dog" || claim == "a tree" || claim == "a ball") {
      return r.user.find("cap: A dog with a ball") == 0 ? test::yes_row() : test::no_row();
    }
    return test::yes_row();
  };
  return judge;
}

std::vector<ScoredCaption> captions_of(const std::vector<std::pair<const data::Record*, std::string>>& items) {
  std::vector<ScoredCaption> out;
  for (const auto& [r, text] : items) out.push_back({r, text, 10});
  return out;
}

TEST(ClaimPrecision, ScoreIsTheShareOfClaimsTheJudgeVerifies) {
  auto judge = claim_judge();
  ClaimPrecision scorer("correctness", judge, "reference", test_settings());
  data::Record a = record("a", {"First reference.", "Second reference."}), none = record("n", {});
  auto s = scorer.score(captions_of(
      {{&a, "A red car. A dog."}, {&a, "Nothing."}, {&none, "A red car. A dog."}, {&a, "Three cats on a sofa."}}));
  // "a red car" yes, "a dog" no -> 1/2; no claim -> 0; no reference -> invalid; yes, yes, hedge (no) -> 2/3.
  EXPECT_EQ(s.valid, (std::vector<bool>{true, true, false, true}));
  EXPECT_DOUBLE_EQ(s.score[0], 0.5);
  EXPECT_DOUBLE_EQ(s.score[1], 0.0);
  EXPECT_DOUBLE_EQ(s.score[3], 2.0 / 3.0);
  EXPECT_EQ(judge->generate_calls, 1);  // one batched split call and one batched verify call
  EXPECT_EQ(judge->choice_calls, 1);
  ASSERT_EQ(judge->choice_requests.size(), 5u);
  EXPECT_EQ(judge->choice_requests[0].user, "ref: First reference.\nSecond reference. | claim: a red car");
  EXPECT_EQ(judge->choice_requests[0].system, "sys");
  EXPECT_FALSE(judge->choice_requests[0].image_path.has_value());
}

TEST(ClaimPrecision, ImageEvidenceSendsTheRecordsImageToAVisionJudge) {
  auto judge = claim_judge();
  judge->images = true;
  ClaimPrecision scorer("correctness", judge, "image", test_settings());
  data::Record none = record("n", {});  // no reference needed to look at the image
  auto s = scorer.score(captions_of({{&none, "A red car. A dog."}}));
  EXPECT_EQ(s.valid, (std::vector<bool>{true}));
  EXPECT_DOUBLE_EQ(s.score[0], 0.5);
  ASSERT_EQ(judge->choice_requests.size(), 2u);
  EXPECT_EQ(judge->choice_requests[0].user, "image claim: a red car");
  EXPECT_EQ(judge->choice_requests[0].image_path.value(), "images/n.png");
}

// BalCapRL's precision: an assertion counts only when it is true of the image AND pointable.
TEST(ClaimPrecision, WithPointabilityAnAssertionCountsOnlyWhenTrueAndPointable) {
  auto judge = std::make_shared<TableJudge>();
  judge->images = true;
  judge->generate_answer = [](const JudgeRequest&) -> std::string {
    return "a red car\nthe mood is calm\na blue dog\nthe scene feels like a memory";
  };
  // True of the image: the car and the two commentaries (a verifier cannot refute them); pointable:
  // the car and the dog (the dog is not there).
  judge->choice_answer = [](const JudgeRequest& r, const std::vector<std::string>&) {
    const std::string claim = claim_of(r);
    const bool pointable_question = r.user.rfind("pointable", 0) == 0;
    if (claim == "a red car") return test::yes_row();
    if (claim == "a blue dog") return pointable_question ? test::yes_row() : test::no_row();
    return pointable_question ? test::no_row() : test::yes_row();
  };
  data::Record r = record("a", {});
  ScorerSettings with = test_settings(), without = test_settings();
  with.pointability = true;
  ClaimPrecision paper("correctness", judge, "image", with), ablation("correctness", judge, "image", without);
  const auto captions = captions_of({{&r, "A red car. The mood is calm. A blue dog. It feels like a memory."}});
  EXPECT_DOUBLE_EQ(paper.score(captions).score[0], 1.0 / 4.0);  // only the red car passes both tests
  ASSERT_EQ(judge->choice_requests.size(), 8u);                 // two questions per assertion
  EXPECT_EQ(judge->choice_requests[1].user, "pointable claim: a red car");
  EXPECT_EQ(judge->choice_requests[1].image_path.value(), "images/a.png");
  EXPECT_EQ(judge->choice_requests[1].question, "pointable");
  EXPECT_EQ(judge->choice_requests[1].assertion, "a red car");
  EXPECT_DOUBLE_EQ(ablation.score(captions).score[0], 3.0 / 4.0);  // without it the commentary passes
}

TEST(ClaimPrecision, PointabilityIsOnForImageEvidenceUnlessTheConfigSaysOtherwise) {
  EXPECT_TRUE(pointability_on("auto", "image"));
  EXPECT_TRUE(pointability_on("auto", "both"));
  EXPECT_FALSE(pointability_on("auto", "reference"));
  EXPECT_FALSE(pointability_on("false", "image"));
  EXPECT_TRUE(pointability_on("true", "reference"));
}

TEST(ClaimPrecision, ImageEvidenceWithATextOnlyJudgeIsAConfigError) {
  EXPECT_THROW(ClaimPrecision("correctness", claim_judge(), "image", test_settings()), Error);
  EXPECT_THROW(ClaimPrecision("correctness", claim_judge(), "both", test_settings()), Error);
}

TEST(ClaimPrecision, FailingJudgeStopsTheStepUnlessTheConfigSaysInvalid) {
  auto judge = claim_judge();
  judge->failing = true;
  data::Record a = record("a", {"ref"});
  auto captions = captions_of({{&a, "A red car. A dog."}, {&a, "x"}});
  ClaimPrecision strict("correctness", judge, "reference", test_settings());
  EXPECT_THROW(strict.score(captions), JudgeError);
  ScorerSettings lenient_settings = test_settings();
  lenient_settings.invalid_on_failure = true;
  ClaimPrecision lenient("correctness", judge, "reference", lenient_settings);
  auto s = lenient.score(captions);
  EXPECT_EQ(s.valid, (std::vector<bool>{false, false}));
}

TEST(ClaimRecall, ScoreIsTheShareOfReferenceClaimsTheCaptionSupports) {
  auto judge = claim_judge();
  ClaimRecall scorer("coverage", judge, test_settings());
  data::Record with_claims = record("a", {"unused"}, {"a red car", "a tree"});
  data::Record split = record("b", {"A dog runs. A ball."});
  data::Record empty = record("e", {});
  auto s = scorer.score(
      captions_of({{&with_claims, "A red car"}, {&split, "A dog"}, {&split, "A dog with a ball"}, {&empty, "A dog"}}));
  // a: "a red car" yes, "a tree" no -> 1/2. b's references split into "a dog runs", "a ball":
  // "A dog" supports the first only -> 1/2; "A dog with a ball" both -> 1. No claims, no references -> invalid.
  EXPECT_EQ(s.valid, (std::vector<bool>{true, true, true, false}));
  EXPECT_DOUBLE_EQ(s.score[0], 0.5);
  EXPECT_DOUBLE_EQ(s.score[1], 0.5);
  EXPECT_DOUBLE_EQ(s.score[2], 1.0);
  ASSERT_EQ(judge->generate_requests.size(), 1u);  // only b needed the judge's split, once
  EXPECT_EQ(judge->generate_requests[0].user, "split: A dog runs. A ball.");
  EXPECT_EQ(judge->choice_requests[0].user, "cap: A red car | claim: a red car");
}

TEST(ClaimRecall, ReferenceClaimsAreSplitOncePerRecordForTheRun) {
  auto judge = claim_judge();
  ClaimRecall scorer("coverage", judge, test_settings());
  data::Record split = record("b", {"A dog runs. A ball."});
  scorer.score(captions_of({{&split, "A dog"}}));
  scorer.score(captions_of({{&split, "A dog with a ball"}, {&split, "x"}}));
  EXPECT_EQ(judge->generate_calls, 1);
  EXPECT_EQ(scorer.cached_records(), 1u);
}

TEST(QaAccuracy, ShuffleIsSeededByRecordIdAndQuestionIndex) {
  // Expected orders computed by an independent python transcription of the documented recipe
  // (FNV-1a-64 of the id XOR golden-ratio * (index + 1), splitmix64, Fisher-Yates from the end).
  EXPECT_EQ(shuffled_choice_order("img-1", 0, 4), (std::vector<std::size_t>{2, 3, 1, 0}));
  EXPECT_EQ(shuffled_choice_order("img-1", 1, 4), (std::vector<std::size_t>{1, 2, 3, 0}));
  EXPECT_EQ(shuffled_choice_order("scene_007", 2, 5), (std::vector<std::size_t>{0, 2, 4, 1, 3}));
  EXPECT_EQ(shuffled_choice_order("", 0, 3), (std::vector<std::size_t>{0, 2, 1}));
}

TEST(QaAccuracy, ScoreIsTheShareOfQuestionsAnsweredCorrectlyFromTheCaption) {
  auto judge = std::make_shared<TableJudge>();
  // The "judge" picks the option whose text appears in the caption, else the cannot-answer option.
  judge->choice_answer = [](const JudgeRequest& r, const std::vector<std::string>& letters) {
    std::string caption = r.user.substr(5, r.user.find(" | q:") - 5);
    std::vector<double> row(letters.size(), std::log(0.01));
    std::size_t line_start = r.user.find('\n') + 1, pick = std::string::npos, last = 0;
    for (std::size_t p = 0; line_start != 0 && line_start < r.user.size(); ++p) {
      std::size_t end = r.user.find('\n', line_start);
      std::string option =
          r.user.substr(line_start + 3, end == std::string::npos ? std::string::npos : end - line_start - 3);
      if (pick == std::string::npos && caption.find(option) != std::string::npos) pick = p;
      last = p;
      line_start = end == std::string::npos ? 0 : end + 1;
    }
    row[pick == std::string::npos ? last : pick] = std::log(0.9);
    return row;
  };
  ScorerSettings settings = test_settings();
  QaAccuracy scorer("correctness", judge, settings);
  data::Record r = record("img-1", {"ref"});
  r.qa = {{"Car color?", {"red", "blue", "green", "white"}, 0}, {"Animal?", {"dog", "cat", "horse", "cow"}, 2}};
  data::Record no_qa = record("x", {"ref"});
  auto s = scorer.score(captions_of({{&r, "a red car and a horse"}, {&r, "a blue car"}, {&r, "a car"}, {&no_qa, "a"}}));
  EXPECT_EQ(s.valid, (std::vector<bool>{true, true, true, false}));
  EXPECT_DOUBLE_EQ(s.score[0], 1.0);  // red, horse
  EXPECT_DOUBLE_EQ(s.score[1], 0.0);  // blue (wrong), cannot answer
  EXPECT_DOUBLE_EQ(s.score[2], 0.0);  // cannot answer twice
  // Question 0 of img-1 shows choices in order {2, 3, 1, 0}: green, white, blue, red, then the added option.
  ASSERT_GE(judge->choice_requests.size(), 1u);
  EXPECT_EQ(judge->choice_requests[0].user,
            "cap: a red car and a horse | q: Car color?\nA. green\nB. white\nC. blue\nD. red\nE. Not stated.");
}

TEST(QaAccuracy, QuestionWithAnAnswerOutsideItsChoicesIsAnError) {
  auto judge = std::make_shared<TableJudge>();
  QaAccuracy scorer("correctness", judge, test_settings());
  data::Record r = record("img-1", {"ref"});
  r.qa = {{"Car color?", {"red", "blue"}, 2}};
  EXPECT_THROW(scorer.score(captions_of({{&r, "a red car"}})), Error);
}

// A row over "1".."10" with the given probabilities (others impossible).
std::vector<double> rating_row(std::vector<std::pair<int, double>> probabilities) {
  std::vector<double> row(10, -INFINITY);
  for (auto [rating, p] : probabilities) row[rating - 1] = std::log(p);
  return row;
}

TEST(JudgeRating, ExpectedRatingSubtractsTheMassOfTenFromOne) {
  // P("1") = 0.5 includes P("10") = 0.2: ratings 1 -> 0.3, 5 -> 0.3, 10 -> 0.2; E = 3.8 / 0.8.
  EXPECT_NEAR(expected_rating(rating_row({{1, 0.5}, {5, 0.3}, {10, 0.2}})), 4.75, 1e-12);
  // P("10") > P("1"): "10" is its own token, the two are disjoint: E = 0.1 + 2.7 + 6.
  EXPECT_NEAR(expected_rating(rating_row({{1, 0.1}, {9, 0.3}, {10, 0.6}})), 8.8, 1e-12);
  EXPECT_NEAR(expected_rating(rating_row({{7, 1.0}})), 7.0, 1e-12);
  EXPECT_THROW(expected_rating(std::vector<double>(10, -INFINITY)), JudgeError);
}

TEST(JudgeRating, ScoreAveragesTheThreeAspectsAndAppliesTheRepetitionGuard) {
  auto judge = std::make_shared<TableJudge>();
  judge->choice_answer = [](const JudgeRequest& r, const std::vector<std::string>& choices) {
    EXPECT_EQ(choices.size(), 10u);
    if (r.user.rfind("fluency: A red car", 0) == 0) return rating_row({{1, 0.5}, {5, 0.3}, {10, 0.2}});
    if (r.user.rfind("clarity: A red car", 0) == 0) return rating_row({{1, 0.1}, {9, 0.3}, {10, 0.6}});
    return rating_row({{7, 1.0}});
  };
  JudgeRating scorer("linguistic", judge, test_settings(), config::RepetitionGuardConfig{.enabled = true, .ngram = 3});
  data::Record r = record("a", {"ref"});
  auto s = scorer.score(captions_of({{&r, "A red car parked on a street."}, {&r, "a dog a dog a dog a dog"}}));
  EXPECT_EQ(s.valid, (std::vector<bool>{true, true}));
  // (4.75 + 8.8 + 7) / 3 = 6.85 -> (6.85 - 1) / 9 = 0.65, no repeated trigram.
  EXPECT_NEAR(s.score[0], 0.65, 1e-12);
  // 7 -> 6/9, times distinct trigrams / trigrams = 2 / 6.
  EXPECT_NEAR(s.score[1], 6.0 / 9.0 / 3.0, 1e-12);
  ASSERT_EQ(judge->choice_requests.size(), 6u);
  EXPECT_EQ(judge->choice_requests[1].user, "clarity: A red car parked on a street.");
}

TEST(JudgeRating, FailingJudgeMarksScoresInvalidOnlyWhenConfigured) {
  auto judge = std::make_shared<TableJudge>();
  judge->failing = true;
  data::Record r = record("a", {"ref"});
  JudgeRating strict("linguistic", judge, test_settings(), config::RepetitionGuardConfig{});
  EXPECT_THROW(strict.score(captions_of({{&r, "x"}})), JudgeError);
  ScorerSettings lenient = test_settings();
  lenient.invalid_on_failure = true;
  JudgeRating scorer("linguistic", judge, lenient, config::RepetitionGuardConfig{});
  EXPECT_EQ(scorer.score(captions_of({{&r, "x"}})).valid, (std::vector<bool>{false}));
}

// b-CapScore = 3 / (1/p + 1/r + 1/l), worked out by hand.
TEST(BCapScore, IsTheHarmonicMeanOfTheThreeObjectives) {
  EXPECT_DOUBLE_EQ(b_capscore(1.0, 1.0, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(b_capscore(0.5, 0.5, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(b_capscore(1.0, 0.5, 0.25), 3.0 / 7.0);  // 3 / (1 + 2 + 4); the arithmetic mean is 0.583
  EXPECT_DOUBLE_EQ(b_capscore(0.8, 0.4, 0.5), 3.0 / (1.25 + 2.5 + 2.0));
}

TEST(BCapScore, IsZeroWhenAnyObjectiveIsZero) {
  EXPECT_EQ(b_capscore(0.0, 1.0, 1.0), 0.0);
  EXPECT_EQ(b_capscore(0.9, 0.0, 0.9), 0.0);
  EXPECT_EQ(b_capscore(0.9, 0.9, 0.0), 0.0);
}

TEST(BCapScore, RolesAreFoundByScorerAndMissingOnesGiveNone) {
  config::RewardsConfig rewards;  // correctness, coverage, linguistic
  const auto roles = b_capscore_roles(rewards);
  ASSERT_TRUE(roles.has_value());
  EXPECT_EQ(roles->precision, "correctness");
  EXPECT_EQ(roles->recall, "coverage");
  EXPECT_EQ(roles->linguistic, "linguistic");
  rewards.objectives.erase("coverage");  // the leave-one-out ablation without coverage
  EXPECT_FALSE(b_capscore_roles(rewards).has_value());
}

}  // namespace
}  // namespace balcap::rewards
