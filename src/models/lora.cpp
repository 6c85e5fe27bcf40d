// LoRA injection and PEFT adapter files (see lora.h).
#include "models/lora.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "io/safetensors_checkpoint.h"
#include "io/safetensors_writer.h"
#include "models/text_decoder.h"

namespace balcap::models {

namespace fs = std::filesystem;

std::string peft_key(const std::string& path, char matrix) {
  return fmt::format("base_model.model.{}.lora_{}.weight", path, matrix);
}

namespace {

const std::vector<std::string> kAttention = {"q_proj", "k_proj", "v_proj", "o_proj"};
const std::vector<std::string> kMlp = {"gate_proj", "up_proj", "down_proj"};

// (module path, slot, base Linear) of every LoRA-capable projection of every text decoder in `model`.
std::vector<LoraAdapters::Target> candidate_layers(torch::nn::Module& model) {
  std::vector<LoraAdapters::Target> out;
  for (const auto& item : model.named_modules()) {
    auto* decoder = dynamic_cast<TextDecoderImpl*>(item.value().get());
    if (decoder == nullptr) continue;
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (size_t i = 0; i < decoder->layers->size(); ++i) {
      auto& layer = *decoder->layers->ptr<DecoderLayerImpl>(i);
      const auto at = [&](const std::string& part) { return fmt::format("{}layers.{}.{}", prefix, i, part); };
      auto& a = *layer.self_attn;
      auto& m = *layer.mlp;
      out.push_back({at("self_attn.q_proj"), &a.q_lora, a.q_proj});
      out.push_back({at("self_attn.k_proj"), &a.k_lora, a.k_proj});
      out.push_back({at("self_attn.v_proj"), &a.v_lora, a.v_proj});
      out.push_back({at("self_attn.o_proj"), &a.o_lora, a.o_proj});
      out.push_back({at("mlp.gate_proj"), &m.gate_lora, m.gate_proj});
      out.push_back({at("mlp.up_proj"), &m.up_lora, m.up_proj});
      out.push_back({at("mlp.down_proj"), &m.down_lora, m.down_proj});
    }
  }
  return out;
}

std::string short_name(const std::string& path) { return path.substr(path.rfind('.') + 1); }

std::string regex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

// A regex (PEFT: re.fullmatch over module names) matching exactly `paths`' layers: the decoder
// prefixes and the projection names, e.g. model\.language_model\.layers\.\d+\.(?:self_attn|mlp)\.(?:q_proj|v_proj)
std::string target_regex(const std::vector<LoraAdapters::Target>& targets) {
  std::set<std::string> prefixes, names;
  for (const auto& t : targets) {
    const auto layers_at = t.path.rfind("layers.");
    prefixes.insert(regex_escape(t.path.substr(0, layers_at)));
    names.insert(short_name(t.path));
  }
  return fmt::format("(?:{})layers\\.\\d+\\.(?:self_attn|mlp)\\.(?:{})", fmt::join(prefixes, "|"),
                     fmt::join(names, "|"));
}

void freeze(torch::nn::Module& model) {
  for (auto& p : model.parameters()) p.set_requires_grad(false);
}

// r, lora_alpha and lora_dropout of a plain LoRA adapter_config.json; other PEFT types are refused.
LoraOptions read_adapter_config(const fs::path& dir) {
  const auto cfg_file = dir / "adapter_config.json";
  const auto j = io::read_json_file(cfg_file);
  const io::JsonFields f(cfg_file, j);
  const auto type = f.get_string("peft_type", "");
  if (type != "LORA") f.fail_key("peft_type", fmt::format("is '{}'", type), "balcap loads LoRA adapters only");
  if (f.get_bool("use_dora", false) || f.get_bool("use_rslora", false)) {
    f.fail_key("use_dora", "DoRA / rsLoRA adapters are not supported", "export them merged with PEFT instead");
  }
  LoraOptions options;
  options.r = f.get_int("r", 8);
  options.alpha = f.get_double("lora_alpha", 8.0);
  options.dropout = f.get_double("lora_dropout", 0.0);
  return options;
}

// The layers of `model` whose adapters `weights` holds (those with a lora_A key, in file order);
// `target_modules` gets their short names. A key for a layer the model lacks -> balcap::Error.
std::vector<LoraAdapters::Target> adapted_layers(torch::nn::Module& model, const io::SafetensorsCheckpoint& weights,
                                                 std::vector<std::string>& target_modules) {
  std::map<std::string, LoraAdapters::Target> by_path;
  for (auto& t : candidate_layers(model)) by_path.emplace(t.path, t);
  std::set<std::string> names, missing;
  std::vector<LoraAdapters::Target> chosen;
  for (const auto& key : weights.names()) {
    const std::string head = "base_model.model.", tail = ".lora_A.weight";
    if (!key.ends_with(tail) && !key.ends_with(".lora_B.weight")) {
      fail("{}: tensor '{}' is not a LoRA A/B matrix. HINT: balcap loads plain LoRA adapters (no modules_to_save)",
           weights.path().string(), key);
    }
    if (!key.ends_with(tail)) continue;
    const auto path = key.substr(head.size(), key.size() - head.size() - tail.size());
    auto it = key.rfind(head, 0) == 0 ? by_path.find(path) : by_path.end();
    if (it == by_path.end()) {
      missing.insert(key);
      continue;
    }
    names.insert(short_name(path));
    chosen.push_back(it->second);
  }
  BALCAP_CHECK(missing.empty() && !chosen.empty(),
               "{}: adapters for layers this model does not have: {}. HINT: load the adapters onto the base model they "
               "were trained on (adapter_config.json base_model_name_or_path)",
               weights.path().string(), fmt::join(missing, ", "));
  target_modules.assign(names.begin(), names.end());
  return chosen;
}

// Copies the layer's A and B matrices from `weights` into its (freshly built) adapter.
void load_adapter_values(const LoraAdapters::Target& t, const io::SafetensorsCheckpoint& weights, std::int64_t r) {
  for (char m : {'A', 'B'}) {
    const auto key = peft_key(t.path, m);
    BALCAP_CHECK(weights.contains(key), "{}: '{}' is missing. HINT: the adapter file is incomplete",
                 weights.path().string(), key);
    auto& dst = m == 'A' ? (*t.slot)->lora_A : (*t.slot)->lora_B;
    const auto src = weights.tensor(key);
    BALCAP_CHECK(src.sizes() == dst.sizes(),
                 "{}: '{}' has shape {}, the model needs {} (r {}). HINT: check r in "
                 "adapter_config.json",
                 weights.path().string(), key, c10::str(src.sizes()), c10::str(dst.sizes()), r);
    dst.copy_(src);
  }
}

}  // namespace

LoraAdapters LoraAdapters::inject(torch::nn::Module& model, const LoraOptions& options, at::Generator generator) {
  LoraAdapters out;
  out.options_ = options;
  const std::set<std::string> wanted(options.target_modules.begin(), options.target_modules.end());
  std::set<std::string> known;
  auto candidates = candidate_layers(model);
  for (auto& t : candidates) {
    known.insert(short_name(t.path));
    if (wanted.count(short_name(t.path)) == 0) continue;
    const auto& w = t.base->weight;  // [out, in]
    *t.slot = LoraAdapter(w.size(1), w.size(0), options.r, options.alpha, options.dropout, w.scalar_type(), w.device(),
                          generator);
    out.targets_.push_back(t);
  }
  std::vector<std::string> unknown;
  for (const auto& name : wanted) {
    if (known.count(name) == 0) unknown.push_back(name);
  }
  BALCAP_CHECK(unknown.empty() && !out.targets_.empty(),
               "train.lora.target_modules: {} not found among the language model's linear layers ({}). HINT: use "
               "names from q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj",
               fmt::join(unknown.empty() ? options.target_modules : unknown, ", "), fmt::join(known, ", "));
  freeze(model);
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> LoraAdapters::named_parameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& t : targets_) {
    out.emplace_back(peft_key(t.path, 'A'), (*t.slot)->lora_A);
    out.emplace_back(peft_key(t.path, 'B'), (*t.slot)->lora_B);
  }
  return out;
}

