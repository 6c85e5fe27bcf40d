// LoRA injection (models/lora.h): it leaves the model's names and outputs alone and freezes the
// base, refuses unknown layers, and the merged weights / reloaded PEFT files reproduce the adapted
// model. Fixture: tests/reference/ref_models.py (models/untied, a tiny random Qwen2.5-VL, and
// lora_inputs.json). PEFT itself loading these files: checkpoint_lora_peft_test.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "models/load_policy.h"
#include "models/lora.h"
#include "parity/lora_test_helpers.h"
#include "parity/models_reference.h"

namespace balcap {
namespace {

using test::randomise_b;
using test::reference_model_dir;

at::Tensor logits_of(models::Policy& policy) {
  return test::text_logits(policy, test::read_input_ids(test::reference_path("models", "lora_inputs.json")));
}

std::unique_ptr<models::Policy> base_policy() { return models::load_policy(reference_model_dir("untied")); }

TEST(Lora, InjectionKeepsParameterNamesOutputsAndFreezesTheBase) {
  auto policy = base_policy();
  const auto before = logits_of(*policy);
  std::vector<std::string> names_before;
  for (const auto& p : policy->module().named_parameters()) names_before.push_back(p.key());
  auto lora =
      models::LoraAdapters::inject(policy->module(), test::lora_test_config(), at::make_generator<at::CPUGeneratorImpl>(3));
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
  auto policy = base_policy();
  auto c = test::lora_test_config();
  c.target_modules = {"q_proj", "qkv"};
  try {
    models::LoraAdapters::inject(policy->module(), c, at::make_generator<at::CPUGeneratorImpl>(3));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("qkv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("down_proj"), std::string::npos) << e.what();
  }
}

TEST(Lora, MergedWeightsReproduceTheAdaptedModel) {
  auto policy = base_policy();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  auto lora = models::LoraAdapters::inject(policy->module(), test::lora_test_config(), gen);
  randomise_b(lora, gen);
  const auto adapted = logits_of(*policy);
  const auto dir = test::scratch_dir();
  lora.save_peft(dir, "base");
  lora.merge_and_remove();
  const auto merged = logits_of(*policy);
  EXPECT_LE((merged - adapted).abs().max().item<double>(), 1e-4);
  // The adapters reload onto a fresh base with the values that were saved.
  auto fresh = base_policy();
  auto back = models::LoraAdapters::load_peft(fresh->module(), dir);
  EXPECT_EQ(back.size(), 14u);
  EXPECT_EQ(back.options().r, 4);
  EXPECT_TRUE(at::equal(logits_of(*fresh), adapted));
}

}  // namespace
}  // namespace balcap
