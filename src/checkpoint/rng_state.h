#pragma once
// RNG states as strings for TrainerState::rng: torch generators (CPU, CUDA) as base64 of
// Generator::get_state(), restored with set_state. Base64 keeps trainer_state.json plain text.
//
//   state.rng["torch_cpu"] = generator_state_base64(at::detail::getDefaultCPUGenerator());
//   restore_generator_state(at::detail::getDefaultCPUGenerator(), state.rng.at("torch_cpu"), "torch_cpu");
//   state.rng.merge(default_generator_states());     // or all default generators at once
//   restore_default_generator_states(state.rng);
#include <ATen/ATen.h>

#include <map>
#include <string>

namespace balcap::checkpoint {

std::string base64_encode(const std::string& bytes);
// Invalid characters or length -> balcap::Error naming `what`.
std::string base64_decode(const std::string& text, const std::string& what);

// The generator's full state (CPU: mt19937 + normal cache; CUDA: seed + offset).
std::string generator_state_base64(const at::Generator& generator);
// A state of another generator kind or size -> balcap::Error naming `what` with a HINT.
void restore_generator_state(at::Generator& generator, const std::string& base64, const std::string& what);

// torch's default generators (dropout, at::rand* without a generator): "torch_cpu" and, when CUDA is
// available, "torch_cuda:<i>" for every device -> base64 states (merge into TrainerState::rng).
std::map<std::string, std::string> default_generator_states();
// Restores the entries of `states` named as above (others are ignored: they belong to the caller).
// A "torch_cuda:<i>" entry for a device this process does not have -> balcap::Error.
void restore_default_generator_states(const std::map<std::string, std::string>& states);

}  // namespace balcap::checkpoint
