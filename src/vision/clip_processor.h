#pragma once
// Private to src/vision: CLIP image processor as LLaVA-1.5 uses it (transformers CLIPImageProcessorPil): resize the
// shortest side to size.shortest_edge (long side int(S * long / short)), PIL bicubic, centre crop
// (top = (H - crop_h) // 2), rescale, normalise -> [1, 3, crop_h, crop_w].
#include <array>

#include <nlohmann/json.hpp>
#include "vision/image_processor.h"

namespace balcap::vision {

struct ClipProcessorConfig {
  // `size`: an int or {"shortest_edge": S} (resize the short side to S), or {"height", "width"}.
  int64_t shortest_edge = 224;
  int64_t resize_height = 0, resize_width = 0;  // used when shortest_edge == 0
  int64_t crop_height = 224, crop_width = 224;  // `crop_size`: an int or {"height", "width"}
  bool do_resize = true;
  bool do_center_crop = true;
  bool do_rescale = true;
  bool do_normalize = true;
  double rescale_factor = 1.0 / 255.0;
  std::array<double, 3> image_mean = {0.48145466, 0.4578275, 0.40821073};
  std::array<double, 3> image_std = {0.26862954, 0.26130258, 0.27577711};
  int64_t patch_size = 14;  // the vision tower's patch (config.json vision_config.patch_size)

  // Reads the keys of preprocessor_config.json (`object`, from `file`); bad values -> balcap::Error.
  static ClipProcessorConfig from_json(const nlohmann::json& object, const std::filesystem::path& file);
};

class ClipImageProcessor : public ImageProcessor {
 public:
  explicit ClipImageProcessor(ClipProcessorConfig config) : config_(config) {}
  ProcessedImage process(const Image& image) const override;
  std::string_view kind() const override { return "clip"; }
  const ClipProcessorConfig& config() const { return config_; }

 private:
  ClipProcessorConfig config_;
};

}  // namespace balcap::vision
