// Judge prompts (see judge_chat.h). Spec: the chat templates of Qwen2.5-Instruct / Qwen2.5-VL
// (ChatML) and meta-llama/Llama-2-7b-chat-hf, for [system, user] + add_generation_prompt.
#include "text/judge_chat.h"

#include "core/error.h"
#include "text/chat_template.h"

namespace balcap::text {
namespace {

// python's str.strip() without arguments, for the ASCII whitespace (and the separators it also strips).
std::string_view strip(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\v\f\x1c\x1d\x1e\x1f";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

}  // namespace

const char* to_string(JudgeChatFormat format) { return format == JudgeChatFormat::chatml ? "chatml" : "llama2"; }

std::string chatml_judge_prompt(std::string_view system, std::string_view user, int64_t num_images) {
  return qwen2_5_vl_chat_prompt(num_images, user, system);
}

std::string llama2_judge_prompt(std::string_view system, std::string_view user, int64_t num_images) {
  BALCAP_CHECK(num_images == 0,
               "the LLaMA-2 chat format has no image placeholder ({} images asked for). HINT: use a vision judge "
               "(a Qwen2.5-VL checkpoint) for questions about images.",
               num_images);
  const std::string content = "<<SYS>>\n" + std::string(system) + "\n<</SYS>>\n\n" + std::string(user);
  return "<s>[INST] " + std::string(strip(content)) + " [/INST]";
}

std::string judge_prompt(JudgeChatFormat format, std::string_view system, std::string_view user, int64_t num_images) {
  return format == JudgeChatFormat::chatml ? chatml_judge_prompt(system, user, num_images)
                                           : llama2_judge_prompt(system, user, num_images);
}

}  // namespace balcap::text
