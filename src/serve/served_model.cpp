#include "serve/served_model.h"

#include <algorithm>

#include "core/error.h"
#include "io/model_family.h"
#include "models/load_policy.h"
#include "models/policy_logprobs.h"
#include "models/stop_tokens.h"
#include "text/chat_template.h"

namespace balcap::serve {
namespace {

constexpr int64_t kRowsPerForward = 8;  // sequences per full forward

std::vector<int64_t> to_int64(const std::vector<int32_t>& ids) { return {ids.begin(), ids.end()}; }

}  // namespace

ServedModel::ServedModel(const std::filesystem::path& dir, at::ScalarType dtype, at::Device device) {
  const io::ModelFamily family = io::detect_family(dir);
  policy_ = models::load_policy(dir, dtype, device);
  policy_->module().eval();
  tokenizer_ = text::load_tokenizer(dir);
  if (family == io::ModelFamily::qwen2_5_vl || family == io::ModelFamily::llava) {
    processor_ = vision::load_image_processor(dir);
  }
  format_ = family == io::ModelFamily::llama   ? text::JudgeChatFormat::llama2
            : family == io::ModelFamily::llava ? text::JudgeChatFormat::llava_1_5
                                               : text::JudgeChatFormat::chatml;
}

models::PolicyPrompt ServedModel::encode_text(const std::string& text) const {
  return models::PolicyPrompt{to_int64(tokenizer_->encode(text, /*add_special_tokens=*/true)), {}, {}};
}

models::PolicyPrompt ServedModel::encode_chat(const std::string& system, const std::string& user,
                                      const std::vector<vision::Image>& images) const {
  BALCAP_CHECK(images.empty() || processor_, "this model sees no images, but the request has {}\nHINT: serve a vision "
               "checkpoint (Qwen2.5-VL, LLaVA-1.5) or send text only", images.size());
  BALCAP_CHECK(images.size() <= 1, "{} images in one request; at most one is supported\nHINT: send one image",
               images.size());
  if (images.empty()) return encode_chat(system, user, nullptr);
  const vision::ProcessedImage processed = process(images[0]);
  return encode_chat(system, user, &processed);
}

models::PolicyPrompt ServedModel::encode_chat(const std::string& system, const std::string& user,
                                      const vision::ProcessedImage* image) const {
  models::PolicyPrompt prompt{to_int64(tokenizer_->encode(chat_text(system, user, image), /*add_special_tokens=*/false)),
                      {}, {}};
  if (image != nullptr) {
    prompt.pixel_values = image->pixel_values;
    prompt.image_grid_thw = image->image_grid_thw;
  }
  return prompt;
}

std::string ServedModel::chat_text(const std::string& system, const std::string& user,
                                   const vision::ProcessedImage* image) const {
  const std::string text = text::judge_prompt(format_, system, user, image != nullptr ? 1 : 0);
  return image == nullptr ? text
                          : text::expand_image_tokens(text, text::judge_image_token(format_), {image->num_image_tokens});
}

vision::ProcessedImage ServedModel::process(const vision::Image& image) const {
  BALCAP_CHECK(processor_ != nullptr, "this model sees no images\nHINT: use a vision checkpoint (Qwen2.5-VL, LLaVA-1.5)");
  return processor_->process(image);
}

std::vector<int64_t> ServedModel::stop_ids(bool with_end_of_turn) const {
  return models::end_of_turn_ids(*policy_, *tokenizer_, format_, with_end_of_turn);
}

std::vector<sampling::Sample> ServedModel::generate(const std::vector<models::PolicyPrompt>& prompts,
                                                    const sampling::SamplingParams& params, uint64_t seed) {
  c10::InferenceMode guard;
  std::vector<sampling::SampleRequest> requests;
  for (size_t i = 0; i < prompts.size(); ++i) requests.push_back({prompts[i], static_cast<int64_t>(i)});
  return sampling::sample(*policy_, *tokenizer_, requests, params, sampling::RolloutSeed{seed, 0, 0});
}

std::vector<std::vector<PositionLogprob>> ServedModel::sequence_logprobs(
    const std::vector<const models::PolicyPrompt*>& prompts, const std::vector<std::vector<int64_t>>& ids, int64_t top_k) {
  c10::InferenceMode guard;
  std::vector<models::LogprobRow> rows;  // every token after the first, as predicted by the one before it
  for (size_t r = 0; r < ids.size(); ++r) {
    models::LogprobRow row{prompts[r], ids[r], {}, {}};
    for (size_t t = 1; t < ids[r].size(); ++t) {
      row.positions.push_back(static_cast<int64_t>(t) - 1);
      row.targets.push_back(ids[r][t]);
    }
    rows.push_back(std::move(row));
  }
  models::PolicyLogprobsOptions options{kRowsPerForward, {}};
  options.tokens.top_k = top_k;
  const models::PolicyLogprobs lp = models::policy_logprobs(*policy_, rows, options);
  const at::Tensor logprobs = lp.logprobs.cpu();
  const at::Tensor top_values = top_k > 0 ? lp.top_logprobs.cpu() : at::zeros({logprobs.size(0), 0});
  const at::Tensor top_ids = top_k > 0 ? lp.top_ids.cpu() : at::zeros({logprobs.size(0), 0}, at::kLong);
  const auto value = logprobs.accessor<float, 1>();
  const auto top_value = top_values.accessor<float, 2>();
  const auto top_id = top_ids.accessor<int64_t, 2>();
  std::vector<std::vector<PositionLogprob>> out(ids.size());
  int64_t m = 0;
  for (size_t r = 0; r < ids.size(); ++r) {
    for (int64_t q = 0; q < lp.counts[r]; ++q, ++m) {
      PositionLogprob p{value[m], {}};
      for (int64_t k = 0; k < top_k; ++k) p.top.emplace_back(static_cast<int32_t>(top_id[m][k]), top_value[m][k]);
      out[r].push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace balcap::serve
