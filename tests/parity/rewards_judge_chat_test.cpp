// Judge prompts (text/judge_chat.h) against the judge checkpoints' own chat templates rendered by
// transformers' apply_chat_template in ref_rewards.py: Qwen2.5-Instruct (ChatML), Llama-2-chat and
// the Qwen2.5-VL processor template with an image, llava-hf's LLaVA-1.5 template (BOS as text), for every judge case of the fixture.
#include <gtest/gtest.h>

#include "text/judge_chat.h"
#include "rewards_reference.h"

namespace balcap {
namespace {

TEST(JudgeChat, PromptsEqualApplyChatTemplateForEveryJudgeCase) {
  int checked = 0;
  for (const auto& entry : test::rewards_manifest()["judge_cases"]) {
    const std::string model = entry["model"];
    const text::JudgeChatFormat format = model == "llama"   ? text::JudgeChatFormat::llama2
                                         : model == "llava" ? text::JudgeChatFormat::llava_1_5
                                                            : text::JudgeChatFormat::chatml;
    const int64_t images = entry["image"].is_null() ? 0 : 1;
    EXPECT_EQ(text::judge_prompt(format, entry["system"].get<std::string>(), entry["user"].get<std::string>(), images),
              entry["prompt_text"].get<std::string>())
        << model << ": " << entry["user"].get<std::string>();
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

}  // namespace
}  // namespace balcap
