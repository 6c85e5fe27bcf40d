// LoRA: injection leaves the model's names and outputs alone, adapters saved by balcap load in PEFT
// with the same logits, and `balcap export` (merged) equals PEFT's merge in transformers.
// Fixture: tests/reference/ref_checkpoint.py (a tiny random Qwen2.5-VL); comparison:
// tests/reference/checkpoint_peft_check.py (PEFT + transformers).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "checkpoint/checkpointer.h"
#include "checkpoint/lora.h"
#include "core/error.h"
#include "io/safetensors_writer.h"
#include "models/load_policy.h"
#include "support/test_support.h"

namespace balcap::checkpoint {
namespace {

namespace fs = std::filesystem;
using test::reference_path;

std::vector<std::vector<int64_t>> inputs() {
  std::ifstream in(reference_path("checkpoint", "inputs.json"));
  return nlohmann::json::parse(in)["ids"].get<std::vector<std::vector<int64_t>>>();
}

// logits [B, S, V] of the policy on the fixture's rows (no grad).
at::Tensor logits_of(Policy& policy) {
  at::NoGradGuard no_grad;
  const auto ids = inputs();
  const auto batch = make_policy_batch(ids, std::vector<const PolicyPrompt*>(ids.size(), nullptr), at::kCPU);
  return at::matmul(policy.hidden_states(batch), policy.output_weight().t());
}

config::LoraConfig lora_config() {
  config::LoraConfig c;
  c.enabled = true;
  c.r = 4;
  c.alpha = 8.0;
  c.dropout = 0.1;  // inactive in eval mode; recorded in adapter_config.json
  return c;
}

// B = 0 makes an adapter a no-op: give every B random values so the test sees the adapters.
void randomise_b(LoraAdapters& lora, at::Generator gen) {
  at::NoGradGuard no_grad;
  for (auto& [name, t] : lora.named_parameters()) {
    if (name.ends_with("lora_B.weight")) t.copy_(at::randn(t.sizes(), gen) * 0.2);
  }
}

TEST(Lora, InjectionKeepsParameterNamesOutputsAndFreezesTheBase) {
  auto policy = load_policy(reference_path("checkpoint", "base"));
  const auto before = logits_of(*policy);
  std::vector<std::string> names_before;
  for (const auto& p : policy->module().named_parameters()) names_before.push_back(p.key());
  auto lora = LoraAdapters::inject(policy->module(), lora_config(), at::make_generator<at::CPUGeneratorImpl>(3));
  EXPECT_EQ(lora.size(), 2u * 7u);  // 2 layers x q,k,v,o,gate,up,down; the vision MLPs are not adapted
  std::vector<std::string> names_after;
  for (const auto& p : policy->module().named_parameters()) {
    names_after.push_back(p.key());
    EXPECT_FALSE(p.value().requires_grad()) << p.key();
  }
  EXPECT_EQ(names_after, names_before);
  for (const auto& [name, t] : lora.named_parameters()) EXPECT_TRUE(t.requires_grad()) << name;
  EXPECT_TRUE(at::equal(logits_of(*policy), before));  // B = 0
  const auto [name, a] = lora.named_parameters().front();
  EXPECT_EQ(name, "base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight");
  EXPECT_LE(a.abs().max().item<double>(), 1.0 / std::sqrt(64.0));  // kaiming-uniform bound 1/sqrt(in)
}

TEST(Lora, UnknownTargetModuleIsRefusedNamingTheLayersThereAre) {
  auto policy = load_policy(reference_path("checkpoint", "base"));
  auto c = lora_config();
  c.target_modules = {"q_proj", "qkv"};
  try {
    LoraAdapters::inject(policy->module(), c, at::make_generator<at::CPUGeneratorImpl>(3));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("qkv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("down_proj"), std::string::npos) << e.what();
  }
}

TEST(Lora, PeftLoadsBalcapAdaptersAndTheMergedExportMatchesInTransformers) {
  const auto dir = test::scratch_dir();
  const auto base = reference_path("checkpoint", "base");
  auto policy = load_policy(base);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  auto lora = LoraAdapters::inject(policy->module(), lora_config(), gen);
  randomise_b(lora, gen);
  const auto with_adapters = logits_of(*policy);
  save_safetensors(dir / "balcap_logits.safetensors", {{"logits", with_adapters}});

  // A LoRA checkpoint as the trainer writes it, then `balcap export` (merged, and --adapters).
  Checkpointer ckpt(dir / "run", 0);
  const auto step = ckpt.save(1, [&](const fs::path& tmp) { lora.save_peft(adapter_dir(tmp), base.string()); });
  const auto merged = dir / "merged";
  auto r = test::run_balcap(fmt::format("export --checkpoint {} --out {}", test::shell_quote(step.string()),
                                        test::shell_quote(merged.string())));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"kind\":\"merged\""), std::string::npos) << r.out;
  r = test::run_balcap(fmt::format("export --checkpoint {} --out {} --adapters", test::shell_quote(step.string()),
                                   test::shell_quote((dir / "adapters").string())));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::read_file(dir / "adapters" / "adapter_model.safetensors"),
            test::read_file(adapter_dir(step) / "adapter_model.safetensors"));

  const auto script = fs::path(test::kSourceDir) / "tests" / "reference" / "checkpoint_peft_check.py";
  std::string cmd = test::shell_quote(test::kPython) + " " + test::shell_quote(script.string());
  for (const auto& arg : {base, adapter_dir(step), merged, dir / "balcap_logits.safetensors",
                          reference_path("checkpoint", "inputs.json")}) {
    cmd += " " + test::shell_quote(arg.string());
  }
  r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = nlohmann::json::parse(r.out);
  std::cerr << "PEFT check: " << got.dump() << "\n";
  EXPECT_EQ(got["adapted_layers"], 14);  // PEFT adapted exactly the LM's layers (not the vision MLPs)
  EXPECT_EQ(got["saved_tensors"], 28);
  EXPECT_TRUE(got["loaded_equal"].get<bool>());
  EXPECT_GT(got["lora_effect"].get<double>(), 1e-2);  // the adapters change the logits
  EXPECT_LE(got["peft_vs_balcap"].get<double>(), 1e-4);
  EXPECT_LE(got["merged_vs_peft_merged"].get<double>(), 1e-4);
  EXPECT_LE(got["merged_vs_peft"].get<double>(), 1e-4);
}

TEST(Lora, MergedWeightsReproduceTheAdaptedModel) {
  auto policy = load_policy(reference_path("checkpoint", "base"));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  auto lora = LoraAdapters::inject(policy->module(), lora_config(), gen);
  randomise_b(lora, gen);
  const auto adapted = logits_of(*policy);
  const auto dir = test::scratch_dir();
  lora.save_peft(dir, "base");
  lora.merge_and_remove();
  const auto merged = logits_of(*policy);
  EXPECT_LE((merged - adapted).abs().max().item<double>(), 1e-4);
  // The adapters reload onto a fresh base with the values that were saved.
  auto fresh = load_policy(reference_path("checkpoint", "base"));
  auto back = LoraAdapters::load_peft(fresh->module(), dir);
  EXPECT_EQ(back.size(), 14u);
  EXPECT_EQ(back.config().r, 4);
  EXPECT_TRUE(at::equal(logits_of(*fresh), adapted));
}

}  // namespace
}  // namespace balcap::checkpoint
