// Prompt templates: placeholders, rendering, config-load validation; and the judge call log.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "config/load.h"
#include "core/error.h"
#include "rewards/judge_call_log.h"
#include "rewards/judge_questions.h"
#include "rewards_table_judge.h"
#include "support/test_support.h"

namespace balcap::rewards {
namespace {

TEST(PromptTemplates, PlaceholdersAreLowercaseNamesInBraces) {
  EXPECT_EQ(config::template_placeholders("a {claim} b {reference}{claim} {Not} {a-b} {} {x"),
            (std::vector<std::string>{"claim", "reference", "claim"}));
}

TEST(PromptTemplates, RenderFillsEveryPlaceholderAndKeepsOtherBraces) {
  EXPECT_EQ(render_template("Q: {claim} / {claim} {json: 1}", {{"claim", "a dog"}}), "Q: a dog / a dog {json: 1}");
  EXPECT_THROW(render_template("{caption}", {{"claim", "x"}}), Error);
}

TEST(PromptTemplates, DefaultTemplatesAreValid) {
  EXPECT_TRUE(config::prompt_problems(config::PromptsConfig{}).empty());
}

const std::string kMinimal = "model:\n  path: runs/m\ndata:\n  train: d.jsonl\n";

TEST(PromptTemplates, ConfigLoadRejectsUnknownAndMissingPlaceholders) {
  EXPECT_NO_THROW(config::load_config_text(kMinimal, "test.yaml", {"rewards.prompts.rating='{aspect}? {caption}'"}));
  try {
    config::load_config_text(
        kMinimal, "test.yaml",
        {"rewards.prompts.verify_reference='Is {claim} in {referense}?'", "rewards.prompts.rating='Rate {caption}'"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("'rewards.prompts.verify_reference' uses the unknown placeholder {referense}"), std::string::npos)
        << m;
    EXPECT_NE(m.find("'rewards.prompts.verify_reference' lacks the placeholder {reference}"), std::string::npos) << m;
    EXPECT_NE(m.find("'rewards.prompts.rating' lacks the placeholder {aspect}"), std::string::npos) << m;
  }
}

TEST(PromptTemplates, QaAccuracyOnALexicalJudgeIsRejectedAtConfigLoad) {
  try {
    config::load_config_text(kMinimal, "test.yaml", {"rewards.objectives.correctness.scorer=qa_accuracy"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("uses scorer qa_accuracy with the lexical judge 'lexical'"), std::string::npos)
        << e.what();
  }
}

TEST(JudgeAnswers, YesIsReadFromBothCapitalisations) {
  EXPECT_TRUE(says_yes(test::yes_row()));
  EXPECT_FALSE(says_yes(test::no_row()));
  EXPECT_FALSE(says_yes(test::hedge_row()));  // "Yes" is the top answer but yes+Yes < no+No
  EXPECT_FALSE(says_yes({-INFINITY, -INFINITY, -INFINITY, -INFINITY}));
}

TEST(JudgeAnswers, ClaimListsLoseTheirMarkers) {
  EXPECT_EQ(parse_claims("- a dog\n* a cat\n\xE2\x80\xA2 a cow\n1. a car\n12) a bus\n\n  1.5 m tall  \r\n"),
            (std::vector<std::string>{"a dog", "a cat", "a cow", "a car", "a bus", "1.5 m tall"}));
  EXPECT_TRUE(parse_claims("\n \n").empty());
}

TEST(JudgeCallLog, EveryRequestOfEveryCallIsOneJsonLine) {
  auto inner = std::make_shared<test::TableJudge>();
  inner->generate_answer = [](const JudgeRequest& r) { return "claims of " + r.user; };
  inner->choice_answer = [](const JudgeRequest&, const std::vector<std::string>&) { return test::no_row(); };
  auto path = balcap::test::scratch_dir() / "logs" / "judge.jsonl";
  auto judge = with_call_log(inner, path);
  EXPECT_EQ(judge->name(), "table");
  judge->generate({{"s", "one", std::nullopt}, {"s", "two", "img.png"}}, 64);
  judge->choice_logprobs({{"s", "q", std::nullopt, "pointable", "the mood is warm"}}, yes_no_choices());
  inner->failing = true;
  EXPECT_THROW(judge->generate({{"s", "three", std::nullopt}}, 64), JudgeError);
  std::vector<nlohmann::json> lines;
  std::istringstream in(balcap::test::read_file(path));
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["call"], "generate");
  EXPECT_EQ(lines[0]["output"], "claims of one");
  EXPECT_EQ(lines[0]["batch"], 2);
  EXPECT_EQ(lines[1]["image"], "img.png");
  EXPECT_TRUE(lines[0]["image"].is_null());
  EXPECT_EQ(lines[2]["call"], "choice_logprobs");
  EXPECT_EQ(lines[2]["choices"], nlohmann::json::parse(R"(["Yes","yes","No","no"])"));
  EXPECT_NEAR(lines[2]["logprobs"][2].get<double>(), std::log(0.8), 1e-12);
  // A labelled Yes/No question records its assertion and the verdict (claim_precision's two per assertion).
  EXPECT_EQ(lines[2]["question"], "pointable");
  EXPECT_EQ(lines[2]["assertion"], "the mood is warm");
  EXPECT_EQ(lines[2]["verdict"], "no");
  EXPECT_FALSE(lines[0].contains("verdict"));
  EXPECT_NE(lines[3]["error"].get<std::string>().find("server down"), std::string::npos);
}

}  // namespace
}  // namespace balcap::rewards
