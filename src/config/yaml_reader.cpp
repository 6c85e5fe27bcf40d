#include "yaml_reader.h"

#include <algorithm>
#include <cctype>

namespace balcap::config::detail {

std::string describe_node(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null (no value)";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  std::string text = node.Scalar();
  if (text.size() > 60) {
    text.resize(57);
    text += "...";
  }
  return node.Tag() == "!" ? fmt::format("the quoted string \"{}\"", text) : fmt::format("'{}'", text);
}

void YamlReader::check_keys(const YAML::Node& node, const std::string& path, const std::vector<std::string>& keys) {
  std::map<std::string, int> first_line;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      diag_.add(origin_.where(key), fmt::format("a key under '{}' is {}, not a name", path, describe_node(key)));
      continue;
    }
    std::string name = key.Scalar();
    std::string full = join_key(path, name);
    int line = key.Mark().line + 1;
    if (auto [pos, inserted] = first_line.emplace(name, line); !inserted) {
      diag_.add(origin_.where(key), fmt::format("key '{}' is given twice (first at line {})", full, pos->second));
      continue;
    }
    if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
      std::string suggestion = closest_key(name, keys);
      diag_.add(origin_.where(key), unknown_key_message(full, suggestion.empty() ? "" : join_key(path, suggestion)));
      continue;
    }
    diag_.locations[full] = origin_.where(key);
  }
}

// Map entry names are identifiers: they appear in metrics names and --set key paths.
bool YamlReader::read_name(const YAML::Node& key, const std::string& path, std::string& name,
                           std::set<std::string>& seen) {
  if (!key.IsScalar()) {
    diag_.add(origin_.where(key), fmt::format("a name under '{}' is {}, not a name", path, describe_node(key)));
    return false;
  }
  name = key.Scalar();
  bool identifier =
      !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
      std::all_of(name.begin(), name.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
      });
  if (!identifier) {
    diag_.add(origin_.where(key),
              fmt::format("'{}' is not a valid name under '{}' (use lower-case letters, digits and _)", name, path));
    return false;
  }
  if (!seen.insert(name).second) {
    diag_.add(origin_.where(key), fmt::format("'{}' is given twice", join_key(path, name)));
    return false;
  }
  diag_.locations[join_key(path, name)] = origin_.where(key);
  return true;
}

}  // namespace balcap::config::detail
