#pragma once
// Private to src/vision: Qwen2-VL's smart_resize (transformers models/qwen2_vl/image_processing_*qwen2_vl.py): the
// target size whose sides are multiples of `factor` (patch_size * merge_size = 28), with
// height * width inside [min_pixels, max_pixels] and the aspect ratio kept as well as possible.
#include <cstdint>
#include <string>

namespace balcap::vision {

struct ResizeTarget {
  int64_t height = 0;
  int64_t width = 0;
};

// Computed in double from the original integer sizes, with Python's round-half-to-even:
//   h = round(height / factor) * factor (same for w);
//   if h * w > max_pixels: beta = sqrt(height * width / max_pixels),
//                          h = max(factor, floor(height / beta / factor) * factor) (same for w);
//   elif h * w < min_pixels: beta = sqrt(min_pixels / (height * width)),
//                            h = ceil(height * beta / factor) * factor (same for w).
// An aspect ratio max/min > 200 is a balcap::Error (HF raises ValueError); `what` names the
// image in that message.
ResizeTarget smart_resize(int64_t height, int64_t width, int64_t factor, int64_t min_pixels, int64_t max_pixels,
                          const std::string& what = "image");

}  // namespace balcap::vision
