// End-of-turn stop ids (see stop_tokens.h).
#include "models/stop_tokens.h"

#include <algorithm>

namespace balcap::models {

std::vector<int64_t> end_of_turn_ids(const Policy& policy, const text::Tokenizer& tokenizer, text::JudgeChatFormat format,
                                     bool with_end_of_turn) {
  std::vector<int64_t> ids = policy.generation_config().eos_token_ids;
  if (ids.empty()) ids = policy.decoder_config().eos_token_ids;
  if (with_end_of_turn) {
    if (auto id = tokenizer.token_to_id(format == text::JudgeChatFormat::chatml ? "<|im_end|>" : "</s>")) ids.push_back(*id);
  }
  std::vector<int64_t> unique;
  for (int64_t id : ids) {
    if (std::find(unique.begin(), unique.end(), id) == unique.end()) unique.push_back(id);
  }
  return unique;
}

}  // namespace balcap::models
