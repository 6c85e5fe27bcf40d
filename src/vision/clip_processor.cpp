// CLIP image processor (LLaVA-1.5): config parsing and process() (resize short side, centre
// crop, normalise).
#include "vision/clip_processor.h"

#include <algorithm>
#include <tuple>

#include "core/error.h"
#include "vision/resample.h"
#include "processor_common.h"

namespace balcap::vision {
namespace {

// `size`: int S or {"shortest_edge": S} -> short side S; {"height", "width"} -> exact size.
void read_size(const nlohmann::json& object, const io::JsonFields& fields, ClipProcessorConfig& config) {
  if (!fields.has("size")) return;
  if (object.at("size").is_number_integer()) {
    config.shortest_edge = fields.get_int("size", 0);
  } else if (auto size = fields.object("size"); size && size->has("shortest_edge")) {
    config.shortest_edge = size->get_int("shortest_edge", 0);
  } else if (size && size->has("height") && size->has("width")) {
    config.shortest_edge = 0;
    config.resize_height = size->get_int("height", 0);
    config.resize_width = size->get_int("width", 0);
  } else {
    fields.fail_key("size", "must be an integer, {\"shortest_edge\": S} or {\"height\": H, \"width\": W}",
                    "LLaVA-1.5 uses {\"shortest_edge\": 336}");
  }
  if (config.shortest_edge < 0 || (config.shortest_edge == 0 && (config.resize_height <= 0 || config.resize_width <= 0))) {
    fields.fail_key("size", "must be positive", "LLaVA-1.5 uses {\"shortest_edge\": 336}");
  }
}

// `crop_size`: int C or {"height": H, "width": W}.
void read_crop(const nlohmann::json& object, const io::JsonFields& fields, ClipProcessorConfig& config) {
  if (!fields.has("crop_size")) return;
  if (object.at("crop_size").is_number_integer()) {
    config.crop_height = config.crop_width = fields.get_int("crop_size", 0);
  } else if (auto crop = fields.object("crop_size"); crop && crop->has("height") && crop->has("width")) {
    config.crop_height = crop->get_int("height", 0);
    config.crop_width = crop->get_int("width", 0);
  } else {
    fields.fail_key("crop_size", "must be an integer or {\"height\": H, \"width\": W}",
                    "LLaVA-1.5 uses {\"height\": 336, \"width\": 336}");
  }
  if (config.crop_height <= 0 || config.crop_width <= 0) {
    fields.fail_key("crop_size", "must be positive", "LLaVA-1.5 uses {\"height\": 336, \"width\": 336}");
  }
}

// transformers get_resize_output_image_size(default_to_square=False): (height, width).
std::pair<int64_t, int64_t> resize_size(const ClipProcessorConfig& c, int64_t height, int64_t width) {
  if (c.shortest_edge == 0) return {c.resize_height, c.resize_width};
  const int64_t short_side = std::min(height, width), long_side = std::max(height, width);
  const int64_t new_long = int64_t(double(c.shortest_edge * long_side) / double(short_side));  // int() truncates
  return width <= height ? std::pair{new_long, c.shortest_edge} : std::pair{c.shortest_edge, new_long};
}

// Python floor division (the crop offset is negative when the image is smaller than the crop).
int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

}  // namespace

ClipProcessorConfig ClipProcessorConfig::from_json(const nlohmann::json& object, const std::filesystem::path& file) {
  const io::JsonFields fields(file, object);
  ClipProcessorConfig config;
  detail::read_common_keys(object, fields, config);
  config.do_center_crop = fields.get_bool("do_center_crop", config.do_center_crop);
  read_size(object, fields, config);
  read_crop(object, fields, config);
  return config;
}

ProcessedImage ClipImageProcessor::process(const Image& image) const {
  const ClipProcessorConfig& c = config_;
  int64_t H = image.height, W = image.width;  // the resized image's size
  if (c.do_resize) {
    std::tie(H, W) = resize_size(c, image.height, image.width);
    BALCAP_CHECK(H * W <= kMaxImagePixels,
                 "CLIP processor: a {}x{} image would be resized to {}x{} (its short side to {}), over the limit "
                 "of {} pixels. HINT: crop extreme aspect ratios before preprocessing", image.width, image.height,
                 W, H, c.shortest_edge, kMaxImagePixels);
  }
  // Centre crop; where the image is smaller than the crop, HF pads it with zeros (centred, the
  // extra pixel at the end) before cropping, so out-of-image pixels are 0 before normalising.
  // The crop's first row and column in the resized image (negative where it pads).
  const int64_t out_h = c.do_center_crop ? c.crop_height : H, out_w = c.do_center_crop ? c.crop_width : W;
  const int64_t top = c.do_center_crop ? floor_div2(H - out_h) : 0;
  const int64_t left = c.do_center_crop ? floor_div2(W - out_w) : 0;
  // Only the part of the resized image the crop keeps is resized (the same pixels, bit for bit):
  // rows [y0, y1), columns [x0, x1).
  const int64_t y0 = std::clamp<int64_t>(top, 0, H), y1 = std::clamp<int64_t>(top + out_h, 0, H);
  const int64_t x0 = std::clamp<int64_t>(left, 0, W), x1 = std::clamp<int64_t>(left + out_w, 0, W);
  const Image kept = resize_bicubic_window(image, int(W), int(H), int(x0), int(y0), int(x1 - x0), int(y1 - y0));
  at::Tensor pixels = at::empty({1, 3, out_h, out_w}, at::kFloat);
  float* out = pixels.data_ptr<float>();
  const detail::PixelNormalizer normalize(c.do_rescale, c.rescale_factor, c.do_normalize, c.image_mean, c.image_std);
  for (int ch = 0; ch < 3; ++ch) {
    for (int64_t y = 0; y < out_h; ++y) {
      const int64_t sy = top + y;  // row in the resized image
      for (int64_t x = 0; x < out_w; ++x) {
        const int64_t sx = left + x;
        const bool inside = sy >= y0 && sy < y1 && sx >= x0 && sx < x1;
        out[(ch * out_h + y) * out_w + x] =
            normalize(inside ? kept.rgb[((sy - y0) * kept.width + (sx - x0)) * 3 + ch] : 0, ch);
      }
    }
  }
  ProcessedImage result;
  result.pixel_values = pixels;
  result.num_image_tokens = (out_h / c.patch_size) * (out_w / c.patch_size);
  return result;
}

}  // namespace balcap::vision
