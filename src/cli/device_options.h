#pragma once
// --dtype / --device of the commands that load a model (logits, caption, serve): one spelling of
// the accepted values and of the usage errors.
#include <ATen/ATen.h>

#include <string>

#include "core/error.h"

namespace balcap::cli {

// f32|float32, bf16|bfloat16, f16|float16; anything else -> UsageError (exit 2).
inline at::ScalarType parse_dtype(const std::string& name) {
  if (name == "f32" || name == "float32") return at::kFloat;
  if (name == "bf16" || name == "bfloat16") return at::kBFloat16;
  if (name == "f16" || name == "float16") return at::kHalf;
  usage_fail("--dtype '{}' is not supported. HINT: use f32, bf16 or f16 (or float32, bfloat16, float16).", name);
}

// cpu, cuda, cuda:N; anything else -> UsageError (exit 2).
inline at::Device parse_device(const std::string& name) {
  try {
    return at::Device(name);
  } catch (const std::exception&) {
    usage_fail("--device '{}' is not a device. HINT: use cpu or cuda (cuda:0, ...).", name);
  }
}

}  // namespace balcap::cli
