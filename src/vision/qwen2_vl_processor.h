#pragma once
// Private to src/vision: Qwen2-VL / Qwen2.5-VL image processor (transformers Qwen2VLImageProcessorPil):
// smart_resize to multiples of patch * merge within [min_pixels, max_pixels], PIL bicubic,
// rescale, normalise, then patchify into rows of 3 * temporal_patch * patch^2 values (the image
// repeated on the time axis) ordered for the Conv3d patch embedding.
#include <array>

#include <nlohmann/json.hpp>
#include "vision/image_processor.h"

namespace balcap::vision {

// preprocessor_config.json values; the defaults are the transformers class defaults (the hub
// files of Qwen2-VL/2.5-VL override min/max pixels: 3136 / 12845056).
struct Qwen2VLProcessorConfig {
  int64_t min_pixels = 56 * 56;         // `min_pixels`, else `size.shortest_edge`
  int64_t max_pixels = 28 * 28 * 1280;  // `max_pixels`, else `size.longest_edge`
  int64_t patch_size = 14;
  int64_t temporal_patch_size = 2;
  int64_t merge_size = 2;
  bool do_resize = true;
  bool do_rescale = true;
  bool do_normalize = true;
  double rescale_factor = 1.0 / 255.0;
  std::array<double, 3> image_mean = {0.48145466, 0.4578275, 0.40821073};  // OPENAI_CLIP_MEAN
  std::array<double, 3> image_std = {0.26862954, 0.26130258, 0.27577711};   // OPENAI_CLIP_STD

  // Reads the keys of preprocessor_config.json; wrong types/values -> balcap::Error naming the key.
  static Qwen2VLProcessorConfig from_json(const nlohmann::json& object, const std::filesystem::path& file);
};

class Qwen2VLImageProcessor : public ImageProcessor {
 public:
  explicit Qwen2VLImageProcessor(Qwen2VLProcessorConfig config) : config_(config) {}
  ProcessedImage process(const Image& image) const override;
  std::string_view kind() const override { return "qwen2_vl"; }
  const Qwen2VLProcessorConfig& config() const { return config_; }

 private:
  Qwen2VLProcessorConfig config_;
};

}  // namespace balcap::vision
