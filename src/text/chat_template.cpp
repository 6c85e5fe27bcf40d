// Chat templates as code (see chat_template.h). The Jinja originals are the spec; these are
// their renderings for the one shape of conversation balcap prompts with.
#include "text/chat_template.h"

#include <fmt/format.h>

#include "core/error.h"

namespace balcap::text {

const char* to_string(ChatTemplate chat_template) {
  switch (chat_template) {
    case ChatTemplate::qwen2_5_vl:
      return "qwen2_5_vl";
    case ChatTemplate::llava_1_5:
      return "llava_1_5";
  }
  return "?";
}

std::string qwen2_5_vl_chat_prompt(int64_t num_images, std::string_view instruction, std::string_view system) {
  BALCAP_CHECK(num_images >= 0, "chat template: {} images asked for. HINT: pass 0 for a text-only prompt.", num_images);
  std::string out = fmt::format("<|im_start|>system\n{}<|im_end|>\n<|im_start|>user\n", system);
  for (int64_t i = 0; i < num_images; ++i) out += "<|vision_start|><|image_pad|><|vision_end|>";
  out += instruction;
  out += "<|im_end|>\n<|im_start|>assistant\n";
  return out;
}

std::string llava_1_5_chat_prompt(int64_t num_images, std::string_view instruction, std::string_view system) {
  BALCAP_CHECK(num_images >= 0, "chat template: {} images asked for. HINT: pass 0 for a text-only prompt.", num_images);
  std::string out = system.empty() ? std::string() : fmt::format("{} ", system);
  out += "USER: ";
  for (int64_t i = 0; i < num_images; ++i) out += "<image>\n";
  return out + fmt::format("{} ASSISTANT:", instruction);
}

std::string caption_prompt(ChatTemplate chat_template, int64_t num_images, std::string_view instruction) {
  switch (chat_template) {
    case ChatTemplate::qwen2_5_vl:
      return qwen2_5_vl_chat_prompt(num_images, instruction);
    case ChatTemplate::llava_1_5:
      return llava_1_5_chat_prompt(num_images, instruction);
  }
  fail("chat template {} is unknown. HINT: this is a bug in balcap.", static_cast<int>(chat_template));
}

std::string expand_image_tokens(std::string_view prompt, std::string_view image_token,
                                const std::vector<int64_t>& tokens_per_image) {
  BALCAP_CHECK(!image_token.empty(), "expand_image_tokens: empty image token. HINT: pass e.g. '<|image_pad|>'.");
  std::string out;
  size_t image = 0;
  size_t pos = 0;
  for (size_t hit; (hit = prompt.find(image_token, pos)) != std::string_view::npos; pos = hit + image_token.size()) {
    out.append(prompt.substr(pos, hit - pos));
    if (image < tokens_per_image.size()) {
      BALCAP_CHECK(tokens_per_image[image] >= 0, "expand_image_tokens: image {} has {} tokens. HINT: counts are >= 0.",
                   image, tokens_per_image[image]);
      for (int64_t k = 0; k < tokens_per_image[image]; ++k) out.append(image_token);
    }
    ++image;
  }
  out.append(prompt.substr(pos));
  BALCAP_CHECK(image == tokens_per_image.size(),
               "prompt has {} '{}' placeholders but {} images were given. HINT: give one image per placeholder.", image,
               image_token, tokens_per_image.size());
  return out;
}

}  // namespace balcap::text
