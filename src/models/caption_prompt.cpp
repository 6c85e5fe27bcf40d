// The captioning prompt of the policy families (see caption_prompt.h).
#include "models/caption_prompt.h"

#include "text/chat_template.h"

namespace balcap::models {

std::string caption_chat_text(io::ModelFamily family, const std::vector<int64_t>& tokens_per_image,
                              const std::string& instruction, const std::string& system) {
  const auto n = static_cast<int64_t>(tokens_per_image.size());
  if (family == io::ModelFamily::llava) {
    return text::expand_image_tokens(text::llava_1_5_chat_prompt(n, instruction, system), text::kLlavaImage,
                                     tokens_per_image);
  }
  // Qwen2.5-VL, and the text-only Qwen2 / LLaMA judges asked for a captioning prompt: ChatML.
  const std::string templated =
      text::qwen2_5_vl_chat_prompt(n, instruction, system.empty() ? std::string(text::kQwenDefaultSystem) : system);
  return text::expand_image_tokens(templated, text::kQwenImagePad, tokens_per_image);
}

PolicyPrompt build_caption_prompt(const text::Tokenizer& tokenizer, const vision::ImageProcessor& processor,
                                  const vision::Image& image, const std::string& instruction, const std::string& system) {
  vision::ProcessedImage processed = processor.process(image);
  const io::ModelFamily family = processor.kind() == "clip" ? io::ModelFamily::llava : io::ModelFamily::qwen2_5_vl;
  const std::string text = caption_chat_text(family, {processed.num_image_tokens}, instruction, system);
  const std::vector<int32_t> ids = tokenizer.encode(text);  // LLaVA: BOS from the tokenizer's post-processor
  return PolicyPrompt{std::vector<int64_t>(ids.begin(), ids.end()), processed.pixel_values,
                      processed.image_grid_thw};
}

}  // namespace balcap::models
