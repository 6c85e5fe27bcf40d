#include "config/spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace balcap::config {

std::string Spec::range_text() const {
  // Bounds print in shortest form: 0, 1, 0.28, 1e-06.
  if (min && max) {
    return fmt::format("{}{}, {}{}", min_open ? "(" : "[", *min, *max, max_open ? ")" : "]");
  }
  if (min) return fmt::format("{} {}", min_open ? ">" : ">=", *min);
  if (max) return fmt::format("{} {}", max_open ? "<" : "<=", *max);
  return "";
}

std::string Spec::describe() const {
  std::vector<std::string> parts;
  if (!choices.empty()) parts.push_back("one of: " + fmt::format("{}", fmt::join(choices, ", ")));
  if (has_range()) parts.push_back(range_text());
  if (exact_size) parts.push_back(fmt::format("exactly {} values", *exact_size));
  if (is_device) parts.push_back("auto, cpu, cuda or cuda:N");
  if (is_required) parts.push_back("required");
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace balcap::config
