#pragma once
// A checkpoint loaded in this process to answer prompts: the model side of `balcap serve` and of the
// local judges (rewards/local_judge.h). Any checkpoint balcap loads (load_policy) with its
// tokenizer, chat format (judge_chat.h: ChatML for Qwen families, LLaMA-2 chat for LLaMA) and, for
// vision models, image processor; and what both callers need: prompt encoding, generation through
// the sampler, per-token logprobs (+ top-k) of whole sequences (models/policy_logprobs.h), and the
// stop ids of a reply (models/stop_tokens.h). Not thread-safe: the server holds mutex() around
// every call.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "models/policy.h"
#include "sampling/sampler.h"
#include "text/judge_chat.h"
#include "text/tokenizer.h"
#include "vision/image.h"
#include "vision/image_processor.h"

namespace balcap::serve {

// log P(ids[t] | ids[<t]) and the top_k most likely tokens at position t (t >= 1).
struct PositionLogprob {
  double logprob = 0;
  std::vector<std::pair<int32_t, double>> top;  // best first
};

class ServedModel {
 public:
  ServedModel(const std::filesystem::path& dir, at::ScalarType dtype, at::Device device);

  // Completions prompt text -> ids (add_special_tokens as vLLM: true).
  models::PolicyPrompt encode_text(const std::string& text) const;
  // One system + one user turn rendered with the model's chat format (judge_chat.h), images first.
  // Images for a text-only model -> balcap::Error.
  models::PolicyPrompt encode_chat(const std::string& system, const std::string& user, const std::vector<vision::Image>& images) const;
  // The same with the image already processed (null: text only), for callers that reuse one image.
  models::PolicyPrompt encode_chat(const std::string& system, const std::string& user, const vision::ProcessedImage* image) const;
  // The rendered text encode_chat tokenizes (image placeholders expanded), without special tokens.
  std::string chat_text(const std::string& system, const std::string& user, const vision::ProcessedImage* image) const;
  // The model's image processing (vision models only).
  vision::ProcessedImage process(const vision::Image& image) const;
  // B prompts -> B * params.group_size samples (sampling::sample).
  std::vector<sampling::Sample> generate(const std::vector<models::PolicyPrompt>& prompts, const sampling::SamplingParams& params,
                                         uint64_t seed);
  // For each sequence (ids[r], the image of prompts[r]): [len - 1] entries for positions 1..len-1.
  std::vector<std::vector<PositionLogprob>> sequence_logprobs(const std::vector<const models::PolicyPrompt*>& prompts,
                                                              const std::vector<std::vector<int64_t>>& ids,
                                                              int64_t top_k);
  // The checkpoint's eos ids (generation_config.json, else config.json), plus the chat format's end
  // of turn when with_end_of_turn.
  std::vector<int64_t> stop_ids(bool with_end_of_turn) const;
  models::Policy& policy() { return *policy_; }
  const text::Tokenizer& tokenizer() const { return *tokenizer_; }
  text::JudgeChatFormat format() const { return format_; }
  bool sees_images() const { return processor_ != nullptr; }
  std::mutex& mutex() { return mutex_; }

 private:
  std::unique_ptr<models::Policy> policy_;
  std::unique_ptr<text::Tokenizer> tokenizer_;
  std::unique_ptr<vision::ImageProcessor> processor_;
  text::JudgeChatFormat format_;
  std::mutex mutex_;
};

}  // namespace balcap::serve
