#include "yaml_format.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <string_view>

namespace balcap::config::detail {

std::string format_double(double value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  std::string text = fmt::format("{}", value);  // shortest text that reads back exactly
  // Keep a '.' in the mantissa: YAML 1.1 readers (PyYAML) take "1e-06" for a string.
  if (text.find('.') == std::string::npos) {
    std::size_t e = text.find('e');
    text.insert(e == std::string::npos ? text.size() : e, ".0");
  }
  return text;
}

namespace {

// Would this text, written bare, read back as a bool, number or null instead of a string?
bool reads_as_non_string(const std::string& s) {
  static const std::string_view kNulls[] = {"~", "null", "Null", "NULL"};
  for (auto n : kNulls) {
    if (s == n) return true;
  }
  YAML::Node node(s);
  double d;
  bool b;
  return YAML::convert<double>::decode(node, d) || YAML::convert<bool>::decode(node, b);
}

bool plain_is_safe(const std::string& s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return false;
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos) return false;
  for (char c : s) {
    // Flow indicators would break `[a, b]` lists; control characters need escapes.
    if (static_cast<unsigned char>(c) < 0x20 || c == ',' || c == '[' || c == ']' || c == '{' || c == '}') return false;
  }
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos || s.back() == ':') return false;
  return !reads_as_non_string(s);
}

}  // namespace

std::string format_string(const std::string& s) {
  if (plain_is_safe(s)) return s;
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace balcap::config::detail
