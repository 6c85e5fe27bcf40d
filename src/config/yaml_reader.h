#pragma once
// Private to src/config: reads YAML nodes into config structs through their visit(),
// collecting every unknown key, duplicate key and wrong type into Diagnostics instead of
// stopping at the first. Used for files (whole tree) and --set overrides (one key path).
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

#include "diagnostics.h"
#include "field_traits.h"

namespace balcap::config::detail {

// Where the nodes being read came from.
struct Origin {
  std::string name;          // the file, or "--set a.b=c"
  bool is_override = false;  // --set text: no useful line numbers
  std::string raw_value;     // --set: the text after '=' (string fields take it verbatim)

  std::string where(const YAML::Node& node) const {
    if (is_override || !node.IsDefined() || node.Mark().is_null()) return name;
    return fmt::format("{}:{}", name, node.Mark().line + 1);
  }
};

// "'abc'", "a list", "a mapping", "null": what a message says was found.
std::string describe_node(const YAML::Node& node);

// Field names of a section, in schema order.
struct KeyLister {
  std::vector<std::string> keys;
  template <class T>
  void field(const char* key, T&, const char*, const Spec& = {}) {
    keys.emplace_back(key);
  }
};

template <Section T>
std::vector<std::string> section_keys(T& section) {
  KeyLister lister;
  section.visit(lister);
  return lister.keys;
}

class YamlReader {
 public:
  YamlReader(const Origin& origin, Diagnostics& diag) : origin_(origin), diag_(diag) {}

  // Any field type: scalar, list, section or name-keyed map of sections.
  template <class T>
  void read(const YAML::Node& node, const std::string& path, T& out) {
    if constexpr (Section<T>) {
      read_section(node, path, out);
    } else if constexpr (NamedMap<T>) {
      read_map(node, path, out);
    } else if constexpr (List<T>) {
      read_list(node, path, out);
    } else {
      read_scalar(node, path, out);
    }
  }

  // Fields named in `node` replace the section's current values; others keep theirs.
  template <Section T>
  void read_section(const YAML::Node& node, const std::string& path, T& out);

  const Origin& origin() const { return origin_; }
  Diagnostics& diag() { return diag_; }

  void wrong_type(const YAML::Node& node, const std::string& path, const std::string& expected) {
    diag_.add(origin_.where(node), fmt::format("'{}' expects {}, found {}", path, expected, describe_node(node)));
  }

 private:
  // Keys of `node` that the section lacks or repeats; records where each known key is.
  void check_keys(const YAML::Node& node, const std::string& path, const std::vector<std::string>& keys);
  bool read_name(const YAML::Node& key, const std::string& path, std::string& name, std::set<std::string>& seen);

  template <class T>
  void read_scalar(const YAML::Node& node, const std::string& path, T& out);

  template <class T>
  void read_list(const YAML::Node& node, const std::string& path, std::vector<T>& out) {
    if (node.IsNull()) {
      out.clear();  // `key:` with nothing = an empty list
      return;
    }
    if (!node.IsSequence()) return wrong_type(node, path, expected_text<std::vector<T>>());
    std::vector<T> values(node.size());
    for (std::size_t i = 0; i < node.size(); ++i) read(node[i], fmt::format("{}[{}]", path, i), values[i]);
    out = std::move(values);
  }

  template <class E>
  void read_map(const YAML::Node& node, const std::string& path, std::map<std::string, E>& out) {
    if (node.IsNull()) {
      out.clear();
      return;
    }
    if (!node.IsMap()) return wrong_type(node, path, "a mapping of name -> entry");
    std::map<std::string, E> entries;
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string name;
      if (!read_name(it->first, path, name, seen)) continue;
      E entry = entry_defaults<E>(name);
      read_section(it->second, join_key(path, name), entry);
      entries[name] = std::move(entry);
    }
    out = std::move(entries);
  }

  const Origin& origin_;
  Diagnostics& diag_;
};

// Visits a section's fields and reads those present in `node`.
struct FieldReader {
  YamlReader& reader;
  const YAML::Node& node;
  const std::string& path;

  template <class T>
  void field(const char* key, T& member, const char*, const Spec& = {}) {
    const YAML::Node child = node[key];
    if (child.IsDefined()) reader.read(child, join_key(path, key), member);
  }
};

