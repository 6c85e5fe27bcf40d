#pragma once
// The policy's captioning prompt (docs/architecture.md §1 PromptBuilder): chat template + image placeholder
// expansion + tokenizer + image processor -> PolicyPrompt. The family is read from the processor
// (Qwen2-VL processor -> Qwen2.5-VL chat template); the family switch stays inside models/.
#include <string>

#include "models/policy.h"
#include "text/tokenizer.h"
#include "vision/image.h"
#include "vision/image_processor.h"

namespace balcap::models {

// Qwen2.5-VL: <|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n<|vision_start|>
// <|image_pad|> x n_tokens <|vision_end|>{instruction}<|im_end|>\n<|im_start|>assistant\n, tokenized,
// with pixel_values [N, 1176] and image_grid_thw [1, 3] from the processor. An empty `system` uses
// the template's default ("You are a helpful assistant."). A CLIP (LLaVA) processor -> balcap::Error
// (not supported yet).
PolicyPrompt build_caption_prompt(const text::Tokenizer& tokenizer, const vision::ImageProcessor& processor, const vision::Image& image,
                                  const std::string& instruction, const std::string& system = "");

}  // namespace balcap::models
