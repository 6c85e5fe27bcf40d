#include "serve/served_model.h"

#include <algorithm>

#include "core/error.h"
#include "io/model_family.h"
#include "models/load_policy.h"
#include "text/chat_template.h"

namespace balcap::serve {
namespace {

constexpr int64_t kRowsPerForward = 8;     // sequences per full forward
constexpr int64_t kPositionsPerChunk = 256;  // positions projected to the vocabulary at once

std::vector<int64_t> to_int64(const std::vector<int32_t>& ids) { return {ids.begin(), ids.end()}; }

}  // namespace

ServedModel::ServedModel(const std::filesystem::path& dir, at::ScalarType dtype, at::Device device) {
  const ModelFamily family = detect_family(dir);
  policy_ = load_policy(dir, dtype, device);
  policy_->module().eval();
  tokenizer_ = load_tokenizer(dir);
  if (family == ModelFamily::qwen2_5_vl) processor_ = load_image_processor(dir);
  format_ = family == ModelFamily::llama ? JudgeChatFormat::llama2 : JudgeChatFormat::chatml;
}

PolicyPrompt ServedModel::encode_text(const std::string& text) const {
  return PolicyPrompt{to_int64(tokenizer_->encode(text, /*add_special_tokens=*/true)), {}, {}};
}

PolicyPrompt ServedModel::encode_chat(const std::string& system, const std::string& user,
                                      const std::vector<Image>& images) const {
  BALCAP_CHECK(images.empty() || processor_, "this model sees no images, but the request has {}\nHINT: serve a vision "
               "checkpoint (Qwen2.5-VL) or send text only", images.size());
  BALCAP_CHECK(images.size() <= 1, "{} images in one request; at most one is supported\nHINT: send one image",
               images.size());
  std::string text = judge_prompt(format_, system, user, static_cast<int64_t>(images.size()));
  PolicyPrompt prompt;
  if (!images.empty()) {
    ProcessedImage processed = processor_->process(images[0]);
    text = expand_image_tokens(text, kQwenImagePad, {processed.num_image_tokens});
    prompt.pixel_values = processed.pixel_values;
    prompt.image_grid_thw = processed.image_grid_thw;
  }
  prompt.ids = to_int64(tokenizer_->encode(text, /*add_special_tokens=*/false));
  return prompt;
}

std::vector<int64_t> ServedModel::stop_ids(bool with_end_of_turn) const {
  std::vector<int64_t> ids = policy_->generation_config().eos_token_ids;
  if (ids.empty()) ids = policy_->decoder_config().eos_token_ids;
  if (with_end_of_turn) {
    if (auto id = tokenizer_->token_to_id(format_ == JudgeChatFormat::chatml ? "<|im_end|>" : "</s>")) {
      ids.push_back(*id);
    }
  }
  std::vector<int64_t> unique;
  for (int64_t id : ids) {
    if (std::find(unique.begin(), unique.end(), id) == unique.end()) unique.push_back(id);
  }
  return unique;
}

std::vector<sampling::Sample> ServedModel::generate(const std::vector<PolicyPrompt>& prompts,
                                                    const sampling::SamplingParams& params, uint64_t seed) {
  c10::InferenceMode guard;
  std::vector<sampling::SampleRequest> requests;
  for (size_t i = 0; i < prompts.size(); ++i) requests.push_back({prompts[i], static_cast<int64_t>(i)});
  return sampling::sample(*policy_, *tokenizer_, requests, params, sampling::RolloutSeed{seed, 0, 0});
}

std::vector<std::vector<PositionLogprob>> ServedModel::sequence_logprobs(
    const std::vector<const PolicyPrompt*>& prompts, const std::vector<std::vector<int64_t>>& ids, int64_t top_k) {
  c10::InferenceMode guard;
  std::vector<std::vector<PositionLogprob>> out(ids.size());
  const at::Tensor weight = policy_->output_weight();  // [V, E]
  for (size_t begin = 0; begin < ids.size(); begin += kRowsPerForward) {
    const size_t end = std::min(ids.size(), begin + kRowsPerForward);
    std::vector<std::vector<int64_t>> rows(ids.begin() + begin, ids.begin() + end);
    std::vector<const PolicyPrompt*> images(prompts.begin() + begin, prompts.begin() + end);
    at::Tensor hidden = policy_->hidden_states(make_policy_batch(rows, images, policy_->device()));  // [B, S, E]
    for (size_t r = 0; r < rows.size(); ++r) {
      const int64_t n = static_cast<int64_t>(rows[r].size());
      at::Tensor targets = at::tensor(rows[r]).slice(0, 1);  // [n - 1]: the token each position predicts
      auto& row = out[begin + r];
      for (int64_t a = 0; a < n - 1; a += kPositionsPerChunk) {
        const int64_t b = std::min(n - 1, a + kPositionsPerChunk);
        // logits of positions a..b-1 predict tokens a+1..b: [b - a, V] in float32
        at::Tensor logits = at::matmul(hidden[r].slice(0, a, b), weight.t()).to(at::kFloat);
        at::Tensor lse = logits.logsumexp(-1);  // [b - a]: no second [b - a, V] tensor unless top-k is asked
        at::Tensor target = targets.slice(0, a, b).to(logits.device()).unsqueeze(1);
        at::Tensor chosen = (logits.gather(1, target).squeeze(1) - lse).cpu();
        at::Tensor top_values, top_ids;
        if (top_k > 0) {
          std::tie(top_values, top_ids) = logits.topk(top_k, -1);
          top_values = (top_values - lse.unsqueeze(1)).cpu();
          top_ids = top_ids.cpu();
        }
        auto chosen_a = chosen.accessor<float, 1>();
        for (int64_t t = 0; t < b - a; ++t) {
          PositionLogprob p;
          p.logprob = chosen_a[t];
          for (int64_t k = 0; k < top_k; ++k) {
            p.top.emplace_back(static_cast<int32_t>(top_ids[t][k].item<int64_t>()), top_values[t][k].item<float>());
          }
          row.push_back(std::move(p));
        }
      }
    }
  }
  return out;
}

}  // namespace balcap::serve
