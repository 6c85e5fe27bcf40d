// Rollout throughput of the group sampler (driven by scripts/bench_rollout):
//   bench_rollout MODEL_DIR REPEAT GROUP MAX_NEW_TOKENS DTYPE DEVICE IMAGE...
// Every caption is forced to MAX_NEW_TOKENS (min_new_tokens = max_new_tokens, as the transformers
// side), T = 1, no top-k/top-p. One warm-up call, then REPEAT timed calls over all images; prints
// one line: impl=balcap images=.. group=.. new_tokens=.. cuda_graphs=.. seconds=.. tokens_per_s=..
// BALCAP_BENCH_CUDA_GRAPHS=0 turns sampling.cuda_graphs off (default on; no effect on CPU).
// BALCAP_BENCH_PROFILE=TRACE.json: one more call under the profiler after the timed ones (not
// timed): a chrome trace and the heaviest kernels (profile_summary.h).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "models/caption_prompt.h"
#include "models/qwen2_5_vl_policy.h"
#include "sampling/sampler.h"
#include "vision/image.h"
#include "profile_summary.h"

using namespace balcap;

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr, "usage: bench_rollout MODEL_DIR REPEAT GROUP MAX_NEW_TOKENS DTYPE DEVICE IMAGE...\n");
    return 2;
  }
  const std::string dir = argv[1], dtype_name = argv[5];
  const int repeat = std::stoi(argv[2]);
  const at::ScalarType dtype = dtype_name == "bf16" ? at::kBFloat16 : dtype_name == "f16" ? at::kHalf : at::kFloat;
  const at::Device device(argv[6]);
  auto policy = models::Qwen2_5_VLPolicy::load(dir, dtype, device);
  const auto tokenizer = text::load_tokenizer(dir);
  const auto processor = vision::load_image_processor(dir);
  std::vector<sampling::SampleRequest> requests;
  for (int i = 7; i < argc; ++i) {
    requests.push_back({models::build_caption_prompt(*tokenizer, *processor, vision::decode_image_file(argv[i]), "Describe this image."),
                        i - 7});
  }
  sampling::SamplingParams params;
  params.group_size = std::stoll(argv[3]);
  params.max_new_tokens = params.min_new_tokens = std::stoll(argv[4]);
  params.stop_ids = policy->generation_config().eos_token_ids;
  const char* graphs = std::getenv("BALCAP_BENCH_CUDA_GRAPHS");
  params.cuda_graphs = graphs == nullptr || std::string(graphs) != "0";
  const auto sync = [&] {
    if (device.is_cuda()) at::ones({1}, at::TensorOptions().device(device)).cpu();  // waits for the stream
  };
  sampling::SamplingParams warm = params;
  warm.max_new_tokens = warm.min_new_tokens = std::min<int64_t>(8, params.max_new_tokens);
  sampling::sample(*policy, *tokenizer, requests, warm, {1, 0, 0});
  sync();
  const auto start = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  for (int r = 0; r < repeat; ++r) {
    for (const auto& s : sampling::sample(*policy, *tokenizer, requests, params, {1, r + 1, 0})) tokens += s.ids.size();
  }
  sync();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "impl=balcap images=%zu group=%lld new_tokens=%lld cuda_graphs=%d repeat=%d seconds=%.4f tokens=%lld "
      "tokens_per_s=%.1f\n",
      requests.size(), static_cast<long long>(params.group_size), static_cast<long long>(params.max_new_tokens),
      params.cuda_graphs && device.is_cuda() ? 1 : 0, repeat, seconds, static_cast<long long>(tokens),
      static_cast<double>(tokens) / seconds);
  if (const char* trace = std::getenv("BALCAP_BENCH_PROFILE"); trace != nullptr && *trace != '\0') {
    bench::profile_call([&] { sampling::sample(*policy, *tokenizer, requests, params, {1, repeat + 1, 0}); sync(); },
                        device.is_cuda(), trace);
  }
  return 0;
}
