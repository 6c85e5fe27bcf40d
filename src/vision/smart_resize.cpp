// Qwen2-VL smart_resize; see the header for the formula.
#include "vision/smart_resize.h"

#include <algorithm>
#include <cfenv>
#include <cmath>

#include "core/error.h"

namespace balcap::vision {
namespace {

// Python's round() on a float: half to even (70/28 = 2.5 -> 2). nearbyint honours the current
// rounding mode, which is round-to-nearest-even unless someone changed it; set it explicitly.
int64_t round_half_even(double x) {
  const int saved = std::fegetround();
  std::fesetround(FE_TONEAREST);
  const double r = std::nearbyint(x);
  std::fesetround(saved);
  return int64_t(r);
}

}  // namespace

ResizeTarget smart_resize(int64_t height, int64_t width, int64_t factor, int64_t min_pixels, int64_t max_pixels,
                          const std::string& what) {
  BALCAP_CHECK(height > 0 && width > 0 && factor > 0, "{} is {}x{}: cannot resize it (factor {})", what, width,
               height, factor);
  const double aspect = double(std::max(height, width)) / double(std::min(height, width));
  BALCAP_CHECK(aspect <= 200.0,
               "{} is {}x{}, an aspect ratio of {:.1f}; Qwen2-VL accepts at most 200 (transformers raises "
               "'absolute aspect ratio must be smaller than 200'). HINT: crop or pad the image", what, width,
               height, aspect);
  const double h = double(height), w = double(width), f = double(factor);
  int64_t h_bar = round_half_even(h / f) * factor;
  int64_t w_bar = round_half_even(w / f) * factor;
  if (h_bar * w_bar > max_pixels) {
    const double beta = std::sqrt(h * w / double(max_pixels));
    h_bar = std::max(factor, int64_t(std::floor(h / beta / f)) * factor);
    w_bar = std::max(factor, int64_t(std::floor(w / beta / f)) * factor);
  } else if (h_bar * w_bar < min_pixels) {
    const double beta = std::sqrt(double(min_pixels) / (h * w));
    h_bar = int64_t(std::ceil(h * beta / f)) * factor;
    w_bar = int64_t(std::ceil(w * beta / f)) * factor;
  }
  return {h_bar, w_bar};
}

}  // namespace balcap::vision
