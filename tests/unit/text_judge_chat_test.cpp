// Judge prompt formats, hand-worked (the templates' renderings are checked against transformers in
// tests/parity/rewards_judge_chat_test.cpp).
#include <gtest/gtest.h>

#include "core/error.h"
#include "text/judge_chat.h"

namespace balcap {
namespace {

TEST(JudgeChat, ChatMlRendersSystemUserAndTheAssistantHeader) {
  EXPECT_EQ(text::chatml_judge_prompt("Be brief.", "Is it red?"),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nIs it red?<|im_end|>\n<|im_start|>assistant\n");
}

TEST(JudgeChat, ChatMlKeepsAnEmptySystemMessageAndPutsTheImageFirst) {
  EXPECT_EQ(text::chatml_judge_prompt("", "What is shown?", 1),
            "<|im_start|>system\n<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>"
            "What is shown?<|im_end|>\n<|im_start|>assistant\n");
}

TEST(JudgeChat, Llama2WrapsTheSystemInSysTagsAndStripsTheContent) {
  EXPECT_EQ(text::llama2_judge_prompt("Be brief.", "Is it red?\n "),
            "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nIs it red? [/INST]");
  EXPECT_EQ(text::llama2_judge_prompt("", "Hi"), "<s>[INST] <<SYS>>\n\n<</SYS>>\n\nHi [/INST]");
}

TEST(JudgeChat, Llama2RefusesImagesWithAHint) {
  try {
    text::llama2_judge_prompt("s", "u", 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("HINT"), std::string::npos);
  }
  EXPECT_STREQ(to_string(text::JudgeChatFormat::llama2), "llama2");
  EXPECT_EQ(text::judge_prompt(text::JudgeChatFormat::chatml, "a", "b"), text::chatml_judge_prompt("a", "b"));
}

}  // namespace
}  // namespace balcap
