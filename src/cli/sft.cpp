// `balcap sft [--config CFG.yaml] [--set a.b=c ...] [--resume ...] [--run-dir DIR] [--max-steps N]
//             [--save-every N]`: supervised captioning on the reference captions (config `sft:`);
// the final weights go to <sft run_dir>/model/ for the RL phase's model.path.
#include "train/sft_loop.h"
#include "commands.h"
#include "training_args.h"

namespace balcap::cli {

void add_sft_command(CLI::App& app) {
  auto args = std::make_shared<TrainingArgs>();
  auto* cmd = app.add_subcommand("sft", "Supervised captioning (cross-entropy on reference captions) before RL");
  add_training_options(*cmd, *args);
  cmd->callback([args] {
    const config::Config cfg = load_training_config(*args, "sft");
    const int code = train::run_sft(cfg, run_args(*args));
    if (code != 0) std::exit(code);
  });
}

}  // namespace balcap::cli

BALCAP_COMMAND(80, sft);
