// Update-step throughput and memory of `balcap train`'s loss path (driven by scripts/bench_update):
//   bench_update MODEL_DIR INPUTS.safetensors REPEAT MICRO_BATCH VISION_ONCE(0|1) DTYPE DEVICE THREADS
// INPUTS (scripts/peer/hf_update_step.py inputs; the transformers side reads the same file):
//   prompt_ids.<i> [P] int64, pixel_values.<i> [patches, 1176] f32, image_grid_thw.<i> [1, 3] int64 per image i
//   (and mm_token_type_ids.<i>, which only the transformers side needs);
//   completion_ids [N*G, T] int64, old_logprobs [N*G, T] f32, advantages [N*G] f32 (row r: image r / G).
// One update step = train::update_phase (the function `balcap train` calls) with ppo_epochs 1 and
// mini_batches 1: the rows in micro-batches of MICRO_BATCH, each policy_logprobs (chunked fused
// log-probs, entropy as a metric) + the clipped PPO loss (token_mean) + backward, then the global-norm
// clip (1.0) and one AdamW step (lr 1e-5, weight decay 0.01), zero_grad. One warm-up step, then
// REPEAT timed steps; prints one line:
//   impl=balcap ... s_per_step=.. tokens_per_s=.. peak_mib=.. mem=.. base_mib=.. base_file_mib=.. peak_total_mib=..
//   optimizer_s=.. loss_first=.. loss_last=.. grad_norm_first=..
// peak_mib: host, the peak resident set during the timed steps minus the resident set after loading the
// weights (before the optimizer allocates its moments, which torch.optim.AdamW allocates in the first step)
// (VmHWM reset through /proc/self/clear_refs after the warm-up: mem=host_hwm_reset; when that is not
// permitted the peak since start: mem=host_hwm_since_start); CUDA: the caching allocator's peak
// allocated bytes during the timed steps minus those after loading (mem=cuda_allocated).
// BALCAP_BENCH_PROFILE=TRACE.json: one more step under the profiler (not timed), profile_summary.h.
#include <ATen/Parallel.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/error.h"
#include "io/safetensors_reader.h"
#include "models/load_policy.h"
#include "train/peak_memory.h"
#include "train/session.h"
#include "train/update_phase.h"
#include "profile_summary.h"

using namespace balcap;

