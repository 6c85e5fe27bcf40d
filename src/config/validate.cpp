// Validation: every field's Spec (ranges, enums, required values, list sizes), then the
// relations between fields that no single Spec can express. All problems are collected.
#include "config/validate.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <regex>

#include "diagnostics.h"
#include "field_traits.h"
#include "relations.h"
#include "yaml_format.h"

namespace balcap::config::detail {
namespace {

struct Validator {
  Diagnostics& diag;
  std::string path;

  void problem(const std::string& key, const std::string& what) {
    std::string where = diag.location_of(key);
    diag.add(where, where.empty() ? what + " (the default; set it in the file or with --set)" : what);
  }

  template <class T>
  void field(const char* key, T& member, const char*, const Spec& spec = {}) {
    check(join_key(path, key), member, spec);
  }

  template <class T>
  void check(const std::string& key, T& value, const Spec& spec) {
    if constexpr (Section<T>) {
      Validator nested{diag, key};
      value.visit(nested);
    } else if constexpr (NamedMap<T>) {
      if (spec.is_required && value.empty()) problem(key, fmt::format("'{}' must name at least one entry", key));
      for (auto& [name, entry] : value) check(join_key(key, name), entry, Spec());
    } else if constexpr (List<T>) {
      if (spec.is_required && value.empty()) problem(key, fmt::format("'{}' must not be empty", key));
      if (spec.exact_size && value.size() != *spec.exact_size) {
        problem(key, fmt::format("'{}' = {} must have exactly {} values", key, format_value(value), *spec.exact_size));
      }
      Spec element = spec;
      element.is_required = false;
      for (std::size_t i = 0; i < value.size(); ++i) check(fmt::format("{}[{}]", key, i), value[i], element);
    } else if constexpr (std::is_same_v<T, std::string>) {
      check_string(key, value, spec);
    } else if constexpr (std::is_same_v<T, bool>) {
      // any bool is fine
    } else {
      check_number(key, static_cast<double>(value), format_value(value), spec);
    }
  }

  void check_number(const std::string& key, double value, const std::string& text, const Spec& spec) {
    if (!std::isfinite(value)) return problem(key, fmt::format("'{}' = {} must be a finite number", key, text));
    bool low = spec.min && (spec.min_open ? !(value > *spec.min) : !(value >= *spec.min));
    bool high = spec.max && (spec.max_open ? !(value < *spec.max) : !(value <= *spec.max));
    if (low || high) {
      problem(key, fmt::format("'{}' = {} is out of range: allowed {}", key, text, spec.range_text()));
    }
  }

  void check_string(const std::string& key, const std::string& value, const Spec& spec) {
    if (value.empty()) {
      if (spec.is_required || !spec.choices.empty() || spec.is_device) {
        problem(key,
                fmt::format("'{}' is required but empty{}", key,
                            spec.choices.empty() ? "" : fmt::format(" (one of: {})", fmt::join(spec.choices, ", "))));
      }
      return;
    }
    if (!spec.choices.empty() && std::find(spec.choices.begin(), spec.choices.end(), value) == spec.choices.end()) {
      std::string suggestion = closest_key(value, spec.choices);
      problem(key, fmt::format("'{}' = '{}' is not allowed: one of {}{}", key, value, fmt::join(spec.choices, ", "),
                               suggestion.empty() ? "" : fmt::format(" (did you mean '{}'?)", suggestion)));
    }
    static const std::regex kDevice("auto|cpu|cuda(:[0-9]+)?");
    if (spec.is_device && !std::regex_match(value, kDevice)) {
      problem(key, fmt::format("'{}' = '{}' is not a device: use auto, cpu, cuda or cuda:N", key, value));
    }
  }
};

}  // namespace

void validate_into(const Config& config, Diagnostics& diag) {
  Config copy = config;
  Validator validator{diag, ""};
  copy.visit(validator);
  check_relations(config, diag);
}

void validate_length_mask_into(const LengthMaskConfig& mask, const std::string& path, Diagnostics& diag) {
  LengthMaskConfig copy = mask;
  Validator validator{diag, path};
  copy.visit(validator);
  check_length_mask_bounds(mask, path, diag);
}

}  // namespace balcap::config::detail

namespace balcap::config {

void validate(const Config& config) {
  detail::Diagnostics diag;
  diag.source = "(in memory)";
  detail::validate_into(config, diag);
  diag.throw_if_any();
}

}  // namespace balcap::config
