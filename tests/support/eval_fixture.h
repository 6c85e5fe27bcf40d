#pragma once
// The `balcap eval` tests' world: `eval_n` synthetic held-out scenes (`balcap data synth`, seed 3), a
// random tiny Qwen2.5-VL (`balcap model init`, the Qwen tokenizer) and a config that scores with the
// scene judge (`rewards_yaml`: the rewards: section), 6 new tokens, CPU float32, seed 5.
#include <filesystem>
#include <string>

#include "support/test_support.h"

namespace balcap::test {

struct EvalFixture {
  std::filesystem::path dir, model, eval_data, cfg;
};

inline EvalFixture make_eval_fixture(const std::string& name, int eval_n, const std::string& rewards_yaml) {
  namespace fs = std::filesystem;
  EvalFixture f;
  f.dir = scratch_dir() / name;
  fs::remove_all(f.dir);
  fs::create_directories(f.dir);
  CommandResult r = run_balcap("data synth --out " + shell_quote((f.dir / "data").string()) + " --n 1 --split-eval " +
                               std::to_string(eval_n) + " --seed 3");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  f.eval_data = f.dir / "data" / "eval.jsonl";
  f.model = f.dir / "model";
  r = run_balcap("model init --template " +
                 shell_quote((fs::path(kSourceDir) / "configs/models/tiny_qwen2_5_vl").string()) + " --tokenizer " +
                 shell_quote(data_path("tokenizers/qwen").string()) + " --out " + shell_quote(f.model.string()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  f.cfg = f.dir / "cfg.yaml";
  write_file(f.cfg, "model:\n  path: '" + f.model.string() + "'\ndata:\n  train: '" + f.eval_data.string() +
                        "'\n  eval: '" + f.eval_data.string() +
                        "'\nsampling:\n  max_new_tokens: 6\n  cuda_graphs: false\n"
                        "train:\n  dtype: float32\n  device: cpu\n  seed: 5\n" + rewards_yaml);
  return f;
}

}  // namespace balcap::test
