#pragma once
// Private to src/rewards: `kind: remote` judges (docs/architecture.md §6): an OpenAI-compatible server (vLLM, SGLang, `balcap serve`)
// behind rewards::Judge.
//   api: completions (exact, text judges; recommended)
//     prompt   = the ChatML rendering of the request (text/judge_chat.h), several prompts per
//                request (batch_size);
//     generate = temperature 0, max_tokens, stop ["<|im_end|>"];
//     choice_logprobs = prompt + choice sent with echo: true, logprobs: 0, max_tokens: 1; the
//                sum of the echoed prompt-token logprobs of the tokens whose text_offset lies in
//                [len(prompt), len(prompt + choice)) (offsets in characters, as vLLM reports
//                them): exact, multi-token choices included.
//   api: chat (any chat model, vision judges with `vision: true`)
//     messages = [system, user] (user = [image_url data: URL, text] for vision);
//     choice_logprobs = APPROXIMATE: the first generated token's top_logprobs (20): a choice
//                scores the best listed token equal to it, else the longest listed token that is
//                a prefix of it (so "10" is scored by "1"); a choice matching no listed token gets
//                the smallest listed logprob (an upper bound). Use `completions` for ratings.
// Transport (openai_endpoint.h): timeout, retries with backoff, API key, concurrency; a reply is read
// inside the retries, so one without what was asked (no choices, no logprobs, null text) is retried
// like a transport failure and, if it persists, ends in a JudgeError with the reason. Identical
// items (same endpoint, model, parameters and text) are answered once and cached per judge when
// `cache: true`.
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/judge.h"
#include "rewards/judge.h"
#include "rewards/openai_endpoint.h"

namespace balcap::rewards {

class RemoteJudge : public Judge {
 public:
  RemoteJudge(std::string name, const config::JudgeConfig& config);

  std::string name() const override { return name_; }
  bool sees_images() const override { return vision_; }
  std::vector<std::string> generate(const std::vector<JudgeRequest>& requests, std::int64_t max_new_tokens) override;
  std::vector<std::vector<double>> choice_logprobs(const std::vector<JudgeRequest>& requests,
                                                   const std::vector<std::string>& choices) override;
  // Items answered from the cache so far.
  int64_t cache_hits() const;

 private:
  // The JSON values of `keys` (one item each): cached ones reused, the others fetched in chunks of
  // `chunk` with fetch(indices into keys) -> one value per index, chunks run concurrently.
  std::vector<nlohmann::json> answer(const std::vector<std::string>& keys, int64_t chunk,
                                     const std::function<std::vector<nlohmann::json>(const std::vector<size_t>&)>& fetch);
  std::vector<std::string> completions_generate(const std::vector<JudgeRequest>& requests, int64_t max_new_tokens);
  std::vector<std::string> chat_generate(const std::vector<JudgeRequest>& requests, int64_t max_new_tokens);
  std::vector<std::vector<double>> completions_choices(const std::vector<JudgeRequest>& requests,
                                                       const std::vector<std::string>& choices);
  std::vector<std::vector<double>> chat_choices(const std::vector<JudgeRequest>& requests,
                                                const std::vector<std::string>& choices);
  nlohmann::json chat_messages(const JudgeRequest& request) const;
  std::vector<nlohmann::json> completion_choices(const nlohmann::json& reply, size_t expected) const;

  std::string name_;
  std::string api_;
  bool vision_;
  bool use_cache_;
  int64_t batch_size_;
  OpenAiEndpoint endpoint_;
  mutable std::mutex cache_mutex_;
  std::unordered_map<std::string, nlohmann::json> cache_;
  int64_t cache_hits_ = 0;
};

// Number of Unicode code points in UTF-8 text (how vLLM counts text_offset).
size_t utf8_length(std::string_view text);

// Sum of the echoed token logprobs of the continuation in [prompt_chars, full_chars) of a
// completions `logprobs` object {tokens, token_logprobs, text_offset}. No token starting exactly
// at prompt_chars (the prompt's last token merged with the continuation), a null logprob or a
// missing field -> JudgeError naming `where`.
double echoed_continuation_logprob(const nlohmann::json& logprobs, size_t prompt_chars, size_t full_chars,
                                   const std::string& where);

// Score of `choice` among a chat reply's top_logprobs [{token, logprob}] (rule in the header comment).
double top_logprob_of_choice(const nlohmann::json& top_logprobs, const std::string& choice);

}  // namespace balcap::rewards
