#pragma once
// Private to src/plot: Axis ticks for `balcap plot`: "nice" values (1, 2 or 5 times a power of ten) and their labels.
// Pure arithmetic (no drawing), so the choice of ticks is tested on its own.
#include <string>
#include <vector>

namespace balcap::plot {

// Axis ticks: "nice" values (1, 2 or 5 times a power of ten) covering [lo, hi].
struct Ticks {
  double lo = 0, hi = 1, step = 1;  // the axis range (padded) and the tick spacing
  std::vector<double> values;       // ticks inside [lo, hi]
};

// The y range of `values` (NaN/Inf ignored): padded by 5% of the span on each side; a constant series gets +-10% of its
// magnitude (+-1 around 0); no finite value -> [0, 1].
Ticks y_ticks(const std::vector<double>& values, int max_ticks = 8);
// Integer-friendly ticks for steps over [lo, hi] (lo == hi widened by 1 each side).
Ticks x_ticks(double lo, double hi, int max_ticks = 8);
// Tick label: the fewest decimals that tell ticks `step` apart; 1e5 or more / tiny steps: 3 significant digits.
std::string tick_label(double value, double step);

}  // namespace balcap::plot
