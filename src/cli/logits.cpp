// `balcap logits --model DIR [--image IMG]... --prompt TEXT [--out OUT.safetensors] [--dtype f32|bf16]`
// Runs the captioning chat template + image processor + tokenizer + the full forward of a Qwen2.5-VL,
// LLaVA-1.5 or text-only checkpoint (through the Policy seam) on a transformers model directory; writes float32 `logits` [sequence, vocab] and int64 `input_ids`
// [sequence] (the exact prompt ids) when --out is given, and prints one JSON line with the shapes
// and the top-5 next tokens of the last position. Without --image the prompt is text only.
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors_writer.h"
#include "io/model_family.h"
#include "models/caption_prompt.h"
#include "models/load_policy.h"
#include "models/policy.h"
#include "text/tokenizer.h"
#include "vision/image.h"
#include "vision/image_processor.h"
#include "commands.h"
#include "device_options.h"

namespace balcap::cli {
namespace {

struct LogitsArgs {
  std::string model, prompt, out, dtype = "f32", device = "cpu";
  std::vector<std::string> images;
};

// pixel_values of all images stacked (Qwen2-VL [N, 1176]; CLIP [n, 3, 336, 336]), grids [n, 3]
// (Qwen only), tokens per image.
struct Pixels {
  at::Tensor pixel_values, image_grid_thw;
  std::vector<int64_t> tokens_per_image;
};

Pixels process_images(const std::string& model_dir, const std::vector<std::string>& paths) {
  Pixels out;
  if (paths.empty()) return out;
  const auto processor = vision::load_image_processor(model_dir);
  std::vector<at::Tensor> pixels, grids;
  for (const std::string& path : paths) {
    vision::ProcessedImage image;
    try {
      image = processor->process(vision::decode_image_file(path));
    } catch (const Error& e) {
      fail("{}: {}", path, e.what());
    }
    pixels.push_back(image.pixel_values);
    grids.push_back(image.image_grid_thw);
    out.tokens_per_image.push_back(image.num_image_tokens);
  }
  out.pixel_values = at::cat(pixels);
  if (grids.front().defined()) out.image_grid_thw = at::cat(grids);  // CLIP (LLaVA): no grid
  return out;
}

void run(const LogitsArgs& args) {
  const at::ScalarType dtype = parse_dtype(args.dtype);
  const at::Device device = parse_device(args.device);
  auto policy = models::load_policy(args.model, dtype, device);
  const auto tokenizer = text::load_tokenizer(args.model);
  const Pixels pixels = process_images(args.model, args.images);
  const std::string prompt =
      models::caption_chat_text(io::detect_family(args.model), pixels.tokens_per_image, args.prompt);
  const std::vector<int32_t> ids32 = tokenizer->encode(prompt);
  const std::vector<int64_t> ids(ids32.begin(), ids32.end());
  const at::Tensor input_ids = at::tensor(ids, at::kLong);  // [S]

  torch::NoGradGuard no_grad;
  const models::PolicyPrompt row{ids, pixels.pixel_values, pixels.image_grid_thw};
  const models::PolicyBatch batch = models::make_policy_batch({ids}, {&row}, device);
  const at::Tensor hidden = policy->hidden_states(batch)[0];                                 // [S, E]
  const at::Tensor logits = at::linear(hidden, policy->output_weight()).to(at::kCPU, at::kFloat);  // [S, V]

  nlohmann::json line = {{"model", args.model},
                         {"dtype", args.dtype},
                         {"sequence", logits.size(0)},
                         {"vocab", logits.size(1)},
                         {"image_tokens", pixels.tokens_per_image}};
  const auto [values, indices] = logits[-1].topk(5);
  nlohmann::json top = nlohmann::json::array();
  for (int64_t k = 0; k < 5; ++k) {
    const int32_t id = int32_t(indices[k].item<int64_t>());
    top.push_back(
        {{"id", id}, {"token", tokenizer->decode(std::vector<int32_t>{id})}, {"logit", values[k].item<double>()}});
  }
  line["top5"] = top;
  if (!args.out.empty()) {
    io::save_safetensors(args.out, {{"logits", logits.contiguous()}, {"input_ids", input_ids}});
    line["out"] = args.out;
  }
  std::cout << line.dump() << "\n";
}

}  // namespace

void add_logits_command(CLI::App& app) {
  auto args = std::make_shared<LogitsArgs>();
  auto* cmd =
      app.add_subcommand("logits", "Run the full model on the captioning prompt; print the top-5 next tokens as JSON");
  cmd->add_option("--model", args->model, "transformers model directory (Qwen2.5-VL, LLaVA-1.5, Qwen2 / LLaMA)")->required();
  cmd->add_option("--image", args->images, "PNG or JPEG image (repeat for several; none: text only)");
  cmd->add_option("--prompt", args->prompt, "The instruction, e.g. \"Describe this image.\"")->required();
  cmd->add_option("--out", args->out, "Write float32 logits [sequence, vocab] and int64 input_ids to this file");
  cmd->add_option("--dtype", args->dtype, "Weights dtype: f32 (default), bf16 or f16");
  cmd->add_option("--device", args->device, "cpu (default) or cuda[:N]");
  cmd->callback([args] { run(*args); });
}

}  // namespace balcap::cli

BALCAP_COMMAND(30, logits);
