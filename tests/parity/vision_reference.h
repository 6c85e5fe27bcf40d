#pragma once
// Reading ref_vision.py's outputs (build/reference/vision): manifest.json and raw .bin arrays.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "vision/image.h"
#include "support/test_support.h"

namespace balcap::test {

inline const nlohmann::json& vision_manifest() {
  static const nlohmann::json manifest =
      nlohmann::json::parse(read_file(reference_path("vision", "manifest.json")));
  return manifest;
}

inline std::string reference_bytes(const std::string& file) { return read_file(reference_path("vision", file)); }

// The entries of manifest[section] whose `key` equals `value` (e.g. the processor cases of one
// image: section "processed", key "image").
inline std::vector<nlohmann::json> manifest_entries(const std::string& section, const std::string& key,
                                                    const std::string& value) {
  std::vector<nlohmann::json> found;
  for (const auto& entry : vision_manifest()[section]) {
    if (entry.value(key, std::string()) == value) found.push_back(entry);
  }
  return found;
}

inline std::vector<float> reference_floats(const std::string& file) {
  const std::string bytes = reference_bytes(file);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

// Absolute differences between two equally long arrays.
struct DiffStats {
  double max = 0.0;
  double mean = 0.0;
  int64_t differing = 0;  // elements whose difference is non-zero
};

template <typename A, typename B>
DiffStats diff_stats(const A* a, const B* b, size_t n) {
  DiffStats s;
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = std::fabs(double(a[i]) - double(b[i]));
    s.max = std::max(s.max, d);
    total += d;
    s.differing += d != 0.0;
  }
  s.mean = n > 0 ? total / double(n) : 0.0;
  return s;
}

}  // namespace balcap::test
