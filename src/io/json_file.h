#pragma once
// JSON files with errors that point at the file, line and column, plus typed access to the
// keys of one object (`JsonFields`) whose errors name the file and the full key path
// (e.g. "config.json: key 'text_config.hidden_size' must be an integer, got \"2048\"").
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace balcap::io {

// Parses `path` as JSON. A missing file, unreadable file or syntax error -> balcap::Error
// naming the file and (for syntax errors) the 1-based line and column.
nlohmann::json read_json_file(const std::filesystem::path& path);

// Parses `text` (the contents of `path`, or of a part of it) as JSON; `what` names the source
// in errors ("model.safetensors: header").
nlohmann::json parse_json_text(const std::string& text, const std::string& what);

// 1-based line and column of byte `offset` in `text` (offset clamped to the text).
std::pair<size_t, size_t> line_and_column(const std::string& text, size_t offset);

// Typed, read-only view of one JSON object of a file. Absent keys and `null` values give the
// default; a value of the wrong type is an error naming the file and key path.
class JsonFields {
 public:
  // `object` must outlive this view; `prefix` is the key path of `object` ("" for the root).
  JsonFields(std::filesystem::path file, const nlohmann::json& object, std::string prefix = "");

  const std::filesystem::path& file() const { return file_; }
  // "text_config.hidden_size" for key "hidden_size" under prefix "text_config".
  std::string key_path(const std::string& key) const;
  // Present and not null.
  bool has(const std::string& key) const;
  // Present, possibly null (transformers treats an explicit null differently from an absent key).
  bool contains(const std::string& key) const { return object_->contains(key); }
  // A nested object (present and an object); an error when present with another type.
  std::optional<JsonFields> object(const std::string& key) const;

  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::optional<int64_t> get_optional_int(const std::string& key) const;
  std::optional<double> get_optional_double(const std::string& key) const;
  std::optional<bool> get_optional_bool(const std::string& key) const;
  std::optional<std::string> get_optional_string(const std::string& key) const;
  // A list of integers; `int_or_list` also accepts a single integer (as eos_token_id).
  std::vector<int64_t> get_int_list(const std::string& key, const std::vector<int64_t>& fallback,
                                    bool int_or_list = false) const;

  // Throws balcap::Error "<file>: key '<path>' <problem>. HINT: <hint>".
  [[noreturn]] void fail_key(const std::string& key, const std::string& problem,
                             const std::string& hint) const;

 private:
  const nlohmann::json* find(const std::string& key) const;
  [[noreturn]] void fail_type(const std::string& key, const char* expected) const;

  std::filesystem::path file_;
  const nlohmann::json* object_;
  std::string prefix_;
};

// Reads the keys a struct's visit() lists from one JSON object, each field keeping its current
// value when its key is absent or null: the same visit() convention the YAML config uses
// (config/config.h), so a struct names its keys once.
//   struct VisionConfig { int64_t depth = 32;  template <class V> void visit(V& v) { v.field("depth", depth); } };
//   VisionConfig c;  read_fields(JsonFields(file, object), c);
class JsonFieldReader {
 public:
  explicit JsonFieldReader(const JsonFields& fields) : fields_(fields) {}
  void field(const char* key, int64_t& value) { value = fields_.get_int(key, value); }
  void field(const char* key, double& value) { value = fields_.get_double(key, value); }
  void field(const char* key, bool& value) { value = fields_.get_bool(key, value); }
  void field(const char* key, std::string& value) { value = fields_.get_string(key, value); }
  void field(const char* key, std::vector<int64_t>& value) { value = fields_.get_int_list(key, value); }

 private:
  const JsonFields& fields_;
};

template <class T>
void read_fields(const JsonFields& fields, T& out) {
  JsonFieldReader reader(fields);
  out.visit(reader);
}

}  // namespace balcap::io
