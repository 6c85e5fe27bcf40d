// `balcap preprocess --model DIR --image IMG [--out OUT.safetensors]`
// Decodes IMG, runs the model's image processor (Qwen2-VL or CLIP, chosen from DIR's
// preprocessor_config.json / config.json), optionally writes float32 `pixel_values` (Qwen:
// [N, 1176]; CLIP: [1, 3, 336, 336]) and, for Qwen, int64 `image_grid_thw` [1, 3] as
// safetensors, and prints one JSON line with the shapes and the image-token count.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "io/json_file.h"
#include "io/safetensors_writer.h"
#include "vision/image.h"
#include "vision/image_processor.h"
#include "commands.h"

namespace balcap::cli {
namespace {

namespace fs = std::filesystem;

struct PreprocessArgs {
  std::string model, image, out;
};

// config.json's model_type ("qwen2_5_vl", "llava", ...), or the processor kind without one.
std::string family_name(const fs::path& model_dir, const vision::ImageProcessor& processor) {
  const fs::path config = model_dir / "config.json";
  if (!fs::exists(config)) return std::string(processor.kind());
  const nlohmann::json json = io::read_json_file(config);
  const auto it = json.is_object() ? json.find("model_type") : json.end();
  return it != json.end() && it->is_string() ? it->get<std::string>() : std::string(processor.kind());
}

vision::ProcessedImage process_image(const vision::ImageProcessor& processor, const std::string& path) {
  const vision::Image image = vision::decode_image_file(path);
  try {
    return processor.process(image);
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());  // name the file in processor errors (e.g. aspect ratio)
  }
}

void run(const PreprocessArgs& args) {
  const auto processor = vision::load_image_processor(args.model);
  const vision::ProcessedImage result = process_image(*processor, args.image);
  nlohmann::json line = {{"image", args.image},
                         {"family", family_name(args.model, *processor)},
                         {"processor", std::string(processor->kind())},
                         {"pixel_values", result.pixel_values.sizes().vec()}};
  if (result.image_grid_thw.defined()) {
    line["image_grid_thw"] = result.image_grid_thw.sizes().vec();
    const int64_t* thw = result.image_grid_thw.data_ptr<int64_t>();
    line["grid_thw"] = {thw[0], thw[1], thw[2]};
  }
  line["num_image_tokens"] = result.num_image_tokens;
  if (!args.out.empty()) {
    std::vector<std::pair<std::string, at::Tensor>> tensors = {{"pixel_values", result.pixel_values}};
    if (result.image_grid_thw.defined()) tensors.emplace_back("image_grid_thw", result.image_grid_thw);
    io::save_safetensors(args.out, tensors,
                     {{"image", args.image}, {"processor", std::string(processor->kind())}});
    line["out"] = args.out;
  }
  std::cout << line.dump() << "\n";
}

}  // namespace

void add_preprocess_command(CLI::App& app) {
  auto args = std::make_shared<PreprocessArgs>();
  auto* cmd = app.add_subcommand("preprocess",
                                 "Run a model's image processor on an image; print the tensor shapes as JSON");
  cmd->add_option("--model", args->model, "Model directory with preprocessor_config.json (and config.json)")
      ->required();
  cmd->add_option("--image", args->image, "PNG or JPEG image")->required();
  cmd->add_option("--out", args->out, "Write pixel_values (and image_grid_thw) to this .safetensors file");
  cmd->callback([args] { run(*args); });
}

}  // namespace balcap::cli

BALCAP_COMMAND(20, preprocess);
