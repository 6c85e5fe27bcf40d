#include "train/adamw.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "io/safetensors_checkpoint.h"
#include "io/safetensors_writer.h"

namespace balcap::train {

AdamWOptions adamw_options_from(const config::OptimConfig& o) {
  AdamWOptions a;
  a.beta1 = o.betas.at(0);
  a.beta2 = o.betas.at(1);
  a.eps = o.eps;
  a.weight_decay = o.weight_decay;
  a.fp32_master = o.fp32_master;
  return a;
}

AdamW::AdamW(NamedParams params, AdamWOptions options, std::vector<double> lr_scales, std::vector<bool> owned)
    : params_(std::move(params)), options_(options), lr_scales_(std::move(lr_scales)), owned_(std::move(owned)) {
  if (lr_scales_.empty()) lr_scales_.assign(params_.size(), 1.0);
  if (owned_.empty()) owned_.assign(params_.size(), true);
  TORCH_INTERNAL_ASSERT(owned_.size() == params_.size(), "AdamW: ", owned_.size(), " owned flags for ",
                        params_.size(), " parameters");
  TORCH_INTERNAL_ASSERT(lr_scales_.size() == params_.size(), "AdamW: ", lr_scales_.size(), " lr scales for ",
                        params_.size(), " parameters");
  std::set<std::string> seen;
  slots_.reserve(params_.size());
  for (const auto& [name, p] : params_) {
    TORCH_INTERNAL_ASSERT(p.defined() && p.is_floating_point(), "AdamW: parameter ", name, " is not a float tensor");
    TORCH_INTERNAL_ASSERT(seen.insert(name).second, "AdamW: duplicate parameter name ", name);
    Slot s;
    if (!owned_[slots_.size()]) {  // another rank's: no state here
      slots_.push_back(std::move(s));
      continue;
    }
    const bool separate = options_.fp32_master && p.scalar_type() != at::kFloat;
    s.separate = separate;
    s.master = separate ? p.detach().to(at::kFloat).clone() : p.detach();
    const auto fp32 = p.options().dtype(at::kFloat);
    s.exp_avg = at::zeros(p.sizes(), fp32);
    s.exp_avg_sq = at::zeros(p.sizes(), fp32);
    slots_.push_back(std::move(s));
  }
}

GradNorm AdamW::clip_grad_norm(double max_norm, dist::Communicator* sharded) {
  std::vector<at::Tensor> norms;
  for (const auto& [name, p] : params_) {
    if (p.grad().defined()) norms.push_back(at::linalg_vector_norm(p.grad().to(at::kFloat), 2));
  }
  GradNorm out;
  at::Tensor total;  // float32 scalar
  if (sharded != nullptr && sharded->world_size() > 1) {
    std::vector<double> squares{norms.empty() ? 0.0 : at::stack(norms).square().sum().item<double>()};
    sharded->all_reduce_sum(squares);  // every rank, with or without grads of its own: all report one norm
    total = at::scalar_tensor(std::sqrt(squares[0]), at::kFloat);
  } else {
    if (norms.empty()) return out;
    total = at::linalg_vector_norm(at::stack(norms), 2);
  }
  out.norm = total.item<double>();  // the one host sync of the step
  out.finite = std::isfinite(out.norm);
  if (!out.finite || max_norm <= 0) return out;
  const auto coef = at::clamp_max(max_norm / (total + 1e-6), 1.0);  // as clip_grad_norm_, always applied
  out.clipped = out.norm > max_norm;
  // float32 grads are scaled in place (as torch); low-precision grads of fp32-master params are
  // scaled after their conversion to float32 in step() (no extra bf16 rounding).
  grad_scale_ = coef;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i].second;
    if (p.grad().defined() && !slots_[i].separate) p.mutable_grad().mul_(coef.to(p.grad().device()));
  }
  return out;
}

void AdamW::step(double lr) {
  at::NoGradGuard no_grad;
  const auto& o = options_;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i].second;
    if (!p.grad().defined() || !owned_[i]) continue;
    Slot& s = slots_[i];
    const double lr_i = lr * lr_scales_[i];
    auto grad = p.grad().to(at::kFloat);
    if (s.separate && grad_scale_.defined()) grad = grad * grad_scale_.to(grad.device());
    s.step += 1;
    // torch.optim.AdamW, single-tensor path, operation by operation (same rounding in float32).
    s.master.mul_(1 - lr_i * o.weight_decay);
    s.exp_avg.lerp_(grad, 1 - o.beta1);
    s.exp_avg_sq.mul_(o.beta2).addcmul_(grad, grad, 1 - o.beta2);
    const double bias_correction1 = 1 - std::pow(o.beta1, static_cast<double>(s.step));
    const double bias_correction2 = 1 - std::pow(o.beta2, static_cast<double>(s.step));
    const double step_size = lr_i / bias_correction1;
    // One temporary the size of the parameter (the tied 151,936-row embedding is the largest), not two:
    // the same values as torch's (sqrt(v) / sqrt(bc2)).add_(eps).
    const auto denom = s.exp_avg_sq.sqrt().div_(std::sqrt(bias_correction2)).add_(o.eps);
    s.master.addcdiv_(s.exp_avg, denom, -step_size);
    if (s.separate) p.copy_(s.master);  // round the fp32 master into the bf16/f16 param
  }
  grad_scale_ = at::Tensor();
}

