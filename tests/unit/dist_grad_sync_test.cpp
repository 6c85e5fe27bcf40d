// Gradient sync over a real Gloo process group: two ranks as two threads of this process, joined
// through a TCPStore on 127.0.0.1. The reference is the sum of the ranks' gradients computed here.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <thread>

#include "dist/c10d_communicator.h"
#include "dist/grad_sync.h"
#include "support/test_support.h"

namespace balcap::dist {
namespace {

constexpr std::int64_t kWorld = 2;

// Runs `body(comm)` on every rank of a 2-rank Gloo group, one thread each; rethrows a rank's failure.
// LibTorch's c10d flight recorder is one per process and its map insert is not safe against two
// process groups enqueueing at once (about 1 run in 30 crashed inside it under load), which only
// ranks-as-threads do; it is turned off here (real ranks are processes and keep it).
void on_two_ranks(const std::function<void(Communicator&)>& body) {
  setenv("TORCH_FR_BUFFER_SIZE", "0", /*overwrite=*/1);
  const auto port = static_cast<std::uint16_t>(test::free_port());
  std::vector<std::exception_ptr> errors(kWorld);
  std::vector<std::thread> ranks;
  for (std::int64_t r = 0; r < kWorld; ++r) {
    ranks.emplace_back([&, r] {
      try {
        LaunchEnv env;
        env.rank = r, env.world_size = kWorld, env.master_port = port;
        C10dOptions options;
        options.timeout = std::chrono::seconds(30);
        const auto comm = c10d_communicator(env, options, at::Device(at::kCPU));
        body(*comm);
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
      }
    });
  }
  for (std::thread& t : ranks) t.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

// Three parameters; rank r's gradient of parameter k is (r + 1) * (k + 1) * arange, so the sum over
// two ranks is 3 * (k + 1) * arange. Parameter 2 has no gradient on rank 1 (no rows there).
std::vector<at::Tensor> params_with_grads(std::int64_t rank) {
  std::vector<at::Tensor> params;
  for (std::int64_t k = 0; k < 3; ++k) {
    at::Tensor p = at::zeros({4 + k}, at::kFloat).requires_grad_(true);
    if (!(k == 2 && rank == 1)) p.mutable_grad() = at::arange(4 + k, at::kFloat) * static_cast<double>((rank + 1) * (k + 1));
    params.push_back(p);
  }
  return params;
}

at::Tensor expected_sum(std::int64_t k) {
  const double on_rank1 = k == 2 ? 0.0 : 2.0 * static_cast<double>(k + 1);
  return at::arange(4 + k, at::kFloat) * (static_cast<double>(k + 1) + on_rank1);
}

const std::vector<std::int64_t> kOwners{0, 0, 1};

TEST(GradSync, AllReduceGivesEveryRankTheSum) {
  on_two_ranks([](Communicator& comm) {
    const auto params = params_with_grads(comm.rank());
    sync_gradients(params, comm, 16);  // 16 bytes: a bucket per parameter
    for (std::int64_t k = 0; k < 3; ++k) EXPECT_TRUE(params[k].grad().equal(expected_sum(k))) << "param " << k;
  });
}

TEST(GradSync, WithOwnersOnlyTheOwnerKeepsTheSumAndTheOthersReleaseTheirs) {
  on_two_ranks([](Communicator& comm) {
    const auto params = params_with_grads(comm.rank());
    sync_gradients(params, comm, 1 << 20, kOwners);
    for (std::int64_t k = 0; k < 3; ++k) {
      if (kOwners[k] == comm.rank()) {
        ASSERT_TRUE(params[k].grad().defined()) << "rank " << comm.rank() << " owns param " << k;
        EXPECT_TRUE(params[k].grad().equal(expected_sum(k))) << "param " << k;
      } else {
        EXPECT_FALSE(params[k].grad().defined()) << "rank " << comm.rank() << " does not own param " << k;
      }
    }
  });
}

// The overlapped path: gradients arrive through autograd hooks during the last backward pass.
TEST(GradSync, OverlappedWithOwnersGivesTheOwnersTheSumOfEveryMicroBatch) {
  on_two_ranks([](Communicator& comm) {
    std::vector<at::Tensor> params;
    for (std::int64_t k = 0; k < 3; ++k) params.push_back(at::ones({4 + k}, at::kFloat).requires_grad_(true));
    OverlappedGradSync sync(params, comm, 16, kOwners);
    const double scale = static_cast<double>(comm.rank() + 1);
    // Two micro-batches: d/dp of sum(scale * (k + 1) * p) is scale * (k + 1), twice.
    const auto loss = [&] {
      at::Tensor l = at::zeros({}, at::kFloat);
      for (std::int64_t k = 0; k < 3; ++k) l = l + (params[k] * (scale * static_cast<double>(k + 1))).sum();
      return l;
    };
    loss().backward();
    sync.arm();
    loss().backward();
    sync.finish();
    for (std::int64_t k = 0; k < 3; ++k) {
      if (kOwners[k] != comm.rank()) {
        EXPECT_FALSE(params[k].grad().defined()) << "param " << k;
        continue;
      }
      const at::Tensor sum = at::full({4 + k}, 2.0 * (1.0 + 2.0) * static_cast<double>(k + 1), at::kFloat);
      ASSERT_TRUE(params[k].grad().defined());
      EXPECT_TRUE(params[k].grad().equal(sum)) << "param " << k;
    }
  });
}

}  // namespace
}  // namespace balcap::dist
