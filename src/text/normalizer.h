#pragma once
// Private to src/text: tokenizer.json "normalizer": the supported HF normalizers, applied to each plain segment.
//   NFC / NFD / NFKC / NFKD   Unicode normal forms (utf8proc)
//   Prepend {prepend}         prefix a non-empty segment (LLaMA's "▁")
//   Replace {pattern: {String}, content}
//   Sequence {normalizers}
// Anything else (e.g. Lowercase, BertNormalizer, a Regex Replace) -> balcap::Error naming it.
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace balcap::text {

class Normalizer {
 public:
  Normalizer() = default;  // identity ("normalizer": null)
  static Normalizer from_json(const nlohmann::json& spec, const std::string& where);

  std::string apply(std::string text) const;
  bool identity() const { return steps_.empty(); }
  bool uses_nfc() const;

 private:
  struct Step {
    std::string kind;  // "NFC", ..., "Prepend", "Replace"
    std::string a, b;  // Prepend: a = prefix; Replace: a -> b
  };
  void add(const nlohmann::json& spec, const std::string& where);
  std::vector<Step> steps_;
};

}  // namespace balcap::text
