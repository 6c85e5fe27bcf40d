// `balcap recaption --model DIR_OR_URL --data IN.jsonl --out OUT.jsonl [--prompt TEXT] [--system TEXT]
//  [--max-new-tokens N] [--batch N] [--device D] [--dtype T] [--api-key-env VAR] [--model-name NAME]
//  [--concurrency N] [--shard i/n] ...`
// New reference captions for a dataset with a multimodal model, local or behind an OpenAI-compatible
// endpoint (rewards/recaption.h; docs/data.md "Recaptioning references"). Resumable: rerun the same
// command after a crash. Progress on stderr (a bar on a terminal, a line every 10 s otherwise); one
// JSON summary line on stdout: {"out", "errors", "records", "resumed", "written", "failed"}.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "rewards/recaption.h"
#include "commands.h"
#include "device_options.h"

namespace balcap::cli {
namespace {

struct RecaptionArgs {
  rewards::RecaptionOptions options;
  std::string data, out, prompt, shard, dtype = "auto";
};

// "1h02m", "4m05s", "12s".
std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<std::int64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

// Counts, rate and ETA on stderr: redrawn on a terminal, else a log line at most every 10 s (and the last).
class ProgressReport {
 public:
  void operator()(const rewards::RecaptionProgress& p) {
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed >= 1 ? static_cast<double>(p.written + p.failed) / elapsed : 0;
    const std::string text =
        fmt::format("{}/{} records ({:.1f}%) | {} written, {} failed, {} resumed | {:.2f} rec/s | ETA {}", p.done,
                    p.total, p.total > 0 ? 100.0 * p.done / p.total : 100.0, p.written, p.failed, p.resumed, rate,
                    duration(p.done == p.total ? 0 : rate > 0 ? (p.total - p.done) / rate : NAN));
    if (bar_) {
      const int full = p.total > 0 ? static_cast<int>(24 * p.done / p.total) : 24;
      std::fprintf(stderr, "\rrecaption [%s%s] %s\033[K", std::string(full, '#').c_str(),
                   std::string(24 - full, '-').c_str(), text.c_str());
      std::fflush(stderr);
      drawn_ = true;
    } else if (first_ || p.done == p.total || std::chrono::duration<double>(now - last_).count() >= 10.0) {
      spdlog::info("recaption: {}", text);
      last_ = now;
      first_ = false;  // the first batch, then every 10 s, and the last
    }
  }
  void finish() {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_ = Clock::now(), last_ = start_;
  bool bar_ = ::isatty(STDERR_FILENO) == 1;
  bool drawn_ = false, first_ = true;
};

// --dtype: auto or the spellings parse_dtype accepts, as the judge config names them.
std::string judge_dtype(const std::string& name) {
  if (name == "auto") return name;
  const at::ScalarType t = parse_dtype(name);
  return t == at::kFloat ? "float32" : t == at::kBFloat16 ? "bfloat16" : "float16";
}

// --shard i/n -> (i, n).
std::pair<std::int64_t, std::int64_t> parse_shard(const std::string& text) {
  std::int64_t i = 0, n = 1;
  char slash = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%ld %c %ld %c", &i, &slash, &n, &extra) != 3 || slash != '/' || n < 1 || i < 0 ||
      i >= n) {
    usage_fail("--shard '{}' is not i/n with 0 <= i < n. HINT: e.g. --shard 0/4 ... --shard 3/4 on four GPUs", text);
  }
  return {i, n};
}

void run(RecaptionArgs& a) {
  rewards::RecaptionOptions& o = a.options;
  o.data = a.data;
  o.out = a.out;
  if (!a.prompt.empty()) o.prompt = a.prompt;
  o.dtype = judge_dtype(a.dtype);
  if (o.device != "auto") (void)parse_device(o.device);
  if (!a.shard.empty()) std::tie(o.shard_index, o.shard_count) = parse_shard(a.shard);
  ProgressReport progress;
  const rewards::RecaptionSummary s = rewards::recaption(o, [&progress](const auto& p) { progress(p); });
  progress.finish();
  if (s.counts.failed > 0) {
    spdlog::warn("recaption: {} record(s) failed; listed in {}. HINT: rerun the same command to retry them",
                 s.counts.failed, s.errors.string());
  }
  std::cout << nlohmann::json{{"out", s.out.string()},          {"errors", s.errors.string()},
                              {"records", s.counts.total},      {"resumed", s.counts.resumed},
                              {"written", s.counts.written},    {"failed", s.counts.failed}}
                   .dump()
            << std::endl;
}

}  // namespace

void add_recaption_command(CLI::App& app) {
  auto args = std::make_shared<RecaptionArgs>();
  auto& o = args->options;
  auto* cmd = app.add_subcommand("recaption", "New reference captions for a dataset from a multimodal model or endpoint "
                                              "(resumable)");
  cmd->add_option("--model", o.model, "Qwen2.5-VL / LLaVA-1.5 checkpoint directory, or an http(s):// endpoint "
                                      "(e.g. http://host:8000/v1, vLLM)")->required();
  cmd->add_option("--data", args->data, "Input dataset JSONL (docs/data.md)")->required();
  cmd->add_option("--out", args->out, "Output JSONL; an existing one is resumed")->required();
  cmd->add_option("--prompt", args->prompt, "Instruction for every record (default: the record's \"prompt\" field, "
                                            "else ShareGPT4V's Share-Captioner instruction)");
  cmd->add_option("--system", o.system, "System message (default none)");
  cmd->add_option("--max-new-tokens", o.max_new_tokens, "Longest caption in tokens")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Records per model call and per write")->capture_default_str();
  cmd->add_option("--device", o.device, "Local model: auto (cuda when present), cpu, cuda or cuda:N")
      ->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "Local model: auto (bf16 on GPU, f32 on CPU), f32, bf16, f16")
      ->capture_default_str();
  cmd->add_option("--api-key-env", o.api_key_env, "Endpoint: environment variable holding the API key");
  cmd->add_option("--model-name", o.model_name, "Endpoint: the `model` field sent (default: the server's only model)");
  cmd->add_option("--concurrency", o.concurrency, "Endpoint: requests in flight")->capture_default_str();
  cmd->add_option("--timeout", o.timeout_s, "Endpoint: seconds per request")->capture_default_str();
  cmd->add_option("--max-retries", o.max_retries, "Endpoint: retries of a failed request")->capture_default_str();
  cmd->add_option("--shard", args->shard, "i/n: caption only the i-th of n contiguous blocks of the input lines");
  cmd->add_option("--max-consecutive-failures", o.max_consecutive_failures,
                  "Stop after this many records in a row fail in the model/endpoint (0 = never)")
      ->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace balcap::cli

BALCAP_COMMAND(45, recaption);
