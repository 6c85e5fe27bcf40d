// `balcap logits` end to end: the real binary on the tiny reference checkpoints, its image
// processor + chat template + tokenizer + forward against transformers' processor + model
// (input_ids equal, logits within 1e-4 x std, same argmax everywhere), text-only and bf16 runs,
// and clear errors for bad arguments.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/safetensors_reader.h"
#include "parity/models_reference.h"

namespace balcap {
namespace {

namespace fs = std::filesystem;

std::string quoted(const fs::path& p) { return test::shell_quote(p.string()); }

// Runs `balcap logits` for reference case `case_name` on `model`, compares with the reference.
void expect_cli_matches(const std::string& case_name, const std::string& model) {
  SCOPED_TRACE(case_name);
  const auto& entry = test::find_case(case_name);
  const fs::path out = test::scratch_dir() / "logits.safetensors";
  std::string args = "logits --model " + quoted(test::reference_model_dir(model)) + " --prompt " +
                     test::shell_quote(entry["prompt"].get<std::string>()) + " --out " + quoted(out);
  for (const auto& image : entry["images"]) args += " --image " + quoted(test::reference_path("models", image));
  const auto result = test::run_balcap(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto line = nlohmann::json::parse(result.out);
  EXPECT_EQ(line["top5"].size(), 5u);

  auto reference = test::load_case(entry);
  auto written = io::load_safetensors(out);
  ASSERT_TRUE(at::equal(written.at("input_ids"), reference["input_ids"])) << "prompt ids differ";
  const at::Tensor logits = written.at("logits");
  ASSERT_EQ(logits.scalar_type(), at::kFloat);
  ASSERT_EQ(logits.sizes(), reference["logits"].sizes());
  const double diff = (logits - reference["logits"]).abs().max().item<double>();
  const double std = reference["logits"].std().item<double>();
  std::cout << "balcap logits " << case_name << ": max diff " << diff / std << " x std\n";
  EXPECT_LE(diff, 1e-4 * std);
  EXPECT_EQ(logits.argmax(-1).ne(reference["top1"]).sum().item<int64_t>(), 0);
  EXPECT_EQ(line["top5"][0]["id"].get<int64_t>(), reference["top1"][-1].item<int64_t>());
}

TEST(LogitsCli, ImagePromptMatchesTransformersProcessorAndModel) { expect_cli_matches("chelsea", "tied"); }

TEST(LogitsCli, TwoImagesMatchTransformers) { expect_cli_matches("two_images", "tied"); }

TEST(LogitsCli, TextOnlyPromptOnAFlatConfigCheckpointMatchesTransformers) {
  expect_cli_matches("text_only_untied", "untied_legacy");
}

TEST(LogitsCli, Bf16RunWritesFloat32Logits) {
  const fs::path out = test::scratch_dir() / "bf16.safetensors";
  const auto result = test::run_balcap("logits --dtype bf16 --prompt hi --model " +
                                       quoted(test::reference_model_dir("tied")) + " --out " + quoted(out));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(io::load_safetensors(out).at("logits").scalar_type(), at::kFloat);
}

TEST(LogitsCli, UnknownDtypeIsAUsageError) {
  const auto result =
      test::run_balcap("logits --dtype f8 --prompt hi --model " + quoted(test::reference_model_dir("tied")));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--dtype 'f8'"), std::string::npos) << result.err;
}

TEST(LogitsCli, DirectoryWithoutConfigNamesTheFile) {
  const fs::path dir = test::scratch_dir();
  const auto result = test::run_balcap("logits --prompt hi --model " + quoted(dir));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("config.json"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace balcap
