// In-process judges (see local_judge.h) and their factory make_local_judge (judge_factories.h).
#include "rewards/local_judge.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "io/model_family.h"
#include "rewards/continuation_logprobs.h"
#include "rewards/judge_factories.h"
#include "sampling/sampler.h"
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

LocalJudge::LocalJudge(std::string name, std::unique_ptr<serve::ServedModel> model, int64_t batch_size)
    : name_(std::move(name)), model_(std::move(model)), batch_size_(batch_size) {
  BALCAP_CHECK(batch_size_ >= 1,
               "judge '{}': batch_size {} must be at least 1. HINT: fix rewards.judges.{}.batch_size.", name_,
               batch_size_, name_);
  stop_ids_ = model_->stop_ids(/*with_end_of_turn=*/true);
}

const vision::ProcessedImage* LocalJudge::image(const JudgeRequest& request) {
  if (!request.image_path) return nullptr;
  BALCAP_CHECK(sees_images(),
               "judge '{}' is a text-only model but the request has an image ({}). HINT: use a vision judge "
               "(a Qwen2.5-VL checkpoint) for evidence: image, or drop the image.",
               name_, *request.image_path);
  const std::string& path = *request.image_path;
  auto it = images_.find(path);
  if (it == images_.end()) it = images_.emplace(path, model_->process(vision::decode_image_file(path))).first;
  return &it->second;
}

std::string LocalJudge::prompt_text(const JudgeRequest& request) {
  return model_->chat_text(request.system, request.user, image(request));
}

models::PolicyPrompt LocalJudge::prompt(const JudgeRequest& request) {
  return model_->encode_chat(request.system, request.user, image(request));
}

std::vector<std::vector<double>> LocalJudge::choice_logprobs(const std::vector<JudgeRequest>& requests,
                                                             const std::vector<std::string>& choices) {
  images_.clear();  // processed images live for one call
  std::vector<models::PolicyPrompt> prompts;
  std::vector<std::vector<std::vector<int64_t>>> continuations(requests.size());
  for (size_t r = 0; r < requests.size(); ++r) {
    const std::string text = prompt_text(requests[r]);
    prompts.push_back(prompt(requests[r]));
    const std::vector<int64_t>& head = prompts.back().ids;
    for (const std::string& choice : choices) {
      BALCAP_CHECK(!choice.empty(), "judge '{}': an empty choice cannot be scored. HINT: fix the scorer's choices.",
                   name_);
      std::vector<int64_t> full = to_int64(tokenizer().encode(text + choice, /*add_special_tokens=*/false));
      BALCAP_CHECK(full.size() > head.size() && std::equal(head.begin(), head.end(), full.begin()),
                   "judge '{}': tokenize(prompt + '{}') does not start with tokenize(prompt): the choice merges with "
                   "the prompt's last token ('{}'), so its probability is not a next-token probability. HINT: change "
                   "the choice (e.g. a leading space) or the prompt template so the prompt ends on a token boundary.",
                   name_, choice, tokenizer().id_to_token(static_cast<int32_t>(head.back())));
      continuations[r].emplace_back(full.begin() + static_cast<std::ptrdiff_t>(head.size()), full.end());
    }
  }
  auto out = continuation_logprobs(model_->policy(), prompts, continuations, batch_size_);
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
    std::vector<models::PolicyPrompt> batch;
    for (size_t r = begin; r < end; ++r) batch.push_back(prompt(requests[r]));
    for (sampling::Sample& s : model_->generate(batch, params, /*seed=*/0)) {
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
  auto model = std::make_unique<serve::ServedModel>(config.model, dtype, device);
  spdlog::info("judge '{}': {} ({}, {} chat) on {} as {}", name, config.model, to_string(io::detect_family(config.model)),
               to_string(model->format()), device.str(), c10::toString(dtype));
  return std::make_unique<LocalJudge>(name, std::move(model), config.batch_size);
}

}  // namespace balcap::rewards
