#pragma once
// The largest absolute difference between two tensors, compared in float64 (broadcasting as ATen does).
#include <ATen/ATen.h>

namespace balcap::test {

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace balcap::test
