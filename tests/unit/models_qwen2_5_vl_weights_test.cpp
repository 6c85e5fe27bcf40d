// Qwen2.5-VL checkpoint loading/saving: the name map, bad checkpoints (missing shard, wrong
// shape, truncated shard, unknown architecture, untied config without lm_head) with errors that
// name the problem, bf16 loading, and the round trip load -> save -> transformers from_pretrained
// -> the reference logits.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "io/safetensors_checkpoint.h"
#include "io/safetensors_writer.h"
#include "models/qwen2_5_vl_weights.h"
#include "parity/models_reference.h"

namespace balcap {
namespace {

namespace fs = std::filesystem;

// The error message of `load_qwen2_5_vl(dir)` (fails the test when it loads).
std::string load_error(const fs::path& dir) {
  try {
    models::load_qwen2_5_vl(dir);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << dir << " loaded without error";
  return "";
}

// A copy of reference model `name` in a scratch directory.
fs::path copy_model(const std::string& name) {
  const fs::path dir = test::scratch_dir() / name;
  fs::copy(test::reference_model_dir(name), dir, fs::copy_options::recursive);
  return dir;
}

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in:\n" << text;
}

TEST(Qwen2_5_VLWeights, NameMapAcceptsBothSpellingsAndWritesTheHubOne) {
  EXPECT_EQ(models::qwen2_5_vl_module_name("model.layers.3.mlp.up_proj.weight"),
            "model.language_model.layers.3.mlp.up_proj.weight");
  EXPECT_EQ(models::qwen2_5_vl_module_name("model.embed_tokens.weight"), "model.language_model.embed_tokens.weight");
  EXPECT_EQ(models::qwen2_5_vl_module_name("visual.merger.mlp.0.bias"), "model.visual.merger.mlp.0.bias");
  EXPECT_EQ(models::qwen2_5_vl_module_name("model.visual.blocks.0.norm1.weight"), "model.visual.blocks.0.norm1.weight");
  EXPECT_EQ(models::qwen2_5_vl_module_name("model.language_model.norm.weight"), "model.language_model.norm.weight");
  EXPECT_EQ(models::qwen2_5_vl_module_name("lm_head.weight"), "lm_head.weight");
  EXPECT_EQ(models::qwen2_5_vl_hub_name("model.language_model.norm.weight"), "model.norm.weight");
  EXPECT_EQ(models::qwen2_5_vl_hub_name("model.visual.patch_embed.proj.weight"), "visual.patch_embed.proj.weight");
  EXPECT_EQ(models::qwen2_5_vl_hub_name("lm_head.weight"), "lm_head.weight");
}

TEST(Qwen2_5_VLWeights, MissingShardNamesTheShard) {
  const fs::path dir = copy_model("untied");
  fs::remove(dir / "model-00002-of-00003.safetensors");
  expect_contains(load_error(dir), "model-00002-of-00003.safetensors");
}

TEST(Qwen2_5_VLWeights, TruncatedShardNamesTheShard) {
  const fs::path dir = copy_model("untied");
  const fs::path shard = dir / "model-00003-of-00003.safetensors";
  fs::resize_file(shard, fs::file_size(shard) / 2);
  expect_contains(load_error(dir), "model-00003-of-00003.safetensors");
}

TEST(Qwen2_5_VLWeights, WrongShapeWrongDtypeMissingAndUnexpectedTensorsAreReportedTogether) {
  const fs::path dir = copy_model("tied");
  io::NamedTensors tensors;
  for (auto& [name, t] : io::load_safetensors(dir / "model.safetensors")) {
    if (name == "model.norm.weight") continue;  // missing
    if (name == "model.layers.0.input_layernorm.weight")
      tensors.emplace_back(name, at::ones({64}, at::kInt));  // wrong dtype
    else if (name == "visual.merger.mlp.2.bias")
      tensors.emplace_back(name, at::zeros({7}));  // wrong shape
    else
      tensors.emplace_back(name, t.clone());
  }
  tensors.emplace_back("model.layers.9.mlp.up_proj.weight", at::zeros({2}));  // unexpected
  io::save_safetensors(dir / "model.safetensors", tensors);
  const std::string error = load_error(dir);
  expect_contains(error, "1 missing tensors:\n  - model.language_model.norm.weight");
  expect_contains(error, "1 unexpected tensors:\n  - model.layers.9.mlp.up_proj.weight");
  expect_contains(error, "visual.merger.mlp.2.bias: [7] in model.safetensors but the model expects [64]");
  expect_contains(error, "model.layers.0.input_layernorm.weight: I32 (a float tensor is expected)");
  expect_contains(error, "HINT:");
}

TEST(Qwen2_5_VLWeights, UnknownArchitectureIsRefusedNamingIt) {
  const fs::path dir = copy_model("tied");
  std::string config = test::read_file(dir / "config.json");
  config.replace(config.find("\"qwen2_5_vl\""), 12, "\"qwen9_omni\"");
  test::write_file(dir / "config.json", config);
  expect_contains(load_error(dir), "qwen9_omni");
}

TEST(Qwen2_5_VLWeights, AnotherSupportedFamilyIsRefusedAsNotQwen) {
  const fs::path dir = copy_model("tied");
  test::write_file(dir / "config.json", R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"]})");
  expect_contains(load_error(dir), "not a Qwen2.5-VL checkpoint");
}

TEST(Qwen2_5_VLWeights, MissingLmHeadIsAnErrorWhenTheConfigDoesNotTie) {
  const fs::path dir = copy_model("tied");
  std::string config = test::read_file(dir / "config.json");
  for (size_t at; (at = config.find("\"tie_word_embeddings\": true")) != std::string::npos;) {
    config.replace(at, 27, "\"tie_word_embeddings\": false");
  }
  test::write_file(dir / "config.json", config);
  const std::string error = load_error(dir);
  expect_contains(error, "lm_head.weight");
  expect_contains(error, "tie_word_embeddings false");
}

TEST(Qwen2_5_VLWeights, Bf16LoadConvertsEveryParameter) {
  const auto checkpoint = models::load_qwen2_5_vl(test::reference_model_dir("tied"), at::kBFloat16);
  for (const auto& p : checkpoint.model->parameters()) EXPECT_EQ(p.scalar_type(), at::kBFloat16);
  EXPECT_EQ(checkpoint.generation.eos_token_ids, std::vector<int64_t>{151645});
}

// Saves `model_name` with balcap, reloads it with transformers and runs `case_name`.
void expect_round_trip(const std::string& model_name, const std::string& case_name, models::WeightLayout layout,
                       const std::string& expected_first_name) {
  auto checkpoint = models::load_qwen2_5_vl(test::reference_model_dir(model_name));
  const fs::path out = test::scratch_dir() / "saved";
  models::save_qwen2_5_vl(checkpoint.model, out, layout, checkpoint.dir, /*max_shard_bytes=*/30'000'000);
  const io::SafetensorsCheckpoint saved(out);
  EXPECT_TRUE(saved.contains(expected_first_name)) << expected_first_name;
  EXPECT_EQ(saved.contains("lm_head.weight"), !checkpoint.config.tie_word_embeddings);
  EXPECT_TRUE(fs::exists(out / "tokenizer.json"));
  EXPECT_TRUE(fs::exists(out / "preprocessor_config.json"));
  EXPECT_TRUE(fs::exists(out / "generation_config.json"));

  const std::string script = std::string(test::kSourceDir) + "/tests/reference/check_reload_models.py";
  const std::string case_file =
      test::reference_path("models", test::find_case(case_name)["file"].get<std::string>()).string();
  const auto result = test::run_command(test::shell_quote(test::kPython) + " " + test::shell_quote(script) + " " +
                                        test::shell_quote(out.string()) + " " + test::shell_quote(case_file));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto line = nlohmann::json::parse(result.out.substr(result.out.rfind('{')));
  std::cout << "round trip " << model_name << " (" << to_string(layout) << ", " << saved.files().size()
            << " files) -> transformers: " << line.dump() << "\n";
  EXPECT_EQ(line["max_abs_diff"].get<double>(), 0.0);  // the same float32 weights, the same computation
  EXPECT_EQ(line["argmax_differences"].get<int64_t>(), 0);
}

TEST(Qwen2_5_VLWeights, SavedUntiedCheckpointReloadsInTransformersWithIdenticalLogits) {
  expect_round_trip("untied", "rocket_untied", models::WeightLayout::hub, "visual.blocks.0.attn.qkv.weight");
}

TEST(Qwen2_5_VLWeights, SavedTiedCheckpointInV5NamesReloadsInTransformersWithIdenticalLogits) {
  expect_round_trip("tied", "two_images", models::WeightLayout::v5, "model.language_model.embed_tokens.weight");
}

}  // namespace
}  // namespace balcap
