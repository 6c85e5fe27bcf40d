#pragma once
// The image-processor seam: an RGB image in, the model's pixel tensors out. Implementations:
// Qwen2-VL (qwen2_vl_processor.h) and CLIP for LLaVA-1.5 (clip_processor.h), both matching the
// transformers image processors with the PIL backend.
#include <ATen/ATen.h>

#include <filesystem>
#include <memory>
#include <string_view>

#include "vision/image.h"

namespace balcap::vision {

struct ProcessedImage {
  // Qwen2-VL: [N, 3 * temporal_patch * patch * patch] = [N, 1176] float32, N = grid_h * grid_w.
  // CLIP: [1, 3, crop_h, crop_w] = [1, 3, 336, 336] float32.
  at::Tensor pixel_values;
  // Qwen2-VL: int64 [1, 3] = [grid_t = 1, grid_h, grid_w] in patches; undefined for CLIP.
  at::Tensor image_grid_thw;
  // Tokens the language model sees for this image: Qwen2-VL N / merge_size^2; CLIP
  // (crop / patch)^2 = 576 for LLaVA-1.5.
  int64_t num_image_tokens = 0;
};

class ImageProcessor {
 public:
  virtual ~ImageProcessor();
  virtual ProcessedImage process(const Image& image) const = 0;
  // "qwen2_vl" or "clip".
  virtual std::string_view kind() const = 0;
};

// Reads `model_dir`/preprocessor_config.json (and config.json's model_type when the processor
// type is absent) and builds the matching processor: image_processor_type Qwen2VLImageProcessor*
// or model_type qwen2_vl / qwen2_5_vl -> Qwen2-VL; CLIPImageProcessor* or llava -> CLIP.
// Missing files, unknown types and bad values -> balcap::Error naming the file, key and value.
std::unique_ptr<ImageProcessor> load_image_processor(const std::filesystem::path& model_dir);

// Run-config overrides of the checkpoint's pixel budget (model.min_pixels / model.max_pixels in the
// YAML); 0 keeps preprocessor_config.json's value. Qwen2-VL only: a non-zero bound for a CLIP
// processor (fixed 336 px crop), or min > max, -> balcap::Error naming the key.
struct PixelBounds {
  int64_t min_pixels = 0;
  int64_t max_pixels = 0;
};
std::unique_ptr<ImageProcessor> load_image_processor(const std::filesystem::path& model_dir, const PixelBounds& bounds);

}  // namespace balcap::vision
