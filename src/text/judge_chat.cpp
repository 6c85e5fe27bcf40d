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

const char* to_string(JudgeChatFormat format) {
  switch (format) {
    case JudgeChatFormat::chatml:
      return "chatml";
    case JudgeChatFormat::llama2:
      return "llama2";
    case JudgeChatFormat::llava_1_5:
      return "llava_1_5";
  }
  return "unknown";
}

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

std::string llava_judge_prompt(std::string_view system, std::string_view user, int64_t num_images) {
  return "<s>" + llava_1_5_chat_prompt(num_images, user, system);
}

std::string_view judge_image_token(JudgeChatFormat format) {
  switch (format) {
    case JudgeChatFormat::chatml:
      return kQwenImagePad;
    case JudgeChatFormat::llava_1_5:
      return kLlavaImage;
    case JudgeChatFormat::llama2:
      break;
  }
  fail("the {} chat format has no image placeholder\nHINT: use a vision judge (Qwen2.5-VL or LLaVA-1.5)",
       to_string(format));
}

std::string judge_prompt(JudgeChatFormat format, std::string_view system, std::string_view user, int64_t num_images) {
  switch (format) {
    case JudgeChatFormat::chatml:
      return chatml_judge_prompt(system, user, num_images);
    case JudgeChatFormat::llama2:
      return llama2_judge_prompt(system, user, num_images);
    case JudgeChatFormat::llava_1_5:
      return llava_judge_prompt(system, user, num_images);
  }
  fail("judge chat format {} is unknown\nHINT: this is a bug in balcap", static_cast<int>(format));
}

}  // namespace balcap::text
