// `balcap config check|docs|default`: the real binary's output and exit codes.
#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.h"
#include "config/load.h"
#include "balcap_test/test_paths.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using balcap::test::read_file;
using balcap::test::run_balcap;
using balcap::test::scratch_dir;
using balcap::test::shell_quote;
using balcap::test::write_file;

std::string source_path(const std::string& relative) {
  return shell_quote((fs::path(balcap::test::kSourceDir) / relative).string());
}

TEST(CliConfig, CheckPrintsTheResolvedConfigAndExitsZero) {
  auto r = run_balcap("config check " + source_path("configs/demo.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // What it prints is the file's config, every key resolved.
  auto from_file = balcap::config::load_config(fs::path(balcap::test::kSourceDir) / "configs/demo.yaml");
  EXPECT_EQ(balcap::config::load_config_text(r.out, "stdout"), from_file);
  EXPECT_NE(r.out.find("  group_size: 8\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  clip_high: 0.28\n"), std::string::npos) << r.out;  // a default the file does not set
}

TEST(CliConfig, CheckAppliesRepeatedSetOverrides) {
  auto r = run_balcap("config check " + source_path("configs/demo.yaml") +
                      " --set sampling.temperature=0.7 --set 'sampling.stop_token_ids=[1, 2]' "
                      "--set rewards.objectives.linguistic.weight=0.5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("  temperature: 0.7\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  stop_token_ids: [1, 2]\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    linguistic:\n      scorer: judge_rating\n      judge: scene\n      weight: 0.5\n"),
            std::string::npos)
      << r.out;
}

TEST(CliConfig, UnknownYamlKeyExitsOneNamingKeyAndLine) {
  auto file = scratch_dir() / "bad.yaml";
  write_file(file, "model:\n  path: m\ndata:\n  train: t.jsonl\ntrain:\n  max_step: 3\n");
  auto r = run_balcap("config check " + shell_quote(file.string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("bad.yaml:6: unknown key 'train.max_step' (did you mean 'train.max_steps'?)"), std::string::npos)
      << r.err;
}

TEST(CliConfig, WrongYamlTypeExitsOneNamingKeyLineAndValue) {
  auto file = scratch_dir() / "bad.yaml";
  write_file(file, "model:\n  path: m\ndata:\n  train: t.jsonl\noptim:\n  lr: fast\n");
  auto r = run_balcap("config check " + shell_quote(file.string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.yaml:6: 'optim.lr' expects a float, found 'fast'"), std::string::npos) << r.err;
}

TEST(CliConfig, UnknownSetKeyExitsOneNamingIt) {
  auto r = run_balcap("config check " + source_path("configs/demo.yaml") + " --set train.lora.rank=8");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--set train.lora.rank=8: unknown key 'train.lora.rank'"), std::string::npos) << r.err;
}

TEST(CliConfig, MissingFileExitsOne) {
  auto r = run_balcap("config check " + shell_quote((scratch_dir() / "none.yaml").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("none.yaml: file not found"), std::string::npos) << r.err;
}

TEST(CliConfig, CheckWithoutAFileIsAUsageError) {
  auto r = run_balcap("config check");
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST(CliConfig, ConfigWithoutASubcommandIsAUsageError) {
  auto r = run_balcap("config");
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST(CliConfig, DocsPrintsTheCommittedReference) {
  auto r = run_balcap("config docs");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out == read_file(fs::path(balcap::test::kSourceDir) / "docs/config.md"))
      << "docs/config.md is stale. Regenerate: build/bin/balcap config docs > docs/config.md";
}

TEST(CliConfig, DefaultPrintsEveryDefault) {
  auto r = run_balcap("config default");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // It reads back (with the two required keys supplied) to the struct defaults.
  auto cfg = balcap::config::load_config_text(r.out, "stdout", {"model.path=m", "data.train=t"});
  auto expected = balcap::config::default_config();
  expected.model.path = "m";
  expected.data.train = "t";
  EXPECT_EQ(cfg, expected);
}

}  // namespace
