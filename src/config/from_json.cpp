// JSON input read through the YAML config reader (see from_json.h): the JSON value becomes the
// YAML node it denotes, so the section is read and validated exactly as in a config file.
#include "config/from_json.h"

#include <yaml-cpp/yaml.h>

#include "config/validate.h"
#include "yaml_reader.h"

namespace balcap::config {
namespace {

using namespace detail;

// JSON -> YAML node: objects and arrays as mappings and sequences, strings as quoted scalars (a
// JSON string is never read as a number or a bool), numbers and booleans as plain scalars.
YAML::Node yaml_from_json(const nlohmann::json& value) {
  YAML::Node node;
  if (value.is_object()) {
    node = YAML::Node(YAML::NodeType::Map);
    for (const auto& [key, child] : value.items()) node[key] = yaml_from_json(child);
  } else if (value.is_array()) {
    node = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& child : value) node.push_back(yaml_from_json(child));
  } else if (value.is_string()) {
    node = YAML::Node(value.get<std::string>());
    node.SetTag("!");
  } else if (!value.is_null()) {
    node = YAML::Node(value.dump());
  } else {
    node = YAML::Node(YAML::NodeType::Null);
  }
  return node;
}

}  // namespace

LengthMaskConfig length_mask_from_json(const nlohmann::json& object, const std::string& source,
                                       const std::string& path) {
  Diagnostics diag;
  diag.source = source;
  const Origin origin{source, false, ""};
  YamlReader reader(origin, diag);
  LengthMaskConfig out;
  reader.read_section(yaml_from_json(object), path, out);
  validate_length_mask_into(out, path, diag);
  diag.throw_if_any();
  return out;
}

}  // namespace balcap::config
