#pragma once
// Private to src/config: YAML text of config values, written by hand (not yaml-cpp's
// emitter) so the resolved config is byte-stable: shortest round-trip numbers, strings
// quoted only when plain text would read back as something else, flow lists.
#include <cstdint>
#include <string>
#include <vector>

#include "field_traits.h"

namespace balcap::config::detail {

std::string format_double(double value);          // 1e-06, 0.2, 1.0 (always reads back as a float)
std::string format_string(const std::string& s);  // plain when safe, else "double-quoted"

template <class T>
std::string format_value(const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (Integer<T>) {
    return std::to_string(value);
  } else if constexpr (std::is_floating_point_v<T>) {
    return format_double(value);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return format_string(value);
  } else {
    static_assert(List<T>, "format_value: scalars and lists only");
    std::string text = "[";
    for (std::size_t i = 0; i < value.size(); ++i) text += (i ? ", " : "") + format_value(value[i]);
    return text + "]";
  }
}

}  // namespace balcap::config::detail
