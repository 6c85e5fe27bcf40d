#pragma once
// Constraints attached to one config field, written next to the field in its section's
// visit() so the parser, validator, printer and docs all read the same description:
//   v.field("top_p", top_p, "Nucleus sampling mass.", Spec().above(0).at_most(1));
// Numbers use min/max; strings use choices (an enum) or required/device; lists use
// required/size and apply choices/min/max to each element.
#include <optional>
#include <string>
#include <vector>

namespace balcap::config {

struct Spec {
  std::optional<double> min, max;
  bool min_open = false;                  // min is exclusive (x > min)
  bool max_open = false;                  // max is exclusive (x < max)
  std::vector<std::string> choices;       // allowed strings (an enum); empty = any
  bool is_required = false;               // string/list/map must not be empty
  std::optional<std::size_t> exact_size;  // lists: exact number of elements
  bool is_device = false;                 // string: auto | cpu | cuda | cuda:N

  Spec& at_least(double v) {
    min = v;
    min_open = false;
    return *this;
  }
  Spec& above(double v) {
    min = v;
    min_open = true;
    return *this;
  }
  Spec& at_most(double v) {
    max = v;
    max_open = false;
    return *this;
  }
  Spec& below(double v) {
    max = v;
    max_open = true;
    return *this;
  }
  Spec& range(double lo, double hi) { return at_least(lo).at_most(hi); }
  Spec& one_of(std::vector<std::string> values) {
    choices = std::move(values);
    return *this;
  }
  Spec& required() {
    is_required = true;
    return *this;
  }
  Spec& size(std::size_t n) {
    exact_size = n;
    return *this;
  }
  Spec& device() {
    is_device = true;
    return *this;
  }

  bool has_range() const { return min.has_value() || max.has_value(); }
  // Human text of the numeric bounds: "[0, 1]", "> 0", ">= 1", "(0, 1]".
  std::string range_text() const;
  // Everything this spec demands, for the docs: "one of: a, b; >= 1; required".
  std::string describe() const;
};

}  // namespace balcap::config
