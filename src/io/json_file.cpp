#include "io/json_file.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace balcap::io {
namespace fs = std::filesystem;

std::pair<size_t, size_t> line_and_column(const std::string& text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

nlohmann::json parse_json_text(const std::string& text, const std::string& what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    const size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    const auto [line, column] = line_and_column(text, offset);
    std::string detail = e.what();
    const auto colon = detail.find("; ");
    if (colon != std::string::npos) detail = detail.substr(colon + 2);
    fail("{}: invalid JSON at line {}, column {}: {}. HINT: fix the syntax there (a trailing comma, a "
         "missing quote or bracket, or a truncated file)",
         what, line, column, detail);
  } catch (const nlohmann::json::out_of_range& e) {  // a number past double's range, e.g. 1e400 (error 406)
    std::string detail = e.what();
    const auto bracket = detail.find("] ");
    if (bracket != std::string::npos) detail = detail.substr(bracket + 2);
    fail("{}: invalid JSON: {} (beyond the range of a double). HINT: fix or remove that number", what, detail);
  }
}

nlohmann::json read_json_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!fs::exists(path)) fail("{}: file not found. HINT: check the path", path.string());
    fail("{}: cannot open the file for reading. HINT: check its permissions", path.string());
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parse_json_text(buffer.str(), path.string());
}

JsonFields::JsonFields(fs::path file, const nlohmann::json& object, std::string prefix)
    : file_(std::move(file)), object_(&object), prefix_(std::move(prefix)) {
  if (!object.is_object()) {
    const std::string where = prefix_.empty() ? "the top level" : "'" + prefix_ + "'";
    fail("{}: {} must be a JSON object, got {}. HINT: is this the right file?", file_.string(), where,
         object.dump().substr(0, 80));
  }
}

std::string JsonFields::key_path(const std::string& key) const {
  return prefix_.empty() ? key : prefix_ + "." + key;
}

const nlohmann::json* JsonFields::find(const std::string& key) const {
  auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonFields::has(const std::string& key) const { return find(key) != nullptr; }

void JsonFields::fail_key(const std::string& key, const std::string& problem,
                          const std::string& hint) const {
  fail("{}: key '{}' {}. HINT: {}", file_.string(), key_path(key), problem, hint);
}

void JsonFields::fail_type(const std::string& key, const char* expected) const {
  fail_key(key, fmt::format("must be {}, got {}", expected, object_->at(key).dump().substr(0, 80)),
           "fix the value in the file (compare with a config saved by transformers)");
}

std::optional<JsonFields> JsonFields::object(const std::string& key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_object()) fail_type(key, "an object");
  return JsonFields(file_, *value, key_path(key));
}

std::optional<int64_t> JsonFields::get_optional_int(const std::string& key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  // Booleans are not integers here, and neither are 2048.0 or "2048".
  if (!value->is_number_integer()) fail_type(key, "an integer");
  if (value->is_number_unsigned() && value->get<uint64_t>() > uint64_t(INT64_MAX)) {
    fail_type(key, "an integer that fits in 64 bits");
  }
  return value->get<int64_t>();
}

std::optional<double> JsonFields::get_optional_double(const std::string& key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number()) fail_type(key, "a number");
  return value->get<double>();
}

std::optional<bool> JsonFields::get_optional_bool(const std::string& key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) fail_type(key, "true or false");
  return value->get<bool>();
}

std::optional<std::string> JsonFields::get_optional_string(const std::string& key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) fail_type(key, "a string");
  return value->get<std::string>();
}

int64_t JsonFields::get_int(const std::string& key, int64_t fallback) const {
  return get_optional_int(key).value_or(fallback);
}
double JsonFields::get_double(const std::string& key, double fallback) const {
  return get_optional_double(key).value_or(fallback);
}
bool JsonFields::get_bool(const std::string& key, bool fallback) const {
  return get_optional_bool(key).value_or(fallback);
}
std::string JsonFields::get_string(const std::string& key, const std::string& fallback) const {
  return get_optional_string(key).value_or(fallback);
}

std::vector<int64_t> JsonFields::get_int_list(const std::string& key, const std::vector<int64_t>& fallback,
                                              bool int_or_list) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return fallback;
  if (int_or_list && value->is_number_integer()) return {value->get<int64_t>()};
  const char* expected = int_or_list ? "an integer or a list of integers" : "a list of integers";
  if (!value->is_array()) fail_type(key, expected);
  std::vector<int64_t> out;
  for (const auto& item : *value) {
    if (!item.is_number_integer()) fail_type(key, expected);
    out.push_back(item.get<int64_t>());
  }
  return out;
}

}  // namespace balcap::io
