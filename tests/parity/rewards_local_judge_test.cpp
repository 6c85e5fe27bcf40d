// The local judge (rewards/local_judge.h) against transformers on the tiny judges of ref_rewards.py
// (Qwen2 text, LLaMA text, Qwen2.5-VL and LLaVA-1.5 vision; float32, CPU): exact choice log-probabilities for
// yes/no, option letters and ratings "1".."10" (multi-token "10" included), prompt tokens, greedy
// generations (text and ids, stop at the end-of-turn ids), batch-size independence and errors.
#include <gtest/gtest.h>

#include <iostream>
#include <limits>

#include "core/error.h"
#include "rewards/judge_factories.h"
#include "rewards/local_judge.h"
#include "sampling/sampler.h"
#include "rewards_reference.h"

namespace balcap::rewards {
namespace {

std::unique_ptr<LocalJudge> make_judge(const std::string& model, int64_t batch_size = 16,
                                       const std::string& dtype = "auto") {
  config::JudgeConfig config;
  config.kind = "local";
  config.model = test::judge_model_dir(model).string();
  config.device = "auto";  // -> the policy device given below
  config.dtype = dtype;    // auto -> float32 on CPU
  config.batch_size = batch_size;
  std::unique_ptr<Judge> judge = make_local_judge(model + "_judge", config, at::kCPU);
  auto* local = dynamic_cast<LocalJudge*>(judge.get());
  EXPECT_NE(local, nullptr);
  judge.release();
  return std::unique_ptr<LocalJudge>(local);
}

JudgeRequest request_of(const nlohmann::json& entry) {
  JudgeRequest r{entry["system"], entry["user"], std::nullopt};
  if (!entry["image"].is_null()) r.image_path = test::reference_path("rewards", entry["image"]).string();
  return r;
}

// Every judge case of `model`, requests with the same choices asked in one call.
void expect_choice_logprobs_match(const std::string& model, int64_t batch_size) {
  auto judge = make_judge(model, batch_size);
  EXPECT_EQ(judge->sees_images(), test::rewards_manifest()["models"][model]["vision"].get<bool>());
  std::map<std::vector<std::string>, std::vector<nlohmann::json>> by_choices;
  for (const auto& entry : test::rewards_entries("judge_cases", model)) by_choices[entry["choices"]].push_back(entry);
  double worst = 0;
  for (const auto& [choices, entries] : by_choices) {
    std::vector<JudgeRequest> requests;
    for (const auto& entry : entries) {
      requests.push_back(request_of(entry));
      EXPECT_EQ(judge->prompt(requests.back()).ids, entry["prompt_ids"].get<std::vector<int64_t>>())
          << model << ": " << entry["user"].get<std::string>();
    }
    const auto got = judge->choice_logprobs(requests, choices);
    ASSERT_EQ(got.size(), entries.size());
    for (size_t r = 0; r < entries.size(); ++r) {
      const auto expected = entries[r]["logprobs"].get<std::vector<double>>();
      ASSERT_EQ(got[r].size(), expected.size());
      for (size_t c = 0; c < expected.size(); ++c) {
        worst = std::max(worst, std::abs(got[r][c] - expected[c]));
        EXPECT_NEAR(got[r][c], expected[c], 1e-4) << model << " choice '" << choices[c] << "'";
      }
    }
  }
  std::cout << model << " (batch_size " << batch_size << "): choice logprobs max |diff| " << worst << "\n";
}

TEST(LocalJudge, QwenChoiceLogprobsEqualTransformersForYesNoLettersAndRatings) {
  expect_choice_logprobs_match("qwen2", 16);
}

TEST(LocalJudge, LlamaChoiceLogprobsEqualTransformersForYesNoLettersAndRatings) {
  expect_choice_logprobs_match("llama", 16);
}

TEST(LocalJudge, VisionJudgeChoiceLogprobsEqualTransformersWithTheImage) {
  expect_choice_logprobs_match("qwen_vl", 16);
}

TEST(LocalJudge, LlavaJudgeChoiceLogprobsEqualTransformersWithTheImage) { expect_choice_logprobs_match("llava", 16); }

TEST(LocalJudge, MultiTokenChoiceIsTheSumOverItsTokens) {
  // "10" is "1" then "0" for both tokenizers: the fixture checked it; here its score must differ from "1".
  for (const auto& entry : test::rewards_entries("judge_cases", "qwen2")) {
    const auto choices = entry["choices"].get<std::vector<std::string>>();
    if (choices.back() != "10") continue;
    EXPECT_EQ(entry["choice_ids"].back().size(), 2u);
    auto judge = make_judge("qwen2");
    const auto got = judge->choice_logprobs({request_of(entry)}, {"1", "10"});
    EXPECT_NEAR(got[0][1], entry["logprobs"].back().get<double>(), 1e-4);
    EXPECT_LT(got[0][1], got[0][0]);  // P("10") = P("1") P("0" | "1") < P("1")
    return;
  }
  FAIL() << "no rating case in the fixture";
}

// dtype auto on CPU is float32; bfloat16 runs the same path in bf16 (matmul in bf16, log-softmax in
// float32) and stays near the float32 reference.
TEST(LocalJudge, DtypeAutoIsFloat32OnCpuAndBfloat16StaysNearTheReference) {
  EXPECT_EQ(make_judge("llama")->policy().dtype(), at::kFloat);
  auto judge = make_judge("llama", 16, "bfloat16");
  EXPECT_EQ(judge->policy().dtype(), at::kBFloat16);
  double worst = 0;
  for (const auto& entry : test::rewards_entries("judge_cases", "llama")) {
    const auto choices = entry["choices"].get<std::vector<std::string>>();
    const auto got = judge->choice_logprobs({request_of(entry)}, choices)[0];
    const auto expected = entry["logprobs"].get<std::vector<double>>();
    for (size_t c = 0; c < choices.size(); ++c) worst = std::max(worst, std::abs(got[c] - expected[c]));
  }
  std::cout << "bfloat16 llama judge: choice logprobs max |diff| vs float32 transformers " << worst << "\n";
  EXPECT_LE(worst, 1.0);
}

TEST(LocalJudge, BatchSizeOneAndEightGiveTheSameNumbers) {
  std::vector<JudgeRequest> requests;
  for (const auto& entry : test::rewards_entries("judge_cases", "qwen2")) requests.push_back(request_of(entry));
  const std::vector<std::string> choices{"yes", "no", "A", "7", "10"};
  const auto one = make_judge("qwen2", 1)->choice_logprobs(requests, choices);
  const auto eight = make_judge("qwen2", 8)->choice_logprobs(requests, choices);
  double worst = 0;
  for (size_t r = 0; r < requests.size(); ++r) {
    for (size_t c = 0; c < choices.size(); ++c) worst = std::max(worst, std::abs(one[r][c] - eight[r][c]));
  }
  std::cout << "batch 1 vs 8: max |diff| " << worst << "\n";
  EXPECT_LE(worst, 1e-5);
}

// Generations: Judge::generate's text and the sampler's ids/finish reason equal transformers' greedy.
void expect_generations_match(const std::string& model) {
  auto judge = make_judge(model, 2);
  const auto eos = test::rewards_manifest()["models"][model]["eos_token_ids"].get<std::vector<int64_t>>();
  for (int64_t id : eos) {
    EXPECT_NE(std::find(judge->stop_ids().begin(), judge->stop_ids().end(), id), judge->stop_ids().end()) << id;
  }
  const auto entries = test::rewards_entries("generations", model);
  ASSERT_FALSE(entries.empty());
  bool saw_stop = false;
  for (const auto& entry : entries) {
    const JudgeRequest request = request_of(entry);
    const int64_t max_new = entry["max_new_tokens"];
    const auto texts = judge->generate({request, request}, max_new);  // the same request twice, in one batch
    EXPECT_EQ(texts[0], entry["text"].get<std::string>()) << model;
    EXPECT_EQ(texts[1], entry["text"].get<std::string>()) << model;
    sampling::SamplingParams params;
    params.greedy = true;
    params.max_new_tokens = max_new;
    params.stop_ids = judge->stop_ids();
    const auto samples =
        sampling::sample(judge->policy(), judge->tokenizer(), {{judge->prompt(request), 0}}, params, {});
    ASSERT_EQ(samples.size(), 1u);
    EXPECT_EQ(samples[0].ids, entry["ids"].get<std::vector<int64_t>>()) << model;
    EXPECT_EQ(samples[0].finish_reason, entry["finish_reason"].get<std::string>()) << model;
    saw_stop |= entry["finish_reason"] == "stop";
  }
  if (!test::rewards_manifest()["models"][model]["vision"].get<bool>()) {
    EXPECT_TRUE(saw_stop) << "the fixture should make one generation stop";
  }
  // All prompts (different lengths) in one sampler batch, cut at the shortest budget: greedy
  // prefixes of the references.
  std::vector<sampling::SampleRequest> batch;
  int64_t budget = std::numeric_limits<int64_t>::max();
  for (const auto& entry : entries) {
    batch.push_back({judge->prompt(request_of(entry)), static_cast<int64_t>(batch.size())});
    budget = std::min(budget, entry["max_new_tokens"].get<int64_t>());
  }
  sampling::SamplingParams params;
  params.greedy = true;
  params.max_new_tokens = budget;
  params.stop_ids = judge->stop_ids();
  const auto samples = sampling::sample(judge->policy(), judge->tokenizer(), batch, params, {});
  ASSERT_EQ(samples.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    auto expected = entries[i]["ids"].get<std::vector<int64_t>>();
    expected.resize(std::min<size_t>(expected.size(), static_cast<size_t>(budget)));
    EXPECT_EQ(samples[i].ids, expected) << model << " batched request " << i;
  }
}

TEST(LocalJudge, QwenGenerationsEqualTransformersGreedy) { expect_generations_match("qwen2"); }

TEST(LocalJudge, LlamaGenerationsEqualTransformersGreedy) { expect_generations_match("llama"); }

TEST(LocalJudge, VisionJudgeGenerationEqualsTransformersGreedy) { expect_generations_match("qwen_vl"); }

TEST(LocalJudge, LlavaJudgeGenerationEqualsTransformersGreedy) { expect_generations_match("llava"); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(LocalJudge, ChoiceThatMergesWithThePromptIsAClearError) {
  auto judge = make_judge("qwen2");
  // The ChatML prompt ends with "\n"; "\n\n" is one Qwen token, so "\n" is not a next token.
  const std::string message = error_of([&] { judge->choice_logprobs({{"s", "u", std::nullopt}}, {"yes", "\n"}); });
  EXPECT_NE(message.find("does not start with tokenize(prompt)"), std::string::npos) << message;
  EXPECT_NE(message.find("HINT"), std::string::npos) << message;
  EXPECT_NE(error_of([&] {
              judge->choice_logprobs({{"s", "u", std::nullopt}}, {""});
            }).find("empty choice"),
            std::string::npos);
}

TEST(LocalJudge, TextJudgeGivenAnImageSaysToUseAVisionJudge) {
  auto judge = make_judge("llama");
  const std::string image = test::reference_path("rewards", "images/cat_64x48.png").string();
  const std::string message = error_of([&] { judge->choice_logprobs({{"s", "u", image}}, {"yes"}); });
  EXPECT_NE(message.find("text-only"), std::string::npos) << message;
  EXPECT_NE(message.find(image), std::string::npos) << message;
}

TEST(LocalJudge, MissingModelDirectoryNamesIt) {
  config::JudgeConfig config;
  config.kind = "local";
  config.model = (test::scratch_dir() / "no_such_model").string();
  const std::string message = error_of([&] { make_local_judge("j", config, at::kCPU); });
  EXPECT_NE(message.find("no_such_model"), std::string::npos) << message;
  config.model = "";
  EXPECT_NE(error_of([&] { make_local_judge("j", config, at::kCPU); }).find("rewards.judges.j.model"),
            std::string::npos);
}

}  // namespace
}  // namespace balcap::rewards
