// The captioning prompt as code against the Qwen2.5-VL processor: the rendered template equals
// apply_chat_template(tokenize=False), and after image-token expansion and tokenization the ids
// equal the processor's input_ids, for every reference case (0, 1 and 2 images).
#include <gtest/gtest.h>

#include "core/error.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "models_reference.h"

namespace balcap {
namespace {

TEST(ChatTemplate, QwenPromptEqualsApplyChatTemplateForEveryCase) {
  for (const auto& entry : test::models_manifest()["cases"]) {
    SCOPED_TRACE(entry["name"].get<std::string>());
    const int64_t images = int64_t(entry["images"].size());
    EXPECT_EQ(text::caption_prompt(text::ChatTemplate::qwen2_5_vl, images, entry["prompt"].get<std::string>()),
              entry["text"].get<std::string>());
  }
}

TEST(ChatTemplate, ExpandedAndTokenizedPromptEqualsProcessorInputIds) {
  const auto tokenizer = text::load_tokenizer(test::reference_path("models", "tokenizer"));
  for (const auto& entry : test::models_manifest()["cases"]) {
    SCOPED_TRACE(entry["name"].get<std::string>());
    std::vector<int64_t> tokens_per_image;
    for (const auto& grid : entry["image_grid_thw"]) {
      tokens_per_image.push_back(grid[0].get<int64_t>() * grid[1].get<int64_t>() * grid[2].get<int64_t>() / 4);
    }
    const std::string prompt =
        text::qwen2_5_vl_chat_prompt(int64_t(tokens_per_image.size()), entry["prompt"].get<std::string>());
    const std::vector<int32_t> ids = tokenizer->encode(text::expand_image_tokens(prompt, text::kQwenImagePad, tokens_per_image));
    const at::Tensor expected = test::load_case(entry)["input_ids"];
    ASSERT_EQ(int64_t(ids.size()), expected.numel());
    for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(ids[i], expected[i].item<int64_t>()) << "position " << i;
  }
}

TEST(ChatTemplate, PlaceholderCountDifferentFromImagesNamesBothNumbers) {
  const std::string prompt = text::qwen2_5_vl_chat_prompt(2, "Describe.");
  try {
    text::expand_image_tokens(prompt, text::kQwenImagePad, {4});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2 '<|image_pad|>' placeholders but 1 images"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace balcap
