// to_yaml, config_hash and config_diff: the resolved config as stable text and as a flat
// key -> value view.
#include "config/yaml_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>

#include "field_traits.h"
#include "yaml_format.h"

namespace balcap::config {
namespace {

using namespace detail;

// Block YAML, two-space indent; top-level sections separated by a blank line.
struct YamlWriter {
  std::string& out;
  int indent = 0;

  template <class T>
  void field(const char* key, T& member, const char*, const Spec& = {}) {
    std::string pad(indent, ' ');
    if (indent == 0 && !out.empty()) out += "\n";
    if constexpr (Section<T>) {
      out += pad + key + ":\n";
      YamlWriter nested{out, indent + 2};
      member.visit(nested);
    } else if constexpr (NamedMap<T>) {
      if (member.empty()) {
        out += pad + key + ": {}\n";
        return;
      }
      out += pad + key + ":\n";
      for (auto& [name, entry] : member) {  // std::map: sorted by name, hence stable
        out += pad + "  " + name + ":\n";
        YamlWriter nested{out, indent + 4};
        entry.visit(nested);
      }
    } else {
      out += pad + key + ": " + format_value(member) + "\n";
    }
  }
};

// Flattens to "a.b.c" -> value text (map entries as "a.b.<name>.c").
struct Flattener {
  std::map<std::string, std::string>& out;
  std::string path;

  template <class T>
  void field(const char* key, T& member, const char*, const Spec& = {}) {
    std::string full = join_key(path, key);
    if constexpr (Section<T>) {
      Flattener nested{out, full};
      member.visit(nested);
    } else if constexpr (NamedMap<T>) {
      if (member.empty()) out[full] = "{}";
      for (auto& [name, entry] : member) {
        Flattener nested{out, join_key(full, name)};
        entry.visit(nested);
      }
    } else {
      out[full] = format_value(member);
    }
  }
};

std::map<std::string, std::string> flatten(const Config& config) {
  Config copy = config;  // visit() is non-const (one template serves reading and writing)
  std::map<std::string, std::string> flat;
  Flattener flattener{flat, ""};
  copy.visit(flattener);
  return flat;
}

}  // namespace

std::string to_yaml(const Config& config) {
  Config copy = config;
  std::string out;
  YamlWriter writer{out};
  copy.visit(writer);
  return out;
}

std::string config_hash(const Config& config) {
  // FNV-1a 64: simple, stable across platforms and versions (unlike std::hash).
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : to_yaml(config)) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return fmt::format("{:016x}", hash);
}

std::vector<std::string> config_diff(const Config& a, const Config& b) {
  auto flat_a = flatten(a);
  auto flat_b = flatten(b);
  std::vector<std::string> keys;
  for (const auto& [key, value] : flat_a) {
    auto it = flat_b.find(key);
    if (it == flat_b.end() || it->second != value) keys.push_back(key);
  }
  for (const auto& [key, value] : flat_b) {
    if (!flat_a.count(key)) keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace balcap::config
