// HF normalizers used by the supported tokenizer.json files.
#include "text/normalizer.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "text/utf8.h"

namespace balcap::text {
namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty() || s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  size_t start = 0;
  for (size_t at; (at = s.find(from, start)) != std::string::npos; start = at + from.size()) {
    out.append(s, start, at - start);
    out += to;
  }
  out.append(s, start);
  s = std::move(out);
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& spec, const std::string& where) {
  Normalizer n;
  if (!spec.is_null()) n.add(spec, where);
  return n;
}

void Normalizer::add(const nlohmann::json& spec, const std::string& where) {
  std::string type = spec.value("type", "");
  if (type == "Sequence") {
    for (const auto& s : spec.at("normalizers")) add(s, where);
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    steps_.push_back(Step{type, "", ""});
  } else if (type == "Prepend") {
    steps_.push_back(Step{type, spec.at("prepend").get<std::string>(), ""});
  } else if (type == "Replace" && spec.at("pattern").contains("String")) {
    steps_.push_back(Step{type, spec["pattern"]["String"].get<std::string>(), spec.at("content").get<std::string>()});
  } else {
    fail("{}: unsupported normalizer '{}' ({})\nHINT: balcap supports NFC, NFD, NFKC, NFKD, Prepend, "
         "Replace with a String pattern, and Sequence of these",
         where, type, spec.dump().substr(0, 200));
  }
}

std::string Normalizer::apply(std::string text) const {
  for (const auto& step : steps_) {
    if (step.kind == "Prepend") {
      if (!text.empty()) text.insert(0, step.a);
    } else if (step.kind == "Replace") {
      replace_all(text, step.a, step.b);
    } else {
      text = utf8::normalize(text, step.kind);
    }
  }
  return text;
}

bool Normalizer::uses_nfc() const {
  for (const auto& s : steps_) {
    if (s.kind == "NFC") return true;
  }
  return false;
}

}  // namespace balcap::text
