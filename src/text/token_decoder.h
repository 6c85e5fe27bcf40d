#pragma once
// Private to src/text: tokenizer.json "decoder": turns token strings back into text, as HF's decoders do.
//   ByteLevel                     GPT-2 alphabet -> bytes -> UTF-8 (lossy: U+FFFD per bad subpart)
//   Replace {pattern: {String}, content}   per token
//   ByteFallback                  runs of <0xXX> tokens -> their bytes (U+FFFD each if invalid)
//   Fuse                          all tokens -> one
//   Strip {content, start, stop}  drop up to start/stop copies of `content` at each token's ends
//   Sequence {decoders}
// "decoder": null joins the tokens with spaces (HF's behaviour). Others -> balcap::Error.
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace balcap::text {

class TokenDecoder {
 public:
  static TokenDecoder from_json(const nlohmann::json& spec, const std::string& where);
  std::string decode(std::vector<std::string> tokens) const;

 private:
  struct Step {
    std::string kind;
    std::string a, b;          // Replace: a -> b; Strip: a = content
    size_t start = 0, stop = 0;  // Strip
  };
  void add(const nlohmann::json& spec, const std::string& where);
  std::vector<Step> steps_;
  bool none_ = false;
};

}  // namespace balcap::text