namespace {

// A field of /proc/self/status ("VmRSS", "VmHWM", "RssFile") in MiB; -1 when absent. Reads into a stack
// buffer: a heap allocation here, between the model's and the step's, changes glibc's heap layout and with
// it the step's peak (by hundreds of MiB on the tiny shape, tune_host_allocator keeps freed blocks).
double proc_status_mib(const char* field) {
  char buf[8192];
  const int fd = ::open("/proc/self/status", O_RDONLY);
  if (fd < 0) return -1;
  const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  char key[32];
  std::snprintf(key, sizeof(key), "\n%s:", field);
  const char* at = std::strstr(buf, key);
  return at == nullptr ? -1 : std::strtod(at + std::strlen(key), nullptr) / 1024.0;  // "  123 kB"
}

// Resets VmHWM to the current resident set (Linux >= 4.0); false when not permitted.
bool reset_host_peak() {
  const int fd = ::open("/proc/self/clear_refs", O_WRONLY);
  if (fd < 0) return false;
  const bool ok = ::write(fd, "5", 1) == 1;
  ::close(fd);
  return ok;
}

at::Tensor tensor_of(const std::map<std::string, at::Tensor>& file, const std::string& name, const std::string& path) {
  const auto it = file.find(name);
  BALCAP_CHECK(it != file.end(), "{}: no tensor '{}'. HINT: rewrite it with scripts/peer/hf_update_step.py inputs "
               "(delete the file and rerun scripts/bench_update)", path, name);
  return it->second.clone();  // own the bytes: the mapping may go
}

std::vector<int64_t> row_of(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kLong).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

// The inputs file -> what the rollout phase would have left: N prompts and N*G samples (request-major).
train::Rollout read_rollout(const std::string& path, std::vector<double>& advantages) {
  const auto file = io::load_safetensors(path);
  const at::Tensor completions = tensor_of(file, "completion_ids", path);  // [N*G, T]
  const at::Tensor old = tensor_of(file, "old_logprobs", path).to(at::kFloat).contiguous();  // [N*G, T]
  const at::Tensor adv = tensor_of(file, "advantages", path).to(at::kDouble).contiguous();   // [N*G]
  train::Rollout rollout;
  for (int64_t i = 0; file.count("prompt_ids." + std::to_string(i)) > 0; ++i) {
    const std::string k = std::to_string(i);
    models::PolicyPrompt p{row_of(tensor_of(file, "prompt_ids." + k, path)),
                           tensor_of(file, "pixel_values." + k, path).to(at::kFloat),
                           tensor_of(file, "image_grid_thw." + k, path).to(at::kLong)};
    rollout.items.push_back({nullptr, std::move(p)});
  }
  const auto images = static_cast<int64_t>(rollout.items.size());
  const int64_t rows = completions.size(0);
  BALCAP_CHECK(images > 0 && rows % images == 0, "{}: {} completion rows for {} images; need a multiple. HINT: "
               "rewrite the file", path, rows, images);
  const int64_t group = rows / images;
  rollout.group_sizes.assign(static_cast<size_t>(images), group);
  for (int64_t r = 0; r < rows; ++r) {
    sampling::Sample s;
    s.request = r / group, s.member = r % group, s.finish_reason = "length";
    s.ids = row_of(completions[r]);
    s.logprobs.assign(old[r].data_ptr<float>(), old[r].data_ptr<float>() + old.size(1));
    rollout.samples.push_back(std::move(s));
    advantages.push_back(adv[r].item<double>());
  }
  return rollout;
}

// `balcap train`'s defaults, with the benchmark's lr (1e-5, as the transformers side) and micro-batch.
config::Config bench_config(int64_t micro_batch, bool vision_once) {
  config::Config cfg;
  cfg.optim.lr = 1e-5;
  cfg.train.micro_batch = micro_batch;
  cfg.train.grad_accum = 0;
  cfg.train.vision_once_per_image = vision_once;
  if (const char* mib = std::getenv("BALCAP_LOGITS_CHUNK_MIB"); mib != nullptr && *mib != '\0') {
    cfg.train.logits_chunk_mib = std::stoll(mib);  // scripts/bench_update --logits-chunk-mib
  }
  if (const char* fwd = std::getenv("BALCAP_HEAD_GRAD_IN_FORWARD"); fwd != nullptr && *fwd != '\0') {
    cfg.train.head_grad_in_forward = std::string(fwd) == "on";  // scripts/bench_update --head-grad-in-forward
  }
  cfg.algo.ppo_epochs = 1, cfg.algo.mini_batches = 1;
  return cfg;
}

struct Memory {
  double base_mib = 0;       // after loading
  double base_file_mib = 0;  // of which file-backed (mapped weights), host only
  bool reset = false;        // the peak was reset after the warm-up
};

// Before the timed steps: reset the peak (host VmHWM, or the CUDA allocator's).
void reset_peak(const at::Device& device, Memory& m) {
  if (device.is_cuda()) {
    train::reset_device_peak(device);
    m.reset = true;
  } else {
    m.reset = reset_host_peak();
  }
}

Memory base_memory(const at::Device& device) {
  if (!device.is_cuda()) return {proc_status_mib("VmRSS"), proc_status_mib("RssFile"), false};
  train::reset_device_peak(device);  // the peak becomes what is allocated now
  return {train::peak_memory(device).device_mib, 0, false};
}

// The peak since reset_peak (host: VmHWM; CUDA: the allocator's peak allocated), MiB.
double peak_mib(const at::Device& device) {
  return device.is_cuda() ? train::peak_memory(device).device_mib : proc_status_mib("VmHWM");
}

const char* memory_kind(const at::Device& device, const Memory& m) {
  if (device.is_cuda()) return "cuda_allocated";
  return m.reset ? "host_hwm_reset" : "host_hwm_since_start";
}

// argv as main's usage says; returns the exit code.
int run(char** argv) {
  tune_host_allocator();  // as `balcap` does at startup
  const std::string dir = argv[1], inputs = argv[2], dtype_name = argv[6];
  const int repeat = std::stoi(argv[3]);
  at::set_num_threads(std::stoi(argv[8]));
  const at::ScalarType dtype = dtype_name == "bf16" ? at::kBFloat16 : dtype_name == "f16" ? at::kHalf : at::kFloat;
  const at::Device device(argv[7]);
  const config::Config cfg = bench_config(std::stoll(argv[4]), std::string(argv[5]) == "1");

  std::vector<double> advantages;
  const train::Rollout rollout = read_rollout(inputs, advantages);
  auto policy = models::load_policy(dir, dtype, device);
  Memory mem = base_memory(device);  // the weights only: the optimizer's moments count as the update's
  train::NamedParams params = train::trainable_parameters(policy->module(), cfg.train);
  std::vector<double> scales = train::lr_scales(params, cfg.optim);
  train::AdamW optimizer(std::move(params), train::adamw_options_from(cfg.optim), std::move(scales));
  const train::LrSchedule schedule(cfg.optim, 1 + repeat);
  auto comm = dist::single_process_communicator();
  const train::UpdateInputs in{&cfg, policy.get(), nullptr, &optimizer, &schedule, comm.get(), nullptr, nullptr};

  int64_t updates = 0;
  const train::UpdateOutcome first = train::update_phase(in, rollout, advantages, updates);  // warm-up
  reset_peak(device, mem);
  const auto start = std::chrono::steady_clock::now();
  train::UpdateOutcome last = first;
  for (int r = 0; r < repeat; ++r) last = train::update_phase(in, rollout, advantages, updates);  // .item(): synced
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repeat;
  const auto rows = static_cast<int64_t>(rollout.samples.size());
  const int64_t tokens = rows * static_cast<int64_t>(rollout.samples[0].ids.size());
  std::printf(
      "impl=balcap rows=%lld micro_batch=%lld vision_once=%d head_grad_in_forward=%d logits_chunk_mib=%lld tokens_per_step=%lld repeat=%d s_per_step=%.4f "
      "tokens_per_s=%.1f peak_mib=%.1f mem=%s base_mib=%.1f base_file_mib=%.1f peak_total_mib=%.1f optimizer_s=%.4f "
      "loss_first=%.9g loss_last=%.9g grad_norm_first=%.6g\n",
      static_cast<long long>(rows), static_cast<long long>(cfg.train.micro_batch),
      cfg.train.vision_once_per_image ? 1 : 0, cfg.train.head_grad_in_forward ? 1 : 0,
      static_cast<long long>(cfg.train.logits_chunk_mib),
      static_cast<long long>(tokens), repeat, seconds,
      static_cast<double>(tokens) / seconds, peak_mib(device) - mem.base_mib, memory_kind(device, mem), mem.base_mib,
      mem.base_file_mib, peak_mib(device), last.optimizer_seconds, first.loss, last.loss, first.grad_norm);
  if (const char* trace = std::getenv("BALCAP_BENCH_PROFILE"); trace != nullptr && *trace != '\0') {
    bench::profile_call([&] { train::update_phase(in, rollout, advantages, updates); }, device.is_cuda(), trace);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: bench_update MODEL_DIR INPUTS REPEAT MICRO_BATCH VISION_ONCE DTYPE DEVICE THREADS\n");
    return 2;
  }
  try {
    return run(argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_update: %s\n", e.what());
    return 1;
  }
}