void LoraAdapters::save_peft(const fs::path& dir, const std::string& base_model) const {
  fs::create_directories(dir);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, t] : named_parameters()) tensors.emplace_back(name, t.detach());
  io::save_safetensors(dir / "adapter_model.safetensors", tensors);
  // The keys PEFT's LoraConfig needs for a plain (non-DoRA, non-rsLoRA) adapter; the rest default.
  const nlohmann::json cfg = {{"peft_type", "LORA"},
                              {"task_type", nullptr},
                              {"r", options_.r},
                              {"lora_alpha", options_.alpha},
                              {"lora_dropout", options_.dropout},
                              {"target_modules", target_regex(targets_)},
                              {"bias", "none"},
                              {"fan_in_fan_out", false},
                              {"use_rslora", false},
                              {"use_dora", false},
                              {"init_lora_weights", true},
                              {"inference_mode", true},
                              {"modules_to_save", nullptr},
                              {"base_model_name_or_path", base_model},
                              {"revision", nullptr}};
  io::write_file_atomically(dir / "adapter_config.json", cfg.dump(2) + "\n");
}

LoraAdapters LoraAdapters::load_peft(torch::nn::Module& model, const fs::path& dir) {
  LoraOptions options = read_adapter_config(dir);
  io::SafetensorsCheckpoint weights(dir / "adapter_model.safetensors");
  LoraAdapters out;
  std::vector<Target> chosen = adapted_layers(model, weights, options.target_modules);
  out.options_ = options;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  at::NoGradGuard no_grad;
  for (auto& t : chosen) {
    const auto& w = t.base->weight;
    *t.slot =
        LoraAdapter(w.size(1), w.size(0), options.r, options.alpha, options.dropout, w.scalar_type(), w.device(), gen);
    load_adapter_values(t, weights, options.r);
    out.targets_.push_back(t);
  }
  freeze(model);
  return out;
}

void LoraAdapters::merge_and_remove() {
  at::NoGradGuard no_grad;
  for (auto& t : targets_) {
    auto& a = **t.slot;
    auto& w = t.base->weight;  // [out, in]
    const auto delta = at::matmul(a.lora_B.to(at::kFloat), a.lora_A.to(at::kFloat)) * a.scale;
    w.copy_(w.to(at::kFloat) + delta);
    *t.slot = LoraAdapter(nullptr);
  }
  targets_.clear();
}

}  // namespace balcap::models
