// In-process judges (see local_judge.h) and their factory make_local_judge (judge_factories.h).
#include "rewards/local_judge.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "io/model_family.h"
#include "models/load_policy.h"
#include "models/stop_tokens.h"
#include "rewards/continuation_logprobs.h"
#include "rewards/judge_factories.h"
#include "sampling/sampler.h"
#include "text/chat_template.h"
#include "vision/image.h"

namespace balcap::rewards {
namespace {

std::vector<int64_t> to_int64(const std::vector<int32_t>& ids) { return {ids.begin(), ids.end()}; }

at::Device judge_device(const config::JudgeConfig& config, at::Device policy_device) {
  if (config.device == "auto") return policy_device;
  try {
    return at::Device(config.device);
  } catch (const c10::Error&) {
    fail("judge device '{}' is not a device name. HINT: use auto, cpu, cuda or cuda:N.", config.device);
  }
}

at::ScalarType judge_dtype(const std::string& dtype, at::Device device) {
  if (dtype == "auto") return device.is_cuda() ? at::kBFloat16 : at::kFloat;
  if (dtype == "float32") return at::kFloat;
  if (dtype == "bfloat16") return at::kBFloat16;
  if (dtype == "float16") return at::kHalf;
  fail("judge dtype '{}' is not supported. HINT: use auto, float32, bfloat16 or float16.", dtype);
}

}  // namespace

LocalJudge::LocalJudge(std::string name, std::unique_ptr<Policy> policy, std::unique_ptr<Tokenizer> tokenizer,
                       std::unique_ptr<ImageProcessor> processor, JudgeChatFormat format, int64_t batch_size)
    : name_(std::move(name)),
      policy_(std::move(policy)),
      tokenizer_(std::move(tokenizer)),
      processor_(std::move(processor)),
      format_(format),
      batch_size_(batch_size) {
  BALCAP_CHECK(batch_size_ >= 1,
               "judge '{}': batch_size {} must be at least 1. HINT: fix rewards.judges.{}.batch_size.", name_,
               batch_size_, name_);
  stop_ids_ = end_of_turn_ids(*policy_, *tokenizer_, format_);
}

const ProcessedImage& LocalJudge::image(const std::string& path) {
  auto it = images_.find(path);
  if (it == images_.end()) it = images_.emplace(path, processor_->process(decode_image_file(path))).first;
  return it->second;
}

std::string LocalJudge::prompt_text(const JudgeRequest& request) {
  const bool has_image = request.image_path.has_value();
  BALCAP_CHECK(!has_image || sees_images(),
               "judge '{}' is a text-only model but the request has an image ({}). HINT: use a vision judge "
               "(a Qwen2.5-VL checkpoint) for evidence: image, or drop the image.",
               name_, request.image_path.value_or(""));
  const std::string text = judge_prompt(format_, request.system, request.user, has_image ? 1 : 0);
  if (!has_image) return text;
  return expand_image_tokens(text, kQwenImagePad, {image(*request.image_path).num_image_tokens});
}

PolicyPrompt LocalJudge::prompt(const JudgeRequest& request) {
  PolicyPrompt out{to_int64(tokenizer_->encode(prompt_text(request), /*add_special_tokens=*/false)), {}, {}};
  if (request.image_path) {
    const ProcessedImage& processed = image(*request.image_path);
    out.pixel_values = processed.pixel_values;
    out.image_grid_thw = processed.image_grid_thw;
  }
  return out;
}

std::vector<std::vector<double>> LocalJudge::choice_logprobs(const std::vector<JudgeRequest>& requests,
                                                             const std::vector<std::string>& choices) {
  images_.clear();  // processed images live for one call
  std::vector<PolicyPrompt> prompts;
  std::vector<std::vector<std::vector<int64_t>>> continuations(requests.size());
  for (size_t r = 0; r < requests.size(); ++r) {
    const std::string text = prompt_text(requests[r]);
    prompts.push_back(prompt(requests[r]));
    const std::vector<int64_t>& head = prompts.back().ids;
    for (const std::string& choice : choices) {
      BALCAP_CHECK(!choice.empty(), "judge '{}': an empty choice cannot be scored. HINT: fix the scorer's choices.",
                   name_);
      std::vector<int64_t> full = to_int64(tokenizer_->encode(text + choice, /*add_special_tokens=*/false));
      BALCAP_CHECK(full.size() > head.size() && std::equal(head.begin(), head.end(), full.begin()),
                   "judge '{}': tokenize(prompt + '{}') does not start with tokenize(prompt): the choice merges with "
                   "the prompt's last token ('{}'), so its probability is not a next-token probability. HINT: change "
                   "the choice (e.g. a leading space) or the prompt template so the prompt ends on a token boundary.",
                   name_, choice, tokenizer_->id_to_token(static_cast<int32_t>(head.back())));
      continuations[r].emplace_back(full.begin() + static_cast<std::ptrdiff_t>(head.size()), full.end());
    }
  }
  auto out = continuation_logprobs(*policy_, prompts, continuations, batch_size_);
  images_.clear();
  return out;
}

std::vector<std::string> LocalJudge::generate(const std::vector<JudgeRequest>& requests, std::int64_t max_new_tokens) {
  BALCAP_CHECK(max_new_tokens >= 1, "judge '{}': max_new_tokens {} must be at least 1. HINT: fix max_new_tokens.",
               name_, max_new_tokens);
  images_.clear();
  sampling::SamplingParams params;
  params.greedy = true;
  params.max_new_tokens = max_new_tokens;
  params.stop_ids = stop_ids_;
  std::vector<std::string> texts(requests.size());
  for (size_t begin = 0; begin < requests.size(); begin += static_cast<size_t>(batch_size_)) {
    const size_t end = std::min(requests.size(), begin + static_cast<size_t>(batch_size_));
    std::vector<sampling::SampleRequest> batch;
    for (size_t r = begin; r < end; ++r) batch.push_back({prompt(requests[r]), static_cast<int64_t>(r)});
    for (sampling::Sample& s : sampling::sample(*policy_, *tokenizer_, batch, params, sampling::RolloutSeed{})) {
      texts[begin + static_cast<size_t>(s.request)] = std::move(s.text);
    }
  }
  images_.clear();
  return texts;
}

std::unique_ptr<Judge> make_local_judge(const std::string& name, const config::JudgeConfig& config,
                                        at::Device policy_device) {
  BALCAP_CHECK(!config.model.empty(),
               "judge '{}': kind local needs a model directory. HINT: set rewards.judges.{}.model to a Qwen2/LLaMA "
               "(text) or Qwen2.5-VL (vision) checkpoint directory.",
               name, name);
  const at::Device device = judge_device(config, policy_device);
  const at::ScalarType dtype = judge_dtype(config.dtype, device);
  const ModelFamily family = detect_family(config.model);
  std::unique_ptr<Policy> policy = load_policy(config.model, dtype, device);
  std::unique_ptr<ImageProcessor> processor;
  if (family == ModelFamily::qwen2_5_vl) processor = load_image_processor(config.model);
  const JudgeChatFormat format = family == ModelFamily::llama ? JudgeChatFormat::llama2 : JudgeChatFormat::chatml;
  spdlog::info("judge '{}': {} ({}, {} chat) on {} as {}", name, config.model, to_string(family), to_string(format),
               device.str(), c10::toString(dtype));
  return std::make_unique<LocalJudge>(name, std::move(policy), load_tokenizer(config.model), std::move(processor),
                                      format, config.batch_size);
}

}  // namespace balcap::rewards
