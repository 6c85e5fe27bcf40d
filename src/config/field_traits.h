#pragma once
// Private to src/config: what kind of value a config field holds, so each visitor can
// handle scalars, lists, nested sections and name-keyed maps of sections generically.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config/spec.h"

namespace balcap::config::detail {

// A visitor that does nothing: used to ask "does T have visit()?".
struct NullVisitor {
  template <class T>
  void field(const char*, T&, const char*, const Spec& = {}) {}
};

template <class T>
concept Section = requires(T& t, NullVisitor& v) {
  t.visit(v);
};

template <class T>
struct IsList : std::false_type {};
template <class E>
struct IsList<std::vector<E>> : std::true_type {};
template <class T>
concept List = IsList<T>::value;

template <class T>
struct IsNamedMap : std::false_type {};
template <class E>
struct IsNamedMap<std::map<std::string, E>> : std::true_type {};
template <class T>
concept NamedMap = IsNamedMap<T>::value;

template <class T>
concept Integer = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <class T>
concept Scalar = std::is_same_v<T, bool> || Integer<T> || std::is_floating_point_v<T> || std::is_same_v<T, std::string>;

// The entry a new map key starts from: E::defaults_for(name) when E has it.
template <Section E>
E entry_defaults(std::string_view name) {
  if constexpr (requires { E::defaults_for(name); }) {
    return E::defaults_for(name);
  } else {
    return E{};
  }
}

// "a.b" + "c" -> "a.b.c"
inline std::string join_key(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// The type as docs and error messages name it.
template <class T>
std::string type_name(const Spec& spec) {
  if constexpr (std::is_same_v<T, bool>) {
    return "bool";
  } else if constexpr (Integer<T>) {
    return "int";
  } else if constexpr (std::is_floating_point_v<T>) {
    return "float";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return spec.choices.empty() ? "string" : "enum";
  } else if constexpr (List<T>) {
    return "list[" + type_name<typename T::value_type>(Spec()) + "]";
  } else if constexpr (NamedMap<T>) {
    return "map";
  } else {
    static_assert(Section<T>, "config field of an unsupported type");
    return "section";
  }
}

// What error messages say was expected: "an int", "a list", "a mapping".
template <class T>
std::string expected_text() {
  if constexpr (std::is_same_v<T, bool>)
    return "a bool (true/false)";
  else if constexpr (Integer<T>)
    return "an int";
  else if constexpr (std::is_floating_point_v<T>)
    return "a float";
  else if constexpr (std::is_same_v<T, std::string>)
    return "a string";
  else if constexpr (List<T>)
    return "a list";
  else
    return "a mapping";
}

}  // namespace balcap::config::detail
