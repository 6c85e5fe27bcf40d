#pragma once
// The token ids a model's turn ends at, built in one place for every caller that generates a
// chat reply (the local judges, the OpenAI-compatible server).
#include <cstdint>
#include <vector>

#include "models/policy.h"
#include "text/judge_chat.h"
#include "text/tokenizer.h"

namespace balcap::models {

// The checkpoint's eos ids (generation_config.json's eos_token_id, else config.json's), plus, when
// `with_end_of_turn`, the chat format's end-of-turn token (<|im_end|> for chatml, </s> for llama2)
// if the vocabulary has it. Duplicates dropped, first occurrences kept in that order.
std::vector<int64_t> end_of_turn_ids(const Policy& policy, const text::Tokenizer& tokenizer, text::JudgeChatFormat format,
                                     bool with_end_of_turn = true);

}  // namespace balcap::models