template <Section T>
void YamlReader::read_section(const YAML::Node& node, const std::string& path, T& out) {
  if (node.IsNull()) return;  // `train:` with nothing under it keeps every default
  if (!node.IsMap()) return wrong_type(node, path.empty() ? "(top level)" : path, "a mapping");
  check_keys(node, path, section_keys(out));
  FieldReader fields{*this, node, path};
  out.visit(fields);
}

template <class T>
void YamlReader::read_scalar(const YAML::Node& node, const std::string& path, T& out) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (node.IsNull()) {
      out.clear();  // `key:` / `key: null` = empty (unset)
    } else if (node.IsScalar()) {
      out = node.Scalar();
    } else if (origin_.is_override && !origin_.raw_value.empty()) {
      out = origin_.raw_value;  // --set data.prompt=Describe: colours, shapes. (not YAML)
    } else {
      wrong_type(node, path, expected_text<T>());
    }
  } else {
    // A quoted "8" is a string to YAML; numbers and bools must be written bare.
    T value{};
    if (!node.IsScalar() || node.Tag() == "!" || !YAML::convert<T>::decode(node, value)) {
      return wrong_type(node, path, expected_text<T>());
    }
    out = value;
  }
}

// Applies one --set override: walks `segments` through the sections (and map entries,
// created from their defaults when new) and reads `value` into the field it names.
class OverrideApplier {
 public:
  OverrideApplier(YamlReader& reader, const std::vector<std::string>& segments, const YAML::Node& value)
      : reader_(reader), segments_(segments), value_(value) {}

  template <Section T>
  void apply(T& section, std::size_t index, const std::string& path);

  // Sets (index is last) or walks into `member`, the field named segments[index].
  template <class T>
  void descend(T& member, std::size_t index, const std::string& path);

 private:
  YamlReader& reader_;
  const std::vector<std::string>& segments_;
  const YAML::Node& value_;
};

// Finds the field named `wanted` in a section and descends into it.
struct FieldMatcher {
  OverrideApplier& applier;
  const std::string& wanted;
  std::size_t index;
  const std::string& path;
  bool found = false;

  template <class M>
  void field(const char* key, M& member, const char*, const Spec& = {}) {
    if (found || wanted != key) return;
    found = true;
    applier.descend(member, index, join_key(path, key));
  }
};

template <class T>
void OverrideApplier::descend(T& member, std::size_t index, const std::string& path) {
  if (index + 1 == segments_.size()) {
    reader_.read(value_, path, member);
    reader_.diag().locations[path] = reader_.origin().name;
  } else if constexpr (Section<T>) {
    apply(member, index + 1, path);
  } else if constexpr (NamedMap<T>) {
    const std::string& name = segments_[index + 1];
    std::string entry_path = join_key(path, name);
    auto it = member.find(name);
    if (it == member.end()) {
      // A new entry: problems in it point at this --set, with the likely intended name.
      std::vector<std::string> names;
      for (const auto& entry : member) names.push_back(entry.first);
      std::string suggestion = closest_key(name, names);
      reader_.diag().locations[entry_path] =
          reader_.origin().name +
          (suggestion.empty() ? std::string(" (adds a new entry)")
                              : fmt::format(" (adds a new entry; did you mean '{}'?)", join_key(path, suggestion)));
      it = member.emplace(name, entry_defaults<typename T::mapped_type>(name)).first;
    }
    if (index + 2 == segments_.size()) {
      reader_.read_section(value_, entry_path, it->second);
      reader_.diag().locations[entry_path] = reader_.origin().name;
    } else {
      apply(it->second, index + 2, entry_path);
    }
  } else {
    reader_.diag().add(reader_.origin().name,
                       fmt::format("'{}' is {}; it has no key '{}'", path, type_name<T>(Spec()), segments_[index + 1]));
  }
}

template <Section T>
void OverrideApplier::apply(T& section, std::size_t index, const std::string& path) {
  const std::string& wanted = segments_[index];
  FieldMatcher matcher{*this, wanted, index, path};
  section.visit(matcher);
  if (matcher.found) return;
  std::string suggestion = closest_key(wanted, section_keys(section));
  reader_.diag().add(reader_.origin().name, unknown_key_message(join_key(path, wanted),
                                                                suggestion.empty() ? "" : join_key(path, suggestion)));
}

}  // namespace balcap::config::detail
