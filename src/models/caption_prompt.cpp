// The captioning prompt of the policy families (see caption_prompt.h).
#include "models/caption_prompt.h"

#include "core/error.h"
#include "text/chat_template.h"

namespace balcap::models {

PolicyPrompt build_caption_prompt(const text::Tokenizer& tokenizer, const vision::ImageProcessor& processor, const vision::Image& image,
                                  const std::string& instruction, const std::string& system) {
  BALCAP_CHECK(processor.kind() == "qwen2_vl",
               "caption prompt: the '{}' image processor (LLaVA-1.5) is not supported yet. HINT: use a "
               "Qwen2.5-VL checkpoint.",
               processor.kind());
  vision::ProcessedImage processed = processor.process(image);
  const std::string templated =
      text::qwen2_5_vl_chat_prompt(1, instruction, system.empty() ? std::string(text::kQwenDefaultSystem) : system);
  const std::string text = text::expand_image_tokens(templated, text::kQwenImagePad, {processed.num_image_tokens});
  const std::vector<int32_t> ids = tokenizer.encode(text);
  return PolicyPrompt{std::vector<int64_t>(ids.begin(), ids.end()), processed.pixel_values,
                      processed.image_grid_thw};
}

}  // namespace balcap::models
