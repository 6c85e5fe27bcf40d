// `balcap train [--config CFG.yaml] [--set a.b=c ...] [--resume auto|none|PATH] [--resume-force]
//               [--run-dir DIR] [--max-steps N] [--save-every N]`: the BalCapRL loop (docs/training.md).
#include "train/train_loop.h"
#include "commands.h"
#include "training_args.h"

namespace balcap::cli {

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainingArgs>();
  auto* cmd = app.add_subcommand("train", "RL fine-tuning of a captioning policy (BalCapRL loop)");
  add_training_options(*cmd, *args);
  cmd->callback([args] {
    const config::Config cfg = load_training_config(*args, "train");
    const int code = train::run_training(cfg, run_args(*args));
    if (code != 0) std::exit(code);
  });
}

}  // namespace balcap::cli

BALCAP_COMMAND(90, train);
