// LoRA checkpoints: adapters saved by balcap into a checkpoint load in PEFT with the same logits,
// and `balcap export` (merged) equals PEFT's merge in transformers. The injection itself is tested
// in models_lora_test.cpp. Fixture: tests/reference/ref_checkpoint.py (a tiny random Qwen2.5-VL);
// comparison: tests/reference/checkpoint_peft_check.py (PEFT + transformers).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpointer.h"
#include "io/safetensors_writer.h"
#include "models/load_policy.h"
#include "models/lora.h"
#include "parity/lora_test_helpers.h"
#include "support/test_support.h"

namespace balcap::checkpoint {
namespace {

namespace fs = std::filesystem;
using test::reference_path;

// logits [B, S, V] of the policy on the fixture's rows (no grad).
at::Tensor logits_of(models::Policy& policy) {
  return test::text_logits(policy, test::read_input_ids(reference_path("checkpoint", "inputs.json")));
}

TEST(Lora, PeftLoadsBalcapAdaptersAndTheMergedExportMatchesInTransformers) {
  const auto dir = test::scratch_dir();
  const auto base = reference_path("checkpoint", "base");
  auto policy = models::load_policy(base);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  auto lora = models::LoraAdapters::inject(policy->module(), test::lora_test_config(), gen);
  test::randomise_b(lora, gen);
  const auto with_adapters = logits_of(*policy);
  io::save_safetensors(dir / "balcap_logits.safetensors", {{"logits", with_adapters}});

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

}  // namespace
}  // namespace balcap::checkpoint