std::vector<at::Tensor> AdamW::tensors() const {
  std::vector<at::Tensor> out;
  for (const auto& [name, p] : params_) out.push_back(p);
  return out;
}

void AdamW::zero_grad() {
  grad_scale_ = at::Tensor();
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  }
}

std::vector<std::pair<std::string, at::Tensor>> AdamW::state_dict() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!owned_[i]) continue;
    const auto& name = params_[i].first;
    const Slot& s = slots_[i];
    out.emplace_back(name + ".exp_avg", s.exp_avg.cpu().contiguous());
    out.emplace_back(name + ".exp_avg_sq", s.exp_avg_sq.cpu().contiguous());
    out.emplace_back(name + ".step", at::full({1}, s.step, at::kLong));
    if (s.separate) out.emplace_back(name + ".master", s.master.cpu().contiguous());
  }
  return out;
}

void AdamW::load_state_dict(const std::vector<std::pair<std::string, at::Tensor>>& state, const std::string& source) {
  std::map<std::string, at::Tensor> given(state.begin(), state.end());
  std::vector<std::string> problems;
  const auto take = [&](const std::string& key, at::IntArrayRef shape, at::ScalarType dtype) -> at::Tensor {
    auto it = given.find(key);
    if (it == given.end()) {
      problems.push_back(fmt::format("missing '{}'", key));
      return {};
    }
    auto t = it->second;
    given.erase(it);
    if (t.sizes() != shape || t.scalar_type() != dtype) {
      problems.push_back(fmt::format("'{}' is {} {}, expected {} {}", key, c10::toString(t.scalar_type()),
                                     c10::str(t.sizes()), c10::toString(dtype), c10::str(shape)));
      return {};
    }
    return t;
  };
  std::vector<Slot> loaded(slots_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& [name, p] = params_[i];
    if (!owned_[i]) {  // another rank's state (a sharded optimizer): not this rank's to load
      for (const char* part : {".exp_avg", ".exp_avg_sq", ".step", ".master"}) given.erase(name + part);
      continue;
    }
    loaded[i].exp_avg = take(name + ".exp_avg", p.sizes(), at::kFloat);
    loaded[i].exp_avg_sq = take(name + ".exp_avg_sq", p.sizes(), at::kFloat);
    const auto step = take(name + ".step", {1}, at::kLong);
    loaded[i].step = step.defined() ? step.item<int64_t>() : 0;
    if (slots_[i].separate) loaded[i].master = take(name + ".master", p.sizes(), at::kFloat);
  }
  for (const auto& [key, t] : given) problems.push_back(fmt::format("unexpected '{}'", key));
  if (!problems.empty()) {
    fail(
        "{}: optimizer state does not fit the trainable parameters: {}. HINT: resume with the same model, LoRA and "
        "freezing settings the checkpoint was made with",
        source, fmt::join(problems, "; "));
  }
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!owned_[i]) continue;
    Slot& s = slots_[i];
    auto& p = params_[i].second;
    s.exp_avg.copy_(loaded[i].exp_avg);
    s.exp_avg_sq.copy_(loaded[i].exp_avg_sq);
    s.step = loaded[i].step;
    if (loaded[i].master.defined()) {
      s.master.copy_(loaded[i].master);
      p.copy_(s.master);
    }
  }
}

void save_optimizer_state(const AdamW& optimizer, const std::filesystem::path& file) {
  std::filesystem::create_directories(file.parent_path());
  io::save_safetensors(file, optimizer.state_dict());
}

void load_optimizer_state(AdamW& optimizer, const std::filesystem::path& optim_dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(optim_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("rank-") && name.ends_with(".safetensors")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  BALCAP_CHECK(!files.empty(), "{}: no rank-*.safetensors optimizer state\nHINT: the checkpoint is damaged; resume an "
               "older one", optim_dir.string());
  std::vector<std::pair<std::string, at::Tensor>> state;
  for (const auto& file : files) {
    const io::SafetensorsCheckpoint saved(file);
    for (const auto& name : saved.names()) state.emplace_back(name, saved.tensor(name));
  }
  optimizer.load_state_dict(state, fmt::format("{} ({} file{})", optim_dir.string(), files.size(),
                                               files.size() == 1 ? "" : "s"));
}

}  // namespace balcap::train
