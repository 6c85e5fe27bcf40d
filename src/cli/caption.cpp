// `balcap caption --model DIR --image IMG... [--group G] [--greedy] [--max-new-tokens N] [--seed S] ...`
// Samples G captions per image with the group sampler and prints one JSON line per caption:
//   {"image", "member", "text", "ids" (generated only), "logprobs", "finish_reason"}
// Images are processed in batches of --batch; a progress bar goes to stderr when it is a terminal.
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "models/caption_prompt.h"
#include "models/load_policy.h"
#include "sampling/sampler.h"
#include "vision/image.h"
#include "commands.h"
#include "device_options.h"

namespace balcap::cli {
namespace {

struct CaptionArgs {
  std::string model, prompt = "Describe this image.", system, dtype = "f32", device = "cpu";
  std::vector<std::string> images;
  config::SamplingConfig sampling;
  int64_t group = 1, batch = 8;
  uint64_t seed = 0;
  bool greedy = false;
};

void show_progress(size_t done, size_t total) {
  if (isatty(STDERR_FILENO) == 0) return;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done / std::max<size_t>(total, 1));
  std::cerr << "\rcaption [" << std::string(filled, '#') << std::string(kWidth - filled, ' ') << "] " << done << "/"
            << total << " images" << (done == total ? "\n" : "") << std::flush;
}

nlohmann::json caption_line(const std::string& image, const sampling::Sample& s) {
  return {{"image", image},         {"member", s.member}, {"text", s.text}, {"ids", s.ids},
          {"logprobs", s.logprobs}, {"finish_reason", s.finish_reason}};
}

void run(const CaptionArgs& args) {
  BALCAP_CHECK(args.group >= 1 && args.batch >= 1, "--group {} and --batch {} must be at least 1.", args.group,
               args.batch);
  auto policy = models::load_policy(args.model, parse_dtype(args.dtype), parse_device(args.device));
  const auto tokenizer = text::load_tokenizer(args.model);
  const auto processor = vision::load_image_processor(args.model);
  sampling::SamplingParams params = sampling::sampling_params_from(args.sampling, policy->generation_config(),
                                                                   args.group);
  params.greedy = args.greedy;
  sampling::validate(params);
  for (size_t start = 0; start < args.images.size(); start += static_cast<size_t>(args.batch)) {
    const size_t end = std::min(args.images.size(), start + static_cast<size_t>(args.batch));
    std::vector<sampling::SampleRequest> requests;
    for (size_t i = start; i < end; ++i) {
      try {
        requests.push_back({models::build_caption_prompt(*tokenizer, *processor, vision::decode_image_file(args.images[i]),
                                                 args.prompt, args.system),
                            static_cast<int64_t>(i)});
      } catch (const Error& e) {
        fail("{}: {}", args.images[i], e.what());
      }
    }
    const auto samples = sampling::sample(*policy, *tokenizer, requests, params, {args.seed, 0, 0});
    for (const auto& s : samples) std::cout << caption_line(args.images[start + s.request], s).dump() << "\n";
    std::cout << std::flush;
    show_progress(end, args.images.size());
  }
}

}  // namespace

void add_caption_command(CLI::App& app) {
  auto args = std::make_shared<CaptionArgs>();
  auto& s = args->sampling;
  auto* cmd = app.add_subcommand("caption", "Sample captions for images with the group sampler (JSON lines)");
  cmd->add_option("--model", args->model, "transformers model directory (Qwen2.5-VL)")->required();
  cmd->add_option("--image", args->images, "PNG or JPEG image (repeat for several)")->required();
  cmd->add_option("--group", args->group, "Captions per image (G)");
  cmd->add_flag("--greedy", args->greedy, "Argmax decoding instead of sampling");
  cmd->add_option("--max-new-tokens", s.max_new_tokens, "Longest caption in tokens (default 256)");
  cmd->add_option("--min-new-tokens", s.min_new_tokens, "Block the stop ids before this many tokens");
  cmd->add_option("--seed", args->seed, "Run seed: the same seed gives the same captions");
  cmd->add_option("--prompt", args->prompt, "The captioning instruction (default \"Describe this image.\")");
  cmd->add_option("--system", args->system, "System message (default: the chat template's)");
  cmd->add_option("--temperature", s.temperature, "Softmax temperature (default 1)");
  cmd->add_option("--top-p", s.top_p, "Nucleus sampling mass (default 1 = off)");
  cmd->add_option("--top-k", s.top_k, "Keep the k most likely tokens (default 0 = off)");
  cmd->add_option("--repetition-penalty", s.repetition_penalty, "HF repetition penalty (default 1 = off)");
  cmd->add_option("--stop-id", s.stop_token_ids, "Extra stop token id (repeat); generation_config eos ids always stop");
  cmd->add_option("--batch", args->batch, "Images per sampler call (default 8)");
  cmd->add_option("--dtype", args->dtype, "Weights dtype: f32 (default), bf16 or f16");
  cmd->add_option("--device", args->device, "cpu (default) or cuda[:N]");
  cmd->callback([args] { run(*args); });
}

}  // namespace balcap::cli

BALCAP_COMMAND(40, caption);
