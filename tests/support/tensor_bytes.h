#pragma once
// The raw bytes of a tensor as lowercase hex: how the io tests compare tensors bit for bit
// with the digests the python references print (NaN payloads, -0 and inf included).
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace balcap::test {

inline std::string hex_of(const at::Tensor& t) {
  static const char* digits = "0123456789abcdef";
  const at::Tensor c = t.contiguous();
  const auto* bytes = static_cast<const uint8_t*>(c.data_ptr());
  std::string out;
  for (size_t i = 0; i < size_t(c.numel()) * c.element_size(); ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

}  // namespace balcap::test
