#pragma once
// The model side of `balcap serve`: any checkpoint balcap loads (load_policy) with its tokenizer,
// chat format and (vision models) image processor, and the three things the OpenAI endpoints need:
// prompt encoding, generation through the sampler, and per-token logprobs (+ top-k) of whole
// sequences from one full forward (echo / logprobs), projected to the vocabulary a chunk of
// positions at a time. Not thread-safe: the server holds mutex() around every call.
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
  PolicyPrompt encode_text(const std::string& text) const;
  // One system + one user turn rendered with the model's chat format (judge_chat.h), images first.
  // Images for a text-only model -> balcap::Error.
  PolicyPrompt encode_chat(const std::string& system, const std::string& user, const std::vector<Image>& images) const;
  // B prompts -> B * params.group_size samples (sampling::sample).
  std::vector<sampling::Sample> generate(const std::vector<PolicyPrompt>& prompts, const sampling::SamplingParams& params,
                                         uint64_t seed);
  // For each sequence (ids[r], the image of prompts[r]): [len - 1] entries for positions 1..len-1.
  std::vector<std::vector<PositionLogprob>> sequence_logprobs(const std::vector<const PolicyPrompt*>& prompts,
                                                              const std::vector<std::vector<int64_t>>& ids,
                                                              int64_t top_k);
  // The checkpoint's eos ids (generation_config.json, else config.json), plus the chat format's end
  // of turn when with_end_of_turn.
  std::vector<int64_t> stop_ids(bool with_end_of_turn) const;
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  bool sees_images() const { return processor_ != nullptr; }
  std::mutex& mutex() { return mutex_; }

 private:
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ImageProcessor> processor_;
  JudgeChatFormat format_;
  std::mutex mutex_;
};

}  // namespace balcap::serve
