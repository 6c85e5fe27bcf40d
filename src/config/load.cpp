// Loading: YAML file -> Config, then --set overrides, then validation; every problem of
// all three stages is reported together.
#include "config/load.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "config/validate.h"
#include "core/error.h"
#include "yaml_reader.h"

namespace balcap::config {
namespace {

using namespace detail;

// "a.b.c" -> {"a","b","c"}; empty segments are kept so the caller can reject them.
std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

// One "--set KEY=VALUE": VALUE is read as YAML (scalars, [flow, lists], {flow: maps});
// text that is not valid YAML stays a plain string.
void apply_override(Config& config, const std::string& text, Diagnostics& diag) {
  Origin origin{"--set " + text, true, ""};
  std::size_t eq = text.find('=');
  if (eq == std::string::npos) {
    diag.add(origin.name, "expected KEY=VALUE, e.g. --set sampling.temperature=0.7");
    return;
  }
  std::string key = text.substr(0, eq);
  origin.raw_value = text.substr(eq + 1);
  std::vector<std::string> segments = split_key(key);
  for (const auto& s : segments) {
    if (s.empty()) {
      diag.add(origin.name, fmt::format("'{}' is not a key path (use dots between names: train.lora.r)", key));
      return;
    }
  }
  YAML::Node value;
  try {
    value = YAML::Load(origin.raw_value);
  } catch (const YAML::Exception&) {
    value = YAML::Node(origin.raw_value);
  }
  // A key set again replaces everything under it: forget where its old children were set.
  for (auto it = diag.locations.lower_bound(key + ".");
       it != diag.locations.end() && it->first.rfind(key + ".", 0) == 0;) {
    it = diag.locations.erase(it);
  }
  YamlReader reader(origin, diag);
  OverrideApplier applier(reader, segments, value);
  applier.apply(config, 0, "");
}

Config load_from_node(const YAML::Node& root, const std::string& source, const std::vector<std::string>& overrides) {
  Diagnostics diag;
  diag.source = source;
  Config config = default_config();
  Origin origin{source, false, ""};
  YamlReader reader(origin, diag);
  reader.read_section(root, "", config);
  for (const auto& text : overrides) apply_override(config, text, diag);
  validate_into(config, diag);
  diag.throw_if_any();
  return config;
}

YAML::Node parse_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    fail("config {}:{}:{}: YAML syntax error: {}\nHINT: check the indentation and quoting near that line.", source,
         e.mark.line + 1, e.mark.column + 1, e.msg);
  } catch (const YAML::Exception& e) {
    fail("config {}: cannot read YAML: {}\nHINT: check the file is a YAML mapping of sections.", source, e.what());
  }
}

}  // namespace

Config load_config_text(const std::string& yaml, const std::string& source, const std::vector<std::string>& overrides) {
  return load_from_node(parse_yaml(yaml, source), source, overrides);
}

Config load_config(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    fail("config {}: {}\nHINT: pass the path of a YAML config, e.g. configs/demo.yaml.", file.string(),
         std::filesystem::exists(file, ec) ? "not a regular file" : "file not found");
  }
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) fail("config {}: cannot read the file\nHINT: check its permissions.", file.string());
  return load_config_text(text.str(), file.string(), overrides);
}

}  // namespace balcap::config
