// Model FLOPs utilisation (src/train/mfu.h).
#include "train/mfu.h"

#include <array>

#ifdef BALCAP_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace balcap::train {
namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

bool is_vision(const std::string& name) {
  return contains(name, "visual.") || contains(name, "vision_tower.") || contains(name, "multi_modal_projector.");
}

// Dense peak TFLOP/s from the vendors' datasheets (SXM parts unless the name says PCIe).
struct GpuPeak {
  const char* name_part;
  double half_tflops;  // bf16 / f16 tensor cores, dense
  double fp32_tflops;  // float32 without TF32
};
constexpr std::array<GpuPeak, 6> kGpus{{
    {"H100 PCIe", 756.0, 51.2},
    {"H100", 989.4, 66.9},
    {"H200", 989.4, 66.9},
    {"A100", 312.0, 19.5},
    {"L40S", 362.1, 91.6},
    {"B200", 2250.0, 80.0},
}};

// Patches one vision-tower run sees for `prompt` (0 for text-only).
double patches(const models::PolicyPrompt& prompt) {
  const at::Tensor& px = prompt.pixel_values;
  if (!px.defined()) return 0;
  if (px.dim() == 2) return static_cast<double>(px.size(0));  // Qwen2.5-VL: one row per patch
  return static_cast<double>(px.numel()) / (3.0 * 14 * 14);   // CLIP: 3 x 14 x 14 pixels per patch
}

}  // namespace

StepWork rank_step_work(const Rollout& rollout, std::int64_t ppo_epochs, bool vision_once_per_image, bool reference) {
  StepWork w;
  w.reference = reference;
  const auto epochs = static_cast<double>(ppo_epochs);
  for (const PromptedRecord& item : rollout.items) {
    w.prompt_tokens += static_cast<double>(item.prompt.ids.size());
    w.rollout_patches += patches(item.prompt);
    if (vision_once_per_image) w.loss_patches += epochs * patches(item.prompt);
  }
  for (const sampling::Sample& s : rollout.samples) {
    const models::PolicyPrompt& prompt = rollout.items.at(static_cast<std::size_t>(s.request)).prompt;
    const auto caption = static_cast<double>(s.ids.size());
    w.generated_tokens += caption;
    w.loss_row_tokens += epochs * (static_cast<double>(prompt.ids.size()) + caption);
    w.loss_caption_tokens += epochs * caption;
    if (!vision_once_per_image) w.loss_patches += epochs * patches(prompt);
  }
  return w;
}

ParamCounts count_params(const torch::nn::Module& policy, double output_numel) {
  ParamCounts c;
  c.output = output_numel;
  for (const auto& item : policy.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    const auto n = static_cast<double>(item.value().numel());
    if (is_vision(name)) {
      c.vision += n;
      c.vision_trained = c.vision_trained || item.value().requires_grad();
    } else if (!contains(name, "embed_tokens") && !contains(name, "lm_head")) {
      c.decoder += n;  // LoRA adapters count here too: they run on every token
    }
  }
  return c;
}

double step_model_flops(const ParamCounts& p, const StepWork& w) {
  const double rollout = 2 * p.decoder * (w.prompt_tokens + w.generated_tokens) + 2 * p.output * w.generated_tokens +
                         2 * p.vision * w.rollout_patches;
  const double loss = 6 * p.decoder * w.loss_row_tokens + 6 * p.output * w.loss_caption_tokens +
                      (p.vision_trained ? 6 : 2) * p.vision * w.loss_patches;
  const double reference = w.reference ? 2 * (p.decoder * w.loss_row_tokens + p.output * w.loss_caption_tokens +
                                               p.vision * w.loss_patches)
                                        : 0.0;
  return rollout + loss + reference;
}

std::optional<double> peak_flops_of_gpu(const std::string& name, c10::ScalarType dtype) {
  for (const GpuPeak& g : kGpus) {
    if (contains(name, g.name_part)) {
      const bool half = dtype == c10::ScalarType::BFloat16 || dtype == c10::ScalarType::Half;
      return (half ? g.half_tflops : g.fp32_tflops) * 1e12;
    }
  }
  return std::nullopt;
}

std::optional<double> peak_flops(const c10::Device& device, c10::ScalarType dtype, double override_tflops) {
  if (!device.is_cuda()) return std::nullopt;
  if (override_tflops > 0) return override_tflops * 1e12;
#ifdef BALCAP_WITH_CUDA
  return peak_flops_of_gpu(at::cuda::getDeviceProperties(device.index() < 0 ? 0 : device.index())->name, dtype);
#else
  (void)dtype;
  return std::nullopt;
#endif
}

}  // namespace balcap::train
