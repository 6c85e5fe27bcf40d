#pragma once
// The captioning prompt as code: what a model's processor chat template renders for one user
// turn made of `num_images` images followed by an instruction, with the generation prompt
// appended (apply_chat_template(..., add_generation_prompt=True, tokenize=False)). The
// processor then expands each image placeholder into one token per image feature
// (expand_image_tokens). Torch-free.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace balcap::text {

enum class ChatTemplate {
  qwen2_5_vl,  // chat_template.json of the Qwen2.5-VL hub checkpoints
  llava_1_5,   // chat_template.json of llava-hf/llava-1.5-7b-hf: "USER: <image>\n... ASSISTANT:"
};

// "qwen2_5_vl" / "llava_1_5".
const char* to_string(ChatTemplate chat_template);

inline constexpr std::string_view kQwenDefaultSystem = "You are a helpful assistant.";
inline constexpr std::string_view kQwenImagePad = "<|image_pad|>";
inline constexpr std::string_view kLlavaImage = "<image>";

// Qwen2.5-VL:
//   <|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n
//   (<|vision_start|><|image_pad|><|vision_end|>) x num_images {instruction}<|im_end|>\n
//   <|im_start|>assistant\n
// `system` defaults to the template's own ("You are a helpful assistant."), which is also what an
// explicit system message renders. num_images < 0 -> balcap::Error.
std::string qwen2_5_vl_chat_prompt(int64_t num_images, std::string_view instruction,
                                   std::string_view system = kQwenDefaultSystem);

// LLaVA-1.5 (the llava-hf processor template: images first, then each text item + " "):
//   [{system} ]USER: (<image>\n) x num_images {instruction} ASSISTANT:
// No system text by default (the template renders a system message's text + " ", unprefixed).
// num_images < 0 -> balcap::Error.
std::string llava_1_5_chat_prompt(int64_t num_images, std::string_view instruction, std::string_view system = {});

// The prompt of `chat_template` for `num_images` images and `instruction` (template defaults).
std::string caption_prompt(ChatTemplate chat_template, int64_t num_images, std::string_view instruction);

// Replaces the k-th occurrence of `image_token` in `prompt` by tokens_per_image[k] copies of it
// (the processors' expansion: Qwen2-VL grid_t*grid_h*grid_w / merge^2 per image). A count of
// placeholders different from tokens_per_image.size() -> balcap::Error naming both numbers.
std::string expand_image_tokens(std::string_view prompt, std::string_view image_token,
                                const std::vector<int64_t>& tokens_per_image);

}  // namespace balcap::text
