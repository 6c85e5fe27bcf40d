#pragma once
// Private to src/vision: pieces shared by the Qwen2-VL and CLIP processors.
#include <array>
#include <string>

#include "io/json_file.h"

namespace balcap::vision::detail {

// transformers' PIL backend on a uint8 sample: rescale = float32(float64(v) * factor), then
// normalise = (x - float32(mean)) / float32(std) in float32.
struct PixelNormalizer {
  bool do_rescale = true;
  bool do_normalize = true;
  double rescale_factor = 1.0 / 255.0;
  std::array<float, 3> mean{}, std{};

  PixelNormalizer(bool rescale, double factor, bool normalize, const std::array<double, 3>& mean_in,
                  const std::array<double, 3>& std_in)
      : do_rescale(rescale), do_normalize(normalize), rescale_factor(factor) {
    for (int c = 0; c < 3; ++c) mean[c] = float(mean_in[c]), std[c] = float(std_in[c]);
  }
  float operator()(uint8_t v, int channel) const {
    float x = do_rescale ? float(double(v) * rescale_factor) : float(v);
    return do_normalize ? (x - mean[channel]) / std[channel] : x;
  }
};

// `image_mean` / `image_std`: a list of 3 numbers or one number for all channels.
std::array<double, 3> read_channel_values(const nlohmann::json& object, const io::JsonFields& fields,
                                          const std::string& key, const std::array<double, 3>& fallback);

// `resample` must be absent or 3 (PIL bicubic): the only filter balcap implements.
void check_bicubic(const io::JsonFields& fields);

// Shared flags: do_resize, do_rescale, rescale_factor, do_normalize, image_mean, image_std.
template <typename Config>
void read_common_keys(const nlohmann::json& object, const io::JsonFields& fields, Config& config) {
  check_bicubic(fields);
  config.do_resize = fields.get_bool("do_resize", config.do_resize);
  config.do_rescale = fields.get_bool("do_rescale", config.do_rescale);
  config.do_normalize = fields.get_bool("do_normalize", config.do_normalize);
  config.rescale_factor = fields.get_double("rescale_factor", config.rescale_factor);
  config.image_mean = read_channel_values(object, fields, "image_mean", config.image_mean);
  config.image_std = read_channel_values(object, fields, "image_std", config.image_std);
  for (double s : config.image_std) {
    if (!(s > 0.0)) fields.fail_key("image_std", "must be positive", "use the checkpoint's preprocessor_config.json");
  }
}

}  // namespace balcap::vision::detail
