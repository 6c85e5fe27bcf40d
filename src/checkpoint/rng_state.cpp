#include "checkpoint/rng_state.h"

#include <ATen/detail/CUDAHooksInterface.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "core/error.h"

namespace balcap::checkpoint {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (rest == 2) v |= uint8_t(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(const std::string& text, const std::string& what) {
  std::array<int, 256> value;
  value.fill(-1);
  for (int k = 0; k < 64; ++k) value[uint8_t(kAlphabet[k])] = k;
  BALCAP_CHECK(text.size() % 4 == 0, "{}: base64 text of length {} (not a multiple of 4). HINT: the state is damaged",
               what, text.size());
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      const bool last_group = i + 4 == text.size();
      if (c == '=' && last_group && k >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      BALCAP_CHECK(pad == 0 && value[uint8_t(c)] >= 0,
                   "{}: invalid base64 character at offset {}. HINT: the state is damaged", what, i + k);
      v = (v << 6) | uint32_t(value[uint8_t(c)]);
    }
    out += char((v >> 16) & 255);
    if (pad < 2) out += char((v >> 8) & 255);
    if (pad < 1) out += char(v & 255);
  }
  return out;
}

std::string generator_state_base64(const at::Generator& generator) {
  const auto state = generator.get_state().contiguous();  // uint8 [N]
  return base64_encode(std::string(reinterpret_cast<const char*>(state.data_ptr<uint8_t>()), state.numel()));
}

void restore_generator_state(at::Generator& generator, const std::string& base64, const std::string& what) {
  const auto bytes = base64_decode(base64, what);
  const auto expected = generator.get_state().numel();
  BALCAP_CHECK(static_cast<int64_t>(bytes.size()) == expected,
               "{}: RNG state of {} bytes, this generator ({}) needs {}. HINT: resume on the same device type", what,
               bytes.size(), generator.device().str(), expected);
  auto state = at::empty({expected}, at::kByte);
  std::memcpy(state.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  try {
    generator.set_state(state);
  } catch (const c10::Error& e) {  // the right size, not a state the generator accepts
    fail("{}: the saved RNG state is not a valid {} generator state ({}). HINT: the checkpoint's "
         "trainer_state.json is damaged; resume from another checkpoint",
         what, generator.device().str(), e.what_without_backtrace());
  }
}

std::map<std::string, std::string> default_generator_states() {
  std::map<std::string, std::string> out;
  out["torch_cpu"] = generator_state_base64(at::detail::getDefaultCPUGenerator());
  if (at::globalContext().hasCUDA()) {
    for (int i = 0; i < at::detail::getCUDAHooks().getNumGPUs(); ++i) {
      out[fmt::format("torch_cuda:{}", i)] =
          generator_state_base64(at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<int8_t>(i))));
    }
  }
  return out;
}

void restore_default_generator_states(const std::map<std::string, std::string>& states) {
  for (const auto& [name, state] : states) {
    if (name == "torch_cpu") {
      auto gen = at::detail::getDefaultCPUGenerator();
      restore_generator_state(gen, state, name);
    } else if (name.rfind("torch_cuda:", 0) == 0) {
      const std::string digits = name.substr(11);
      BALCAP_CHECK(!digits.empty() && digits.size() < 4 && std::all_of(digits.begin(), digits.end(), ::isdigit),
                   "RNG state '{}': not torch_cuda:<index>. HINT: the checkpoint's trainer_state.json is damaged", name);
      const int index = std::stoi(digits);
      BALCAP_CHECK(at::globalContext().hasCUDA() && index < at::detail::getCUDAHooks().getNumGPUs(),
                   "RNG state '{}': this process has no such CUDA device. HINT: resume on the same device setup", name);
      auto gen = at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<int8_t>(index)));
      restore_generator_state(gen, state, name);
    }
  }
}

}  // namespace balcap::checkpoint
