// Harness `safetensors`: the bytes are a .safetensors file. SafetensorsFile maps it and validates the
// 8-byte length, the JSON header and the tensor table (io/safetensors_header.h); then every tensor
// the table declares is read from the same bytes (a zero-copy view of the mapping, or a copy when
// misaligned) and every byte of it summed, so a range the validation let through that lies outside
// the file faults here.
#include <ATen/ATen.h>

#include "fuzz_support.h"
#include "io/safetensors_reader.h"

namespace balcap::fuzz {
namespace {

uint64_t byte_sum(const at::Tensor& tensor) {
  const at::Tensor dense = tensor.contiguous();
  const auto* bytes = static_cast<const uint8_t*>(dense.data_ptr());
  uint64_t sum = 0;
  for (size_t i = 0; i < dense.nbytes(); ++i) sum += bytes[i];
  return sum;
}

}  // namespace

int safetensors(Bytes input) {
  quiet_logs();
  const auto file = write_scratch("model.safetensors", as_text(input));
  accepted([&] {
    const io::SafetensorsFile reader(file);
    volatile uint64_t sum = 0;
    for (const auto& name : reader.names()) sum = sum + byte_sum(reader.tensor(name));
  });
  return 0;
}

}  // namespace balcap::fuzz
