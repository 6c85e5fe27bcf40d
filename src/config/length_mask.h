#pragma once
// `rewards.length_mask:` — length-conditional masking (docs/architecture.md §6): the listed objectives
// pay nothing for captions whose length ratio to the reference is outside the bounds
// (mask_mode `linear` is the paper's baseline instead: a penalty linear in |ratio - 1|).
#include <cstdint>
#include <string>
#include <vector>

#include "config/spec.h"

namespace balcap::config {

struct LengthMaskConfig {
  bool enabled = true;
  std::vector<std::string> objectives = {"linguistic"};
  double min_ratio = 0.5;
  double max_ratio = 2.0;
  std::string mask_mode = "zero";
  double masked_value = 0.0;
  double linear_coef = 1.0;
  std::int64_t min_tokens = 8;
  std::int64_t max_tokens = 256;

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, "Apply the mask at all.");
    v.field("objectives", objectives, "Objectives (names in rewards.objectives) the mask gates.");
    v.field("min_ratio", min_ratio,
            "Masked when caption_tokens / reference_tokens (mean over references) is below this.", Spec().at_least(0));
    v.field("max_ratio", max_ratio, "Masked when the length ratio is above this.", Spec().above(0));
    v.field("mask_mode", mask_mode,
            "`zero`: the raw score becomes masked_value and stays in the group statistics; "
            "`exclude`: the sample is left out of that objective's group statistics (advantage 0 from it); "
            "`linear`: no bounds, every caption's score loses linear_coef * |ratio - 1| (the linear length "
            "penalty the mask is compared with; records without a reference lose nothing).",
            Spec().one_of({"zero", "exclude", "linear"}));
    v.field("masked_value", masked_value, "mask_mode zero: the score a masked caption gets.", Spec().range(0, 1));
    v.field("linear_coef", linear_coef, "mask_mode linear: the penalty per unit of |ratio - 1|.",
            Spec().at_least(0));
    v.field("min_tokens", min_tokens, "Records without a reference: masked below this many caption tokens.",
            Spec().at_least(0));
    v.field("max_tokens", max_tokens, "Records without a reference: masked above this many caption tokens.",
            Spec().at_least(1));
  }
  bool operator==(const LengthMaskConfig&) const = default;
};

}  // namespace balcap::config
