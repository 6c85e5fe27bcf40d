#pragma once
// The policy's captioning prompt (docs/architecture.md §1 PromptBuilder): chat template + image placeholder
// expansion + tokenizer + image processor -> PolicyPrompt. The family is read from the processor
// (Qwen2-VL processor -> Qwen2.5-VL chat template, CLIP processor -> LLaVA-1.5); the family switch stays
// inside models/.
#include <string>
#include <vector>

#include "io/model_family.h"

#include "models/policy.h"
#include "text/tokenizer.h"
#include "vision/image.h"
#include "vision/image_processor.h"

namespace balcap::models {

// Qwen2.5-VL (a Qwen2-VL processor): <|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n<|vision_start|>
// <|image_pad|> x n_tokens <|vision_end|>{instruction}<|im_end|>\n<|im_start|>assistant\n, tokenized,
// with pixel_values [N, 1176] and image_grid_thw [1, 3] from the processor. An empty `system` uses
// the template's default ("You are a helpful assistant.").
// LLaVA-1.5 (a CLIP processor): [{system} ]USER: <image> x n_tokens \n{instruction} ASSISTANT:, tokenized
// with BOS, with pixel_values [1, 3, 336, 336]; no system text when `system` is empty.
// The chat text of `family` for tokens_per_image.size() images followed by `instruction`, each image
// placeholder expanded to its token count (Qwen2.5-VL <|image_pad|>, LLaVA <image>); text-only
// families take no images. An empty `system` uses the template's default.
std::string caption_chat_text(io::ModelFamily family, const std::vector<int64_t>& tokens_per_image,
                              const std::string& instruction, const std::string& system = "");

PolicyPrompt build_caption_prompt(const text::Tokenizer& tokenizer, const vision::ImageProcessor& processor, const vision::Image& image,
                                  const std::string& instruction, const std::string& system = "");

}  // namespace balcap::models
