// `balcap caption` end to end: greedy JSON lines equal transformers generate (with the
// checkpoint's generation_config stop ids), sampled groups are reproducible, bad input is named.
#include <gtest/gtest.h>

#include <sstream>

#include "parity/sampling_reference.h"

namespace balcap::test {
namespace {

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::string image_arg(int i) {
  return " --image " + shell_quote(reference_path("sampling", sampling_ref()["images"][i]).string());
}

TEST(CaptionCli, GreedyCaptionsStopAtTheGenerationConfigStopIdsAsTransformers) {
  const auto& ref = sampling_ref();
  const auto result = run_balcap("caption --model " + shell_quote(reference_path("sampling", "model_stops").string()) +
                                 image_arg(0) + image_arg(1) + " --greedy --max-new-tokens 10");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 2u) << result.out;
  EXPECT_EQ(lines[0]["ids"], ref["stop"]["ids"]);
  EXPECT_EQ(lines[0]["finish_reason"], "stop");
  EXPECT_EQ(lines[0]["text"], ref["stop"]["text"]);
  EXPECT_EQ(lines[0]["logprobs"].size(), lines[0]["ids"].size());
  EXPECT_EQ(lines[1]["ids"], ref["greedy"]["ids"][1]);
  EXPECT_EQ(lines[1]["finish_reason"], "length");
  EXPECT_NE(lines[1]["image"].get<std::string>().find("odd_150x90.png"), std::string::npos);
  EXPECT_TRUE(result.err.empty()) << result.err;  // no progress bar when stderr is not a terminal
}

TEST(CaptionCli, SampledGroupsAreReproducibleWithTheSameSeed) {
  const std::string args = "caption --model " + shell_quote(reference_path("sampling", "model").string()) +
                           image_arg(2) + image_arg(3) + " --group 3 --max-new-tokens 5 --seed 9 --top-p 0.9";
  const auto first = run_balcap(args), second = run_balcap(args + " --batch 1");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto a = json_lines(first.out), b = json_lines(second.out);
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i) {  // image batches of 2 vs 1: same captions (logprobs to rounding)
    for (const char* key : {"image", "member", "ids", "text", "finish_reason"}) EXPECT_EQ(a[i][key], b[i][key]) << i;
    for (size_t t = 0; t < a[i]["logprobs"].size(); ++t) {
      EXPECT_NEAR(a[i]["logprobs"][t].get<double>(), b[i]["logprobs"][t].get<double>(), 1e-4) << i;
    }
  }
  EXPECT_EQ(a[4]["member"], 1);
}

// A LLaVA-1.5 checkpoint captions as transformers does, whether its tokenizer is tokenizer.json or
// (like llava-hf's other file) LLaMA's sentencepiece tokenizer.model with tokenizer_config.json's added tokens.
TEST(CaptionCli, LlavaCheckpointsCaptionAsTransformersWithTokenizerJsonOrTokenizerModel) {
  const auto& ref = sampling_ref()["llava"]["greedy"];
  for (const char* model : {"llava/model", "llava/model_sp"}) {
    SCOPED_TRACE(model);
    const auto n = std::to_string(ref["max_new_tokens"].get<int>());
    const auto result = run_balcap("caption --model " + shell_quote(reference_path("sampling", model).string()) +
                                   image_arg(0) + image_arg(3) + " --greedy --max-new-tokens " + n +
                                   " --min-new-tokens " + n + " --prompt " +
                                   shell_quote(sampling_ref()["instruction"].get<std::string>()));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto lines = json_lines(result.out);
    ASSERT_EQ(lines.size(), 2u) << result.out;
    for (size_t i = 0; i < 2; ++i) {
      const int image = i == 0 ? 0 : 3;
      EXPECT_EQ(lines[i]["ids"], ref["ids"][image]) << "image " << image;
      EXPECT_EQ(lines[i]["text"], ref["texts"][image]) << "image " << image;
    }
  }
}

TEST(CaptionCli, MissingImageIsNamedInTheError) {
  const auto result = run_balcap("caption --model " + shell_quote(reference_path("sampling", "model").string()) +
                                 " --image /nonexistent/cat.png");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("/nonexistent/cat.png"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace balcap::test
