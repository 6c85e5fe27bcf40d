// bench_judge: judge throughput, local (in-process) vs remote (an OpenAI server such as
// `balcap serve` on the same checkpoint), driven by scripts/bench_judge.
//   bench_judge MODEL_DIR URL [CAPTIONS] [BATCH,BATCH,...]
// Workload per caption: a 1-10 rating question scored over the ten answers "1".."10"
// (choice_logprobs, as judge_rating) — and claim splitting (greedy generation, 16 tokens).
// Captions are distinct (no cache hits). One line per (judge, task, batch) of key=value.
#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "rewards/judge_factories.h"

namespace {

using namespace balcap;

std::vector<rewards::JudgeRequest> captions(int n) {
  const char* subjects[] = {"A grey cat", "Two boats", "A red bicycle", "An old man", "Three apples"};
  const char* places[] = {"on a sofa", "on a calm lake", "near a wall", "in a park", "on a table"};
  std::vector<rewards::JudgeRequest> out;
  for (int i = 0; i < n; ++i) {
    std::string caption = fmt::format("{} {} in photo number {}.", subjects[i % 5], places[(i / 5) % 5], i);
    out.push_back({"You are a careful judge of image captions.",
                   "Rate the fluency of this caption from 1 to 10.\nCaption: " + caption + "\nRating:", {}});
  }
  return out;
}

double run(rewards::Judge& judge, const std::vector<rewards::JudgeRequest>& all, int batch, bool generate) {
  const std::vector<std::string> ratings = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"};
  auto t0 = std::chrono::steady_clock::now();
  for (size_t b = 0; b < all.size(); b += batch) {
    std::vector<rewards::JudgeRequest> part(all.begin() + b, all.begin() + std::min(all.size(), b + batch));
    if (generate) {
      judge.generate(part, 16);
    } else {
      judge.choice_logprobs(part, ratings);
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_judge MODEL_DIR URL [CAPTIONS] [BATCH,BATCH,...]\n";
    return 2;
  }
  try {
    const int n = argc > 3 ? std::stoi(argv[3]) : 32;
    std::vector<int> batches = {1, 4, 16};
    if (argc > 4) {
      batches.clear();
      std::stringstream ss(argv[4]);
      for (std::string b; std::getline(ss, b, ',');) batches.push_back(std::stoi(b));
    }
    for (int batch : batches) {
      config::JudgeConfig local;
      local.kind = "local";
      local.model = argv[1];
      local.device = "cpu";
      local.batch_size = batch;
      config::JudgeConfig remote;
      remote.kind = "remote";
      remote.url = argv[2];
      remote.batch_size = batch;
      remote.cache = false;
      remote.max_retries = 0;
      remote.timeout_s = 600;
      auto local_judge = rewards::make_local_judge("local", local, at::kCPU);
      auto remote_judge = rewards::make_remote_judge("remote", remote);
      for (bool generate : {false, true}) {
        auto warm = captions(2);
        run(*local_judge, warm, batch, generate);
        run(*remote_judge, warm, batch, generate);
        auto all = captions(generate ? std::min(n, 16) : n);
        for (auto* judge : {local_judge.get(), remote_judge.get()}) {
          double s = run(*judge, all, batch, generate);
          std::cout << fmt::format("judge={} task={} batch={} captions={} seconds={:.4f} captions_per_s={:.2f}\n",
                                   judge == local_judge.get() ? "local" : "remote",
                                   generate ? "claim_split_16" : "rating_1_10", batch, all.size(), s,
                                   all.size() / s);
        }
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_judge: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
