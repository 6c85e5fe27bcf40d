// load_image_processor: picks Qwen2-VL or CLIP from a model directory, plus the config helpers
// both processors share.
#include "vision/image_processor.h"

#include <algorithm>

#include "core/error.h"
#include "io/json_file.h"
#include "vision/clip_processor.h"
#include "vision/qwen2_vl_processor.h"
#include "processor_common.h"

namespace balcap::vision {

ImageProcessor::~ImageProcessor() = default;

namespace detail {

std::array<double, 3> read_channel_values(const nlohmann::json& object, const io::JsonFields& fields,
                                          const std::string& key, const std::array<double, 3>& fallback) {
  if (!fields.has(key)) return fallback;
  const nlohmann::json& value = object.at(key);
  if (value.is_number()) return {value.get<double>(), value.get<double>(), value.get<double>()};
  if (value.is_array() && value.size() == 3 &&
      std::all_of(value.begin(), value.end(), [](const nlohmann::json& v) { return v.is_number(); })) {
    return {value[0].get<double>(), value[1].get<double>(), value[2].get<double>()};
  }
  fields.fail_key(key, fmt::format("must be a list of 3 numbers (one per RGB channel), got {}", value.dump()),
                  "use the checkpoint's preprocessor_config.json");
}

void check_bicubic(const io::JsonFields& fields) {
  const int64_t resample = fields.get_int("resample", 3);
  if (resample != 3) {
    fields.fail_key("resample", fmt::format("is {}; balcap implements only 3 (bicubic)", resample),
                    "use a checkpoint whose processor resizes with bicubic (Qwen2-VL, LLaVA-1.5)");
  }
}

}  // namespace detail

namespace {

enum class Family { kQwen2VL, kClip };

// image_processor_type first (as AutoImageProcessor), then config.json's model_type.
Family choose_family(const std::filesystem::path& dir, const io::JsonFields& preprocessor) {
  const std::string type = preprocessor.get_string("image_processor_type", "");
  if (type.starts_with("Qwen2VLImageProcessor")) return Family::kQwen2VL;
  if (type.starts_with("CLIPImageProcessor")) return Family::kClip;
  if (!type.empty()) {
    preprocessor.fail_key("image_processor_type", fmt::format("is '{}', which balcap does not support", type),
                          "supported: Qwen2VLImageProcessor (Qwen2-VL, Qwen2.5-VL) and CLIPImageProcessor (LLaVA-1.5)");
  }
  const auto config_path = dir / "config.json";
  BALCAP_CHECK(std::filesystem::exists(config_path),
               "{}: no 'image_processor_type' and no config.json beside it to tell the model family. HINT: use "
               "the model directory as downloaded from the hub", (dir / "preprocessor_config.json").string());
  const nlohmann::json config = io::read_json_file(config_path);
  const io::JsonFields fields(config_path, config);
  const std::string model_type = fields.get_string("model_type", "");
  if (model_type == "qwen2_vl" || model_type == "qwen2_5_vl") return Family::kQwen2VL;
  if (model_type == "llava") return Family::kClip;
  fields.fail_key("model_type", fmt::format("is '{}', which has no supported image processor", model_type),
                  "supported model types: qwen2_vl, qwen2_5_vl, llava");
}

// LLaVA's vision tower patch size (config.json vision_config.patch_size), 14 when absent.
int64_t clip_patch_size(const std::filesystem::path& dir) {
  const auto config_path = dir / "config.json";
  if (!std::filesystem::exists(config_path)) return 14;
  const nlohmann::json config = io::read_json_file(config_path);
  const io::JsonFields fields(config_path, config);
  auto vision = fields.object("vision_config");
  return vision ? vision->get_int("patch_size", 14) : 14;
}

}  // namespace

std::unique_ptr<ImageProcessor> load_image_processor(const std::filesystem::path& model_dir) {
  return load_image_processor(model_dir, PixelBounds{});
}

std::unique_ptr<ImageProcessor> load_image_processor(const std::filesystem::path& model_dir, const PixelBounds& bounds) {
  const auto path = model_dir / "preprocessor_config.json";
  BALCAP_CHECK(std::filesystem::exists(path),
               "{}: not found; cannot tell how to preprocess images for the model in {}. HINT: --model must be "
               "a Hugging Face model directory containing preprocessor_config.json", path.string(),
               model_dir.string());
  const nlohmann::json json = io::read_json_file(path);
  BALCAP_CHECK(json.is_object(), "{}: must be a JSON object. HINT: use the checkpoint's file", path.string());
  const io::JsonFields fields(path, json);
  if (choose_family(model_dir, fields) == Family::kQwen2VL) {
    Qwen2VLProcessorConfig config = Qwen2VLProcessorConfig::from_json(json, path);
    if (bounds.min_pixels > 0) config.min_pixels = bounds.min_pixels;
    if (bounds.max_pixels > 0) config.max_pixels = bounds.max_pixels;
    BALCAP_CHECK(config.min_pixels <= config.max_pixels,
                 "model.min_pixels ({}) is above model.max_pixels ({}) for {}. HINT: raise max_pixels or lower "
                 "min_pixels (0 keeps the checkpoint's value).",
                 config.min_pixels, config.max_pixels, model_dir.string());
    return std::make_unique<Qwen2VLImageProcessor>(config);
  }
  BALCAP_CHECK(bounds.min_pixels == 0 && bounds.max_pixels == 0,
               "model.min_pixels / model.max_pixels ({} / {}) apply to Qwen2-VL image processors only; {} uses a "
               "fixed-size CLIP crop. HINT: leave them at 0 for this model.",
               bounds.min_pixels, bounds.max_pixels, model_dir.string());
  ClipProcessorConfig config = ClipProcessorConfig::from_json(json, path);
  config.patch_size = clip_patch_size(model_dir);
  return std::make_unique<ClipImageProcessor>(config);
}

}  // namespace balcap::vision
