#pragma once
// Private to src/train: Training progress on stderr: a redrawn bar with rate and ETA on a terminal, plain spdlog lines
// (at most one per `log_every_s`, plus the first and last step) otherwise.
//
//   Progress progress(cfg.train.max_steps, start_step, cfg.logging.progress);  // auto|always|never
//   progress.update(step, "loss 0.123 reward 0.61");   // after step `step` (1-based) finished
//   progress.finish();
// `auto`: the bar when stderr is a terminal; `always`: the bar; `never`: plain lines.
#include <chrono>
#include <cstdint>
#include <string>

namespace balcap::train {

// "1h02m", "4m05s", "12s".
std::string format_duration(double seconds);
// "[########------------]" with `width` cells for fraction in [0, 1].
std::string progress_bar(double fraction, int width);

class Progress {
 public:
  Progress(int64_t total_steps, int64_t start_step, const std::string& mode, double log_every_s = 10.0);
  ~Progress();

  void update(int64_t step, const std::string& summary);
  void finish();  // ends the bar's line

  bool uses_bar() const { return bar_; }

 private:
  using Clock = std::chrono::steady_clock;
  int64_t total_, start_;
  bool bar_;
  double log_every_s_;
  Clock::time_point t0_, last_log_;
  bool drawn_ = false;
};

}  // namespace balcap::train
