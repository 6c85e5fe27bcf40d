// Axis ticks and labels; see src/plot/ticks.h.
#include "plot/ticks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace balcap::plot {
namespace {

constexpr size_t kMaxTicks = 64;  // guards against a degenerate step

// The smallest 1/2/5 x 10^k that is >= raw (raw > 0).
double nice_step(double raw) {
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw * (1 - 1e-9)) return m * p;
  }
  return 10 * p;
}

Ticks make_ticks(double lo, double hi, double step) {
  Ticks t{lo, hi, step, {}};
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && t.values.size() < kMaxTicks; v += step) {
    t.values.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);  // no "-0"
  }
  return t;
}

}  // namespace

Ticks y_ticks(const std::vector<double>& values, int max_ticks) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (lo > hi) return make_ticks(0.0, 1.0, nice_step(1.0 / std::max(max_ticks - 1, 1)));
  // Why the padding: a line along the frame is hard to see; a constant line sits mid-panel.
  const double pad = hi > lo ? 0.05 * (hi - lo) : (lo != 0 ? 0.1 * std::abs(lo) : 1.0);
  lo -= pad;
  hi += pad;
  return make_ticks(lo, hi, nice_step((hi - lo) / std::max(max_ticks - 1, 1)));
}

Ticks x_ticks(double lo, double hi, int max_ticks) {
  if (!(hi > lo)) lo -= 1, hi += 1;
  // Steps are integers: never a fractional tick spacing.
  return make_ticks(lo, hi, std::max(1.0, nice_step((hi - lo) / std::max(max_ticks - 1, 1))));
}

std::string tick_label(double value, double step) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(std::abs(step)) + 1e-9)));
  // A value that prints as zero is zero: no "-0.0" from rounding noise.
  if (std::abs(value) < 0.5 * std::pow(10.0, -decimals)) value = 0.0;
  if (std::abs(value) < 1e5 && decimals <= 4) return fmt::format("{:.{}f}", value, decimals);
  // Large values or tiny steps: as many significant digits as tell neighbouring ticks apart.
  const double magnitude = std::max(std::abs(value), std::abs(step));
  const int digits = static_cast<int>(std::floor(std::log10(magnitude)) - std::floor(std::log10(std::abs(step)))) + 1;
  return fmt::format("{:.{}g}", value, std::clamp(digits, 2, 12));
}

}  // namespace balcap::plot
