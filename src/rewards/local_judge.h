#pragma once
// Private to src/rewards: `kind: local` judges (docs/architecture.md §6): a checkpoint loaded in this process with balcap's own models --
// text judges Qwen2ForCausalLM / LlamaForCausalLM, vision judge Qwen2.5-VL -- behind rewards::Judge.
//   choice_logprobs: exact log P(choice | rendered prompt) from batched full forwards
//                    (continuation_logprobs.h), multi-token choices summed over their tokens;
//   generate:        greedy decoding through sampling::sample, stopping at the end-of-turn ids.
// Prompts: judge_chat.h (ChatML for Qwen-family judges, LLaMA-2 chat for LLaMA), tokenized without
// added special tokens; a vision judge puts the request's image first (processed by the checkpoint's
// own image processor). make_local_judge (judge_factories.h) builds one from the config.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/policy.h"
#include "rewards/judge.h"
#include "serve/served_model.h"
#include "vision/image_processor.h"

namespace balcap::rewards {

class LocalJudge : public Judge {
 public:
  // model: the checkpoint in this process (the same wrapper `balcap serve` answers with).
  // batch_size: rows per forward (scoring) and prompts per sampler call (generation).
  LocalJudge(std::string name, std::unique_ptr<serve::ServedModel> model, int64_t batch_size);

  std::string name() const override { return name_; }
  bool sees_images() const override { return model_->sees_images(); }
  std::vector<std::string> generate(const std::vector<JudgeRequest>& requests, std::int64_t max_new_tokens) override;
  std::vector<std::vector<double>> choice_logprobs(const std::vector<JudgeRequest>& requests,
                                                   const std::vector<std::string>& choices) override;

  // The request rendered and tokenized, with its image processed: what both methods condition on.
  // An image for a text-only judge or an unreadable image -> balcap::Error naming the judge / file.
  models::PolicyPrompt prompt(const JudgeRequest& request);
  // The rendered prompt text (image placeholders expanded).
  std::string prompt_text(const JudgeRequest& request);
  // Generation stops at any of these: the checkpoint's eos ids (generation_config.json, else
  // config.json) plus the format's end of turn (<|im_end|> / </s>) when the vocabulary has it.
  const std::vector<int64_t>& stop_ids() const { return stop_ids_; }
  models::Policy& policy() { return model_->policy(); }
  const text::Tokenizer& tokenizer() const { return model_->tokenizer(); }

 private:
  // The request's processed image (null without one); an image for a text-only judge -> Error.
  const vision::ProcessedImage* image(const JudgeRequest& request);

  std::string name_;
  std::unique_ptr<serve::ServedModel> model_;
  int64_t batch_size_;
  std::vector<int64_t> stop_ids_;
  std::map<std::string, vision::ProcessedImage> images_;  // processed images by path (a caption's claims share one)
};

}  // namespace balcap::rewards
