// Qwen2-VL image processor: config parsing and process() (resize, normalise, patchify).
#include "vision/qwen2_vl_processor.h"

#include "core/error.h"
#include "vision/resample.h"
#include "vision/smart_resize.h"
#include "processor_common.h"

namespace balcap::vision {
namespace {

int64_t positive_int(const io::JsonFields& fields, const std::string& key, int64_t fallback) {
  const int64_t v = fields.get_int(key, fallback);
  if (v <= 0) fields.fail_key(key, fmt::format("must be positive, got {}", v), "use the checkpoint's value");
  return v;
}

// Pixel limits: class defaults, replaced by `size` (v5 naming), overridden by min/max_pixels.
void read_pixel_limits(const io::JsonFields& fields, Qwen2VLProcessorConfig& config) {
  std::optional<int64_t> shortest = config.min_pixels, longest = config.max_pixels;
  if (auto size = fields.object("size")) {
    shortest = size->get_optional_int("shortest_edge");
    longest = size->get_optional_int("longest_edge");
  }
  if (auto v = fields.get_optional_int("min_pixels")) shortest = v;
  if (auto v = fields.get_optional_int("max_pixels")) longest = v;
  if (!shortest || !longest || *shortest <= 0 || *longest <= 0) {
    fields.fail_key("size", "needs positive 'shortest_edge' and 'longest_edge' (or top-level min_pixels/max_pixels)",
                    "Qwen2-VL hub files give min_pixels 3136 and max_pixels 12845056");
  }
  config.min_pixels = *shortest;
  config.max_pixels = *longest;
}

}  // namespace

Qwen2VLProcessorConfig Qwen2VLProcessorConfig::from_json(const nlohmann::json& object,
                                                         const std::filesystem::path& file) {
  const io::JsonFields fields(file, object);
  Qwen2VLProcessorConfig config;
  detail::read_common_keys(object, fields, config);
  read_pixel_limits(fields, config);
  config.patch_size = positive_int(fields, "patch_size", config.patch_size);
  config.temporal_patch_size = positive_int(fields, "temporal_patch_size", config.temporal_patch_size);
  config.merge_size = positive_int(fields, "merge_size", config.merge_size);
  return config;
}

ProcessedImage Qwen2VLImageProcessor::process(const Image& image) const {
  const Qwen2VLProcessorConfig& c = config_;
  const int64_t factor = c.patch_size * c.merge_size;
  Image resized = image;
  if (c.do_resize) {
    const ResizeTarget target = smart_resize(image.height, image.width, factor, c.min_pixels, c.max_pixels);
    resized = resize_bicubic(image, int(target.width), int(target.height));
  }
  const int64_t H = resized.height, W = resized.width, p = c.patch_size, m = c.merge_size;
  BALCAP_CHECK(H % factor == 0 && W % factor == 0,
               "Qwen2-VL processor: a {}x{} image is not a multiple of patch_size * merge_size = {} (do_resize is "
               "false). HINT: enable do_resize or resize the image first", W, H, factor);
  const int64_t grid_h = H / p, grid_w = W / p, T = c.temporal_patch_size;
  const int64_t row_size = 3 * T * p * p;
  at::Tensor pixels = at::empty({grid_h * grid_w, row_size}, at::kFloat);
  float* out = pixels.data_ptr<float>();
  const detail::PixelNormalizer normalize(c.do_rescale, c.rescale_factor, c.do_normalize, c.image_mean, c.image_std);
  // Row r = ((bh * grid_w/m + bw) * m + mh) * m + mw holds patch (row bh*m+mh, column bw*m+mw);
  // column ((ch * T + t) * p + py) * p + px; every t holds the same frame (the image repeated).
  for (int64_t gy = 0; gy < grid_h; ++gy) {
    for (int64_t gx = 0; gx < grid_w; ++gx) {
      const int64_t bh = gy / m, mh = gy % m, bw = gx / m, mw = gx % m;
      float* row = out + (((bh * (grid_w / m) + bw) * m + mh) * m + mw) * row_size;
      for (int ch = 0; ch < 3; ++ch) {
        for (int64_t py = 0; py < p; ++py) {
          const uint8_t* src = &resized.rgb[((gy * p + py) * W + gx * p) * 3 + ch];
          float* dst = row + (ch * T * p + py) * p;
          for (int64_t px = 0; px < p; ++px) dst[px] = normalize(src[px * 3], ch);
          for (int64_t t = 1; t < T; ++t) std::copy(dst, dst + p, dst + t * p * p);
        }
      }
    }
  }
  ProcessedImage result;
  result.pixel_values = pixels;
  result.image_grid_thw = at::tensor(std::vector<int64_t>{1, grid_h, grid_w}, at::kLong).reshape({1, 3});
  result.num_image_tokens = grid_h * grid_w / (m * m);
  return result;
}

}  // namespace balcap::vision
