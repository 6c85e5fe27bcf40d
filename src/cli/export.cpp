// `balcap export --checkpoint DIR --out DIR [--adapters] [--base DIR] [--dtype auto|f32|bf16|f16]`
// Turns a training checkpoint (RUN_DIR/checkpoints/step-N, or a run directory: its newest complete
// checkpoint) into something transformers / PEFT load:
//   full fine-tuning checkpoint (step-N/model/)  -> a copy of that HF model directory;
//   LoRA checkpoint (step-N/adapter/)           -> the base model with the adapters merged
//                                                  (W += alpha/r * B A), saved in the HF layout;
//                                    --adapters -> the PEFT adapter directory as is.
// The base model is --base, else the checkpoint's config.yaml model.path, else adapter_config.json's
// base_model_name_or_path. Prints one JSON line {"out", "kind": "model"|"merged"|"adapters", "checkpoint"}.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "checkpoint/checkpointer.h"
#include "checkpoint/resume.h"
#include "config/load.h"
#include "core/error.h"
#include "io/json_file.h"
#include "io/safetensors_checkpoint.h"
#include "models/load_policy.h"
#include "models/lora.h"
#include "commands.h"

namespace balcap::cli {
namespace {

namespace fs = std::filesystem;

struct ExportArgs {
  std::string checkpoint, out, base, dtype = "auto";
  bool adapters = false;
};

void copy_tree(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

// The base model of a LoRA checkpoint (see the file comment).
fs::path base_model_of(const fs::path& ckpt, const ExportArgs& args) {
  if (!args.base.empty()) return args.base;
  std::error_code ec;
  if (fs::exists(checkpoint::config_file(ckpt), ec)) {
    std::ifstream in(checkpoint::config_file(ckpt));
    std::stringstream text;
    text << in.rdbuf();
    const auto cfg = config::load_config_text(text.str(), checkpoint::config_file(ckpt).string());
    if (!cfg.model.path.empty()) return cfg.model.path;
  }
  const auto adapter_cfg = io::read_json_file(checkpoint::adapter_dir(ckpt) / "adapter_config.json");
  const auto base = adapter_cfg.value("base_model_name_or_path", std::string());
  BALCAP_CHECK(!base.empty(),
               "{}: no base model recorded. HINT: pass --base DIR (the model the adapters were trained on)",
               ckpt.string());
  return base;
}

at::ScalarType export_dtype(const std::string& name, const fs::path& base) {
  if (name == "f32" || name == "float32") return at::kFloat;
  if (name == "bf16" || name == "bfloat16") return at::kBFloat16;
  if (name == "f16" || name == "float16") return at::kHalf;
  if (name != "auto") usage_fail("--dtype '{}' is not supported. HINT: use auto, f32, bf16 or f16.", name);
  // auto: the dtype the base model's weights have on disk.
  const io::SafetensorsCheckpoint weights(base);
  const auto dtype = weights.tensor(weights.names().front()).scalar_type();
  return (dtype == at::kBFloat16 || dtype == at::kHalf) ? dtype : at::kFloat;
}

void run(const ExportArgs& args) {
  const auto ckpt = checkpoint::resolve_resume(args.checkpoint, "");
  BALCAP_CHECK(ckpt.has_value(), "--checkpoint '{}': not a checkpoint. HINT: pass RUN_DIR/checkpoints/step-N",
               args.checkpoint);
  const fs::path out(args.out);
  std::error_code ec;
  BALCAP_CHECK(!fs::exists(out, ec) || fs::is_empty(out, ec),
               "--out {}: the directory exists and is not empty. HINT: choose a new directory", out.string());
  std::string kind;
  if (fs::is_directory(checkpoint::model_dir(*ckpt), ec)) {
    if (args.adapters) {
      usage_fail("--adapters: {} holds a fully fine-tuned model, not LoRA adapters. HINT: drop --adapters",
                 ckpt->string());
    }
    copy_tree(checkpoint::model_dir(*ckpt), out);
    kind = "model";
  } else if (fs::is_directory(checkpoint::adapter_dir(*ckpt), ec)) {
    if (args.adapters) {
      copy_tree(checkpoint::adapter_dir(*ckpt), out);
      kind = "adapters";
    } else {
      const auto base = base_model_of(*ckpt, args);
      auto policy = models::load_policy(base, export_dtype(args.dtype, base), at::kCPU);
      auto lora = models::LoraAdapters::load_peft(policy->module(), checkpoint::adapter_dir(*ckpt));
      lora.merge_and_remove();
      policy->save_pretrained(out);
      kind = "merged";
    }
  } else {
    fail("{}: neither model/ nor adapter/ inside. HINT: pass a checkpoint written by balcap train", ckpt->string());
  }
  std::cout << nlohmann::json{{"out", out.string()}, {"kind", kind}, {"checkpoint", ckpt->string()}}.dump() << "\n";
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export",
                                 "Export a training checkpoint as a transformers model (LoRA merged) or PEFT adapters");
  cmd->add_option("--checkpoint", args->checkpoint, "RUN_DIR/checkpoints/step-N (or a run directory: its newest)")
      ->required();
  cmd->add_option("--out", args->out, "Output directory (new or empty)")->required();
  cmd->add_flag("--adapters", args->adapters, "LoRA checkpoints: write the PEFT adapters instead of a merged model");
  cmd->add_option("--base", args->base, "LoRA: the base model directory (default: the checkpoint's model.path)");
  cmd->add_option("--dtype", args->dtype, "Merged weights dtype: auto (the base's), f32, bf16 or f16");
  cmd->callback([args] { run(*args); });
}

}  // namespace balcap::cli

BALCAP_COMMAND(100, export);
