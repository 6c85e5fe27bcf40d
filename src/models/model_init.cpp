// Random initialisation as transformers does it, and `balcap model init`'s directory writer.
#include "models/model_init.h"

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/gzip_file.h"
#include "io/json_file.h"
#include "io/model_family.h"
#include "models/llava_weights.h"
#include "models/qwen2_5_vl_model.h"
#include "models/qwen2_5_vl_weights.h"

namespace fs = std::filesystem;

namespace balcap::models {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Norm weights are named `...norm*.weight` / `ln_q.weight` in these models (1-D, all ones in HF).
bool is_norm_weight(const std::string& name) {
  const auto dot = name.rfind('.', name.size() - std::string(".weight").size() - 1);
  const std::string owner = name.substr(dot == std::string::npos ? 0 : dot + 1);
  return owner.find("norm") != std::string::npos || owner.rfind("ln_", 0) == 0;
}

double initializer_range(const fs::path& config_file) {
  const nlohmann::json config = io::read_json_file(config_file);
  const nlohmann::json& text = config.contains("text_config") ? config["text_config"] : config;
  const auto it = text.find("initializer_range");
  return it != text.end() && it->is_number() ? it->get<double>() : 0.02;
}

fs::path tokenizer_file(const fs::path& dir) {
  for (const char* name : {"tokenizer.json", "tokenizer.json.gz"}) {
    if (fs::is_regular_file(dir / name)) return dir / name;
  }
  fail("{}: no tokenizer.json or tokenizer.json.gz. HINT: pass --tokenizer a directory holding the model's "
       "tokenizer (e.g. tests/data/tokenizers/qwen).",
       dir.string());
}

fs::path template_config(const fs::path& template_dir) {
  const fs::path config_file = template_dir / "config.json";
  BALCAP_CHECK(fs::is_regular_file(config_file), "{}: no config.json. HINT: --template is a directory like "
               "configs/models/tiny_qwen2_5_vl or configs/models/tiny_llava_1_5.", template_dir.string());
  return config_file;
}

// LLaVA's tokenizer is LLaMA's plus <image> = 32000 and <pad> = 32001, added as
// convert_llava_weights_to_hf.py adds them; a tokenizer.json that has them already is kept as is.
std::string with_llava_added_tokens(const std::string& tokenizer_json, const fs::path& source) {
  nlohmann::json tok = nlohmann::json::parse(tokenizer_json);
  auto& added = tok["added_tokens"];
  const auto has = [&](const std::string& content) {
    for (const auto& t : added) if (t.value("content", "") == content) return true;
    return false;
  };
  if (has("<image>")) return tokenizer_json;
  const size_t vocab = tok.at("model").at("vocab").size();
  BALCAP_CHECK(vocab == 32000, "{}: a LLaMA vocabulary of {} tokens, not 32000: <image> would not get id 32000. "
               "HINT: pass --tokenizer a LLaVA-1.5 or LLaMA-2 tokenizer.", source.string(), vocab);
  for (const auto& [id, content] : {std::pair<int, const char*>{32000, "<image>"}, {32001, "<pad>"}}) {
    added.push_back({{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  return tok.dump();
}

}  // namespace

void init_weights_normal(torch::nn::Module& module, double std, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& item : module.named_parameters()) {
    const std::string& name = item.key();
    at::Tensor& param = item.value();
    if (ends_with(name, ".bias")) {
      param.zero_();
    } else if (param.dim() == 1 && is_norm_weight(name)) {
      param.fill_(1.0);
    } else {
      // Drawn on the CPU in float32 then copied: the values do not depend on device or dtype.
      param.copy_(at::normal(0.0, std, param.sizes(), generator, at::TensorOptions().dtype(at::kFloat)));
    }
  }
}

void init_model(const fs::path& template_dir, const fs::path& tokenizer_dir, const fs::path& out_dir, uint64_t seed) {
  const fs::path config_file = template_config(template_dir);
  const fs::path tokenizer = tokenizer_file(tokenizer_dir);
  std::string tokenizer_json = io::read_maybe_gzipped(tokenizer);
  const double std = initializer_range(config_file);
  switch (io::detect_family(template_dir)) {
    case io::ModelFamily::qwen2_5_vl: {
      Qwen2_5_VLForConditionalGeneration model(io::load_qwen2_5_vl_config(config_file));
      init_weights_normal(*model, std, seed);
      save_qwen2_5_vl(model, out_dir, WeightLayout::hub, template_dir);
      break;
    }
    case io::ModelFamily::llava: {
      LlavaForConditionalGeneration model(io::load_llava_config(config_file));
      init_weights_normal(*model, std, seed);
      save_llava(model, out_dir, LlavaLayout{}, template_dir);  // the llava-hf hub spelling
      tokenizer_json = with_llava_added_tokens(tokenizer_json, tokenizer);
      break;
    }
    default:
      fail("{}: model_type '{}' has no `model init`. HINT: use a qwen2_5_vl or llava template.",
           config_file.string(), to_string(io::detect_family(template_dir)));
  }
  io::write_file_atomically(out_dir / "tokenizer.json", tokenizer_json);
}

}  // namespace balcap::models
