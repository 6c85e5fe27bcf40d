#pragma once
// RNG states as strings for TrainerState::rng: torch generators (CPU, CUDA) as base64 of
// Generator::get_state(), restored with set_state. Base64 keeps trainer_state.json plain text.
//
//   state.rng["torch_cpu"] = generator_state_base64(at::detail::getDefaultCPUGenerator());
//   restore_generator_state(at::detail::getDefaultCPUGenerator(), state.rng.at("torch_cpu"), "torch_cpu");
#include <ATen/ATen.h>

#include <string>

namespace balcap::checkpoint {

std::string base64_encode(const std::string& bytes);
// Invalid characters or length -> balcap::Error naming `what`.
std::string base64_decode(const std::string& text, const std::string& what);

// The generator's full state (CPU: mt19937 + normal cache; CUDA: seed + offset).
std::string generator_state_base64(const at::Generator& generator);
// A state of another generator kind or size -> balcap::Error naming `what` with a HINT.
void restore_generator_state(at::Generator& generator, const std::string& base64, const std::string& what);

}  // namespace balcap::checkpoint
