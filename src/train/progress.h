#pragma once
// Private to src/train: Training progress on stderr: a redrawn bar with rate and ETA on a terminal, plain spdlog lines
// (at most one per `log_every_s`, plus the first and last step) otherwise.
//
//   Progress progress(cfg.train.max_steps, start_step, cfg.logging.progress);  // auto|always|never
//   progress.update(step, "loss 0.123 reward 0.61");   // after step `step` (1-based) finished
//   progress.finish();
// `auto`: the bar when stderr is a terminal; `always`: the bar; `never`: plain lines.
// Other work counts other units: Progress(64, 0, mode, 10.0, {"captioning", "image"}) draws
// "captioning [###---] 8/64 12% 0.50 s/image ETA 28s" (`balcap eval`, train/evaluate.cpp).
#include <chrono>
#include <cstdint>
#include <string>

namespace balcap::train {

// "1h02m", "4m05s", "12s".
std::string format_duration(double seconds);
// "[########------------]" with `width` cells for fraction in [0, 1].
std::string progress_bar(double fraction, int width);

// What is counted: `name` starts each line, `unit` is what one count is ("s/unit").
struct ProgressLabel {
  std::string name = "step";
  std::string unit = "step";
};

class Progress {
 public:
  Progress(int64_t total_steps, int64_t start_step, const std::string& mode, double log_every_s = 10.0,
           ProgressLabel label = {});
  ~Progress();

  void update(int64_t step, const std::string& summary);
  void finish();  // ends the bar's line

  bool uses_bar() const { return bar_; }

 private:
  using Clock = std::chrono::steady_clock;
  int64_t total_, start_;
  bool bar_;
  double log_every_s_;
  ProgressLabel label_;
  Clock::time_point t0_, last_log_;
  bool drawn_ = false;
};

}  // namespace balcap::train
