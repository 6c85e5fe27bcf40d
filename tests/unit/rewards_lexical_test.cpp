// The lexical judge and the repetition guard on hand-made examples.
#include <gtest/gtest.h>

#include "core/error.h"
#include "rewards/lexical_objectives.h"
#include "rewards/lexical_text.h"
#include "rewards/repetition_guard.h"

namespace balcap::rewards {
namespace {

data::Record record(std::vector<std::string> references, std::vector<std::string> claims = {}) {
  data::Record r;
  r.id = "r";
  r.references = std::move(references);
  r.claims = std::move(claims);
  return r;
}

TEST(LexicalText, WordsAreLowercasedRunsOfLettersAndDigits) {
  EXPECT_EQ(lexical_words("A red-car, 2 Dogs!"), (std::vector<std::string>{"a", "red", "car", "2", "dogs"}));
  EXPECT_EQ(lexical_words("  "), std::vector<std::string>{});
  EXPECT_EQ(lexical_words("Café au lait"), (std::vector<std::string>{"caf\xC3\xA9", "au", "lait"}));
}

TEST(LexicalText, SentencesSplitAtPunctuationAndNewlines) {
  EXPECT_EQ(lexical_sentences("Two dogs. A cat!\nA bird; ok?"),
            (std::vector<std::string>{"Two dogs", " A cat", "A bird", " ok"}));
  EXPECT_EQ(lexical_sentences("..."), std::vector<std::string>{});
}

TEST(LexicalText, PluralsAreStemmedAndShortOrSibilantWordsKept) {
  EXPECT_EQ(lexical_stem("puppies"), "puppy");
  EXPECT_EQ(lexical_stem("boxes"), "box");
  EXPECT_EQ(lexical_stem("benches"), "bench");
  EXPECT_EQ(lexical_stem("glasses"), "glass");
  EXPECT_EQ(lexical_stem("dogs"), "dog");
  EXPECT_EQ(lexical_stem("bus"), "bus");
  EXPECT_EQ(lexical_stem("grass"), "grass");
  EXPECT_EQ(lexical_stem("tennis"), "tennis");
  EXPECT_EQ(lexical_stem("cup"), "cup");
}

TEST(LexicalText, ContentWordsDropStopWords) {
  EXPECT_EQ(content_words("The two dogs are playing with boxes and puppies."),
            (std::set<std::string>{"two", "dog", "playing", "box", "puppy"}));
  EXPECT_TRUE(content_words("It is in the image.").empty());
}

TEST(LexicalText, DistinctNgramRatioCountsRepeats) {
  std::vector<std::string> w = {"a", "b", "c", "a", "b", "c"};
  EXPECT_DOUBLE_EQ(distinct_ngram_ratio(w, 1), 0.5);        // 3 distinct of 6
  EXPECT_DOUBLE_EQ(distinct_ngram_ratio(w, 3), 3.0 / 4.0);  // abc bca cab abc
  EXPECT_DOUBLE_EQ(distinct_ngram_ratio({"a", "b"}, 3), 1.0);
}

TEST(RepetitionGuard, RepeatedNgramsLowerTheFactor) {
  EXPECT_DOUBLE_EQ(repetition_factor("The cat sat on the mat.", 3), 1.0);
  EXPECT_DOUBLE_EQ(repetition_factor("A dog, a dog, a dog, a dog.", 3), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(repetition_factor("red red blue", 1), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(repetition_factor("", 3), 1.0);
  config::RepetitionGuardConfig off;
  off.enabled = false;
  EXPECT_DOUBLE_EQ(repetition_factor("A dog, a dog, a dog, a dog.", off), 1.0);
  EXPECT_DOUBLE_EQ(repetition_factor("A dog, a dog, a dog, a dog.", config::RepetitionGuardConfig{.enabled = true, .ngram = 3}), 2.0 / 6.0);
}

TEST(LexicalObjectives, PrecisionIsTheMeanShareOfEachCaptionSentenceFoundInTheReferences) {
  data::Record r = record({"A brown dog runs on the grass."});
  // {brown, dog, run}: 3/3; {red, ball, grass}: 1/3 -> mean 2/3.
  EXPECT_DOUBLE_EQ(lexical_precision("A brown dog runs. A red ball is on the grass.", r), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(lexical_precision("It is.", r), 0.0);    // no claim
  EXPECT_LT(lexical_precision("A dog.", record({})), 0.0);  // nothing to compare with
  // The record's claims count as evidence too.
  EXPECT_DOUBLE_EQ(lexical_precision("A red ball.", record({"A dog."}, {"a red ball"})), 1.0);
}

TEST(LexicalObjectives, RecallIsTheMeanShareOfEachReferenceClaimFoundInTheCaption) {
  // Reference sentences {brown, dog, run, grass} and {sky, blue}; caption {dog, grass}.
  EXPECT_DOUBLE_EQ(lexical_recall("A dog on grass.", record({"A brown dog runs on the grass. The sky is blue."})),
                   0.25);
  // The record's claims replace the reference sentences: {dog} 1, {red, ball} 0.
  EXPECT_DOUBLE_EQ(lexical_recall("A dog on grass.", record({"ignored text"}, {"a dog", "a red ball"})), 0.5);
  EXPECT_LT(lexical_recall("A dog.", record({})), 0.0);
}

TEST(LexicalObjectives, LinguisticScoreAveragesDistinctOneTwoAndThree) {
  EXPECT_DOUBLE_EQ(lexical_linguistic("A brown dog runs on the grass."), 1.0);
  // content {dog x3}: 1/3; bigrams 2 of 5; trigrams 2 of 4.
  EXPECT_NEAR(lexical_linguistic("a dog a dog a dog"), (1.0 / 3 + 0.4 + 0.5) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(lexical_linguistic(""), 0.0);
}

TEST(LexicalObjectives, ObjectiveMarksRecordsWithoutEvidenceInvalid) {
  auto objective = make_lexical_objective("coverage", "claim_recall");
  EXPECT_EQ(objective->name(), "coverage");
  data::Record with = record({"A dog."}), without = record({});
  auto s = objective->score({{&with, "A dog.", 2}, {&without, "A dog.", 2}});
  EXPECT_EQ(s.valid, (std::vector<bool>{true, false}));
  EXPECT_DOUBLE_EQ(s.score[0], 1.0);
  EXPECT_DOUBLE_EQ(s.score[1], 0.0);
}

TEST(LexicalObjectives, QaAccuracyOnTheLexicalJudgeIsAClearError) {
  try {
    make_lexical_objective("correctness", "qa_accuracy");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rewards.objectives.correctness"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("HINT"), std::string::npos);
  }
}

}  // namespace
}  // namespace balcap::rewards
