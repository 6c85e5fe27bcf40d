#pragma once
// Judge prompts as code: what a judge checkpoint's chat template renders for a conversation of one
// system message and one user message (an image first, for vision judges), with the generation
// prompt appended: apply_chat_template([{system}, {user}], add_generation_prompt=True, tokenize=False).
// The system message is always rendered, even when empty (an explicit empty system message), so the
// prompt never depends on a template's default system text. Tokenize the result with
// add_special_tokens = false (the text already holds any BOS). Torch-free.
#include <cstdint>
#include <string>
#include <string_view>

namespace balcap::text {

enum class JudgeChatFormat {
  chatml,  // Qwen2 / Qwen2.5 / Qwen2.5-VL (and the remote judge's `api: completions`)
  llama2,  // LLaMA-2 chat
  llava_1_5,  // LLaVA-1.5's conversation (llava-hf's chat template)
};

// "chatml" / "llama2" / "llava_1_5".
const char* to_string(JudgeChatFormat format);

// <|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n
// (<|vision_start|><|image_pad|><|vision_end|>) x num_images {user}<|im_end|>\n<|im_start|>assistant\n
// (image placeholders still to be expanded with expand_image_tokens). num_images < 0 -> balcap::Error.
std::string chatml_judge_prompt(std::string_view system, std::string_view user, int64_t num_images = 0);

// <s>[INST] strip(<<SYS>>\n{system}\n<</SYS>>\n\n{user}) [/INST]   (Llama-2-chat's template; strip
// removes leading/trailing whitespace of the whole content as python's str.strip() does for ASCII
// whitespace). Images are not supported (balcap::Error).
std::string llama2_judge_prompt(std::string_view system, std::string_view user, int64_t num_images = 0);

// <s>[{system} ]USER: (<image>\n) x num_images {user} ASSISTANT:   (llava-hf's chat template, which has no
// default system text: an empty system is left out; the BOS is written as text, as for LLaMA-2).
std::string llava_judge_prompt(std::string_view system, std::string_view user, int64_t num_images = 0);

// The image placeholder of a format's prompts (expand_image_tokens): <|image_pad|> or <image>;
// LLaMA-2 chat has none (balcap::Error).
std::string_view judge_image_token(JudgeChatFormat format);

std::string judge_prompt(JudgeChatFormat format, std::string_view system, std::string_view user,
                         int64_t num_images = 0);

}  // namespace balcap::text
