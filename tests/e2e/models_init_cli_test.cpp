// `balcap model init` end to end: the demo's tiny policy template becomes a model directory that
// transformers loads, whose logits equal balcap's on the same prompt, with transformers' init
// statistics (normal(0, 0.02) weights, unit norms, zero biases) and one result per seed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/safetensors_reader.h"
#include "balcap_test/test_paths.h"
#include "support/test_support.h"

namespace balcap {
namespace {

namespace fs = std::filesystem;

std::string quoted(const fs::path& p) { return test::shell_quote(p.string()); }

fs::path init_model(const fs::path& out, int seed) {
  const fs::path source = test::kSourceDir;
  const auto result = test::run_balcap("model init --template " + quoted(source / "configs/models/tiny_qwen2_5_vl") +
                                       " --tokenizer " + quoted(test::data_path("tokenizers/qwen")) + " --out " +
                                       quoted(out) + " --seed " + std::to_string(seed));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out)["seed"].get<int>(), seed);
  return out;
}

// transformers on the directory: logits of `input_ids`, written to `out` as float32.
void transformers_logits(const fs::path& model, const fs::path& ids_file, const fs::path& out,
                         const std::string& model_class = "Qwen2_5_VLForConditionalGeneration") {
  const std::string script = R"(
import sys, torch, transformers
from safetensors.torch import load_file, save_file
model = getattr(transformers, sys.argv[4]).from_pretrained(sys.argv[1], dtype=torch.float32).eval()
ids = load_file(sys.argv[2])["input_ids"].unsqueeze(0)
with torch.no_grad():
    logits = model(input_ids=ids).logits[0].float()
save_file({"logits": logits.contiguous()}, sys.argv[3])
)";
  const auto result = test::run_command(std::string(test::kPython) + " -c " + test::shell_quote(script) + " " +
                                        quoted(model) + " " + quoted(ids_file) + " " + quoted(out) + " " + model_class);
  ASSERT_EQ(result.exit_code, 0) << result.err;
}

TEST(ModelInitCli, TinyPolicyLoadsInTransformersWithTheSameLogits) {
  const fs::path dir = test::scratch_dir();
  const fs::path model = init_model(dir / "model", 0);
  const fs::path ours = dir / "ours.safetensors";
  const auto run = test::run_balcap("logits --model " + quoted(model) + " --prompt " +
                                    test::shell_quote("A red circle left of a blue square.") + " --out " + quoted(ours));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const fs::path theirs = dir / "theirs.safetensors";
  transformers_logits(model, ours, theirs);
  const at::Tensor a = io::load_safetensors(ours).at("logits");
  const at::Tensor b = io::load_safetensors(theirs).at("logits");
  ASSERT_EQ(a.sizes(), b.sizes());
  EXPECT_LE((a - b).abs().max().item<double>(), 1e-4 * b.std().item<double>());
  EXPECT_TRUE(at::equal(a.argmax(-1), b.argmax(-1)));
}

// `--family llava` from the repository root: the tiny LLaVA-1.5 template, LLaMA-2's tokenizer with
// <image> and <pad> added; transformers loads the directory and gives balcap's logits.
TEST(ModelInitCli, FamilyLlavaWritesATinyLlavaThatTransformersLoadsWithTheSameLogits) {
  const fs::path dir = test::scratch_dir();
  const auto init = test::run_command("cd " + quoted(test::kSourceDir) + " && " + quoted(test::kBalcapBinary) +
                                      " model init --family llava --out " + quoted(dir / "model"));
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_EQ(nlohmann::json::parse(init.out)["family"], "llava");
  const fs::path ours = dir / "ours.safetensors";
  const auto run = test::run_balcap("logits --model " + quoted(dir / "model") + " --prompt " +
                                    test::shell_quote("A red circle left of a blue square.") + " --out " + quoted(ours));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const fs::path theirs = dir / "theirs.safetensors";
  transformers_logits(dir / "model", ours, theirs, "LlavaForConditionalGeneration");
  const at::Tensor a = io::load_safetensors(ours).at("logits");
  const at::Tensor b = io::load_safetensors(theirs).at("logits");
  ASSERT_EQ(a.sizes(), b.sizes());
  EXPECT_LE((a - b).abs().max().item<double>(), 1e-4 * b.std().item<double>());
}

TEST(ModelInitCli, WeightsFollowTransformersInitialisation) {
  const fs::path model = init_model(test::scratch_dir() / "model", 1);
  const auto weights = io::load_safetensors(model / "model.safetensors");
  int norms = 0, biases = 0;
  for (const auto& [name, tensor] : weights) {
    if (name.find("norm") != std::string::npos || name.find("ln_q") != std::string::npos) {
      EXPECT_TRUE(at::all(tensor == 1).item<bool>()) << name;
      ++norms;
    } else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
      EXPECT_TRUE(at::all(tensor == 0).item<bool>()) << name;
      ++biases;
    } else if (tensor.numel() > 1000) {
      EXPECT_NEAR(tensor.std().item<double>(), 0.02, 0.002) << name;
      EXPECT_NEAR(tensor.mean().item<double>(), 0.0, 0.002) << name;
    }
  }
  EXPECT_GT(norms, 0);
  EXPECT_GT(biases, 0);
}

TEST(ModelInitCli, SameSeedSameWeightsOtherSeedOtherWeights) {
  const fs::path dir = test::scratch_dir();
  const auto a = io::load_safetensors(init_model(dir / "a", 7) / "model.safetensors");
  const auto b = io::load_safetensors(init_model(dir / "b", 7) / "model.safetensors");
  const auto c = io::load_safetensors(init_model(dir / "c", 8) / "model.safetensors");
  const std::string name = "model.embed_tokens.weight";
  EXPECT_TRUE(at::equal(a.at(name), b.at(name)));
  EXPECT_FALSE(at::equal(a.at(name), c.at(name)));
}

TEST(ModelInitCli, MissingTokenizerNamesTheDirectory) {
  const fs::path dir = test::scratch_dir();
  const fs::path source = test::kSourceDir;
  const auto result = test::run_balcap("model init --template " + quoted(source / "configs/models/tiny_qwen2_5_vl") +
                                       " --tokenizer " + quoted(dir) + " --out " + quoted(dir / "m"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find(dir.string()), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("HINT"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace balcap
