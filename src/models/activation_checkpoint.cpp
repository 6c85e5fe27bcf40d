// Activation checkpointing as a custom autograd function; see
// src/models/activation_checkpoint.h.
#include "models/activation_checkpoint.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

namespace balcap::models {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// What backward needs besides x: the block, the tensors to differentiate, and the RNG states
// the forward started from (so dropout draws the same masks when replayed).
struct CheckpointedBlock : torch::CustomClassHolder {
  std::function<at::Tensor(const at::Tensor&)> fn;
  std::vector<at::Tensor> params;
  at::Tensor cpu_rng_state;
  at::Tensor device_rng_state;  // undefined on CPU
  at::Device device = at::kCPU;
};

// Handles (copies share the generator itself).
at::Generator device_generator(const at::Device& device) { return at::globalContext().defaultGenerator(device); }
at::Generator cpu_generator() { return at::detail::getDefaultCPUGenerator(); }

void capture_rng(CheckpointedBlock& block, const at::Tensor& x) {
  block.device = x.device();
  block.cpu_rng_state = cpu_generator().get_state();
  if (!x.device().is_cpu()) block.device_rng_state = device_generator(x.device()).get_state();
}

// Sets the saved RNG states for the replay and puts the current ones back when destroyed.
class RngReplay {
 public:
  explicit RngReplay(const CheckpointedBlock& block) : block_(block) {
    cpu_now_ = cpu_generator().get_state();
    cpu_generator().set_state(block.cpu_rng_state);
    if (block.device_rng_state.defined()) {
      device_now_ = device_generator(block.device).get_state();
      device_generator(block.device).set_state(block.device_rng_state);
    }
  }
  ~RngReplay() {
    cpu_generator().set_state(cpu_now_);
    if (device_now_.defined()) device_generator(block_.device).set_state(device_now_);
  }

 private:
  const CheckpointedBlock& block_;
  at::Tensor cpu_now_, device_now_;
};

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  // Runs in no-grad mode (custom functions' forward always does): nothing of fn is saved.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, at::TensorList params,
                            const c10::intrusive_ptr<CheckpointedBlock>& block) {
    capture_rng(*block, x);
    at::Tensor y = block->fn(x);
    ctx->save_for_backward({x});
    ctx->saved_data["block"] = c10::IValue::make_capsule(block);
    return y;
  }

  // Replays fn with grad on a detached x and differentiates it w.r.t. x and the parameters.
  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    auto block = c10::static_intrusive_pointer_cast<CheckpointedBlock>(ctx->saved_data["block"].toCapsule());
    const at::Tensor x = ctx->get_saved_variables()[0];
    const std::size_t n_params = block->params.size();
    variable_list out(2 + n_params);
    variable_list inputs;
    std::vector<std::size_t> slots;  // out index of each entry of `inputs`
    at::Tensor xd = x.detach().requires_grad_(ctx->needs_input_grad(0));
    if (ctx->needs_input_grad(0)) inputs.push_back(xd), slots.push_back(0);
    for (std::size_t i = 0; i < n_params; ++i) {
      if (ctx->needs_input_grad(1 + i)) inputs.push_back(block->params[i]), slots.push_back(1 + i);
    }
    if (inputs.empty()) return out;
    at::Tensor y;
    {
      RngReplay replay(*block);
      at::AutoGradMode grad_on(true);
      y = block->fn(xd);
    }
    variable_list grads = torch::autograd::grad({y}, inputs, {grad_out[0]}, /*retain_graph=*/false,
                                                /*create_graph=*/false, /*allow_unused=*/true);
    for (std::size_t i = 0; i < inputs.size(); ++i) out[slots[i]] = grads[i];
    return out;
  }
};

}  // namespace

at::Tensor checkpointed(const std::function<at::Tensor(const at::Tensor&)>& fn, const at::Tensor& x,
                        const std::vector<at::Tensor>& params) {
  if (!at::GradMode::is_enabled()) return fn(x);
  auto block = c10::make_intrusive<CheckpointedBlock>();
  block->fn = fn;
  for (const at::Tensor& p : params) {
    if (p.requires_grad()) block->params.push_back(p);
  }
  return CheckpointFunction::apply(x, at::TensorList(block->params), block);
}

}  // namespace balcap::models
