// c10d_communicator: TCPStore rendezvous + ProcessGroupGloo / ProcessGroupNCCL (see c10d_communicator.h).
#include "dist/c10d_communicator.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>

#include "core/error.h"
#include "core/log.h"
#include "dist/c10d_backend.h"

namespace balcap::dist {
namespace {

constexpr const char* kPeerHint =
    "HINT: another rank died or hung (its rank-N.log in the run directory says why); this rank stops too. Fix the "
    "cause and resume every rank with --resume auto";

// The message of a c10 error without its stack trace (the first line).
std::string first_line(const char* text) {
  const std::string s(text);
  return s.substr(0, s.find('\n'));
}

c10::intrusive_ptr<c10d::Store> connect_store(const LaunchEnv& env, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = env.master_port;
  o.isServer = env.rank == 0 && !env.agent_store;
  o.numWorkers = static_cast<std::size_t>(env.world_size);
  o.waitWorkers = true;
  o.timeout = timeout;
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
    return c10::make_intrusive<c10d::PrefixStore>("balcap", store);
  } catch (const std::exception& e) {
    fail("rank {} of {}: rendezvous at {}:{} ({}) failed: {}\nHINT: start all {} ranks with the same MASTER_ADDR and "
         "MASTER_PORT within dist.timeout_s ({} s), and check that the port is free on rank 0's host",
         env.rank, env.world_size, env.master_addr, env.master_port, o.isServer ? "serving" : "connecting",
         first_line(e.what()),
         env.world_size, timeout.count() / 1000);
  }
}

c10::intrusive_ptr<c10d::Backend> make_gloo(const c10::intrusive_ptr<c10d::Store>& store, const LaunchEnv& env,
                                           std::chrono::milliseconds timeout) {
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");  // as torch.distributed: the interface to use
  options->devices.push_back(ifname != nullptr ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                               : c10d::ProcessGroupGloo::createDefaultDevice());
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(env.rank),
                                                     static_cast<int>(env.world_size), options);
}

class C10dCommunicator final : public Communicator {
 public:
  C10dCommunicator(const LaunchEnv& env, const C10dOptions& options, const at::Device& device)
      : env_(env), timeout_(options.timeout), device_(device) {
    const std::string backend = options.backend == "auto" ? (device.is_cuda() ? "nccl" : "gloo") : options.backend;
    BALCAP_CHECK(backend == "gloo" || device.is_cuda(), "dist.backend {} needs a CUDA device, but train.device is {}\n"
                 "HINT: use dist.backend gloo (or auto) on CPU", backend, device.str());
    if (backend == "gloo") device_ = at::Device(at::kCPU);  // Gloo collectives run on host tensors here
    const auto store = connect_store(env, timeout_);
    try {
      backend_ = backend == "nccl" ? detail::make_nccl_backend(store, static_cast<int>(env.rank),
                                                              static_cast<int>(env.world_size), timeout_)
                                   : make_gloo(store, env, timeout_);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail("rank {} of {}: creating the {} process group failed: {}\n{}", env.rank, env.world_size, backend,
           first_line(e.what()), kPeerHint);
    }
    spdlog::info("rank {} of {} joined the {} process group ({}:{}, timeout {} s)", env.rank, env.world_size, backend,
                 env.master_addr, env.master_port, timeout_.count() / 1000);
  }

  ~C10dCommunicator() override {
    try {
      backend_->shutdown();
    } catch (...) {  // a broken group cannot be shut down cleanly; the process is exiting anyway
    }
  }

  std::int64_t rank() const override { return env_.rank; }
  std::int64_t world_size() const override { return env_.world_size; }

  void all_reduce_sum(std::vector<double>& values) override {
    if (values.empty()) return;
    at::Tensor t = at::tensor(values, at::kDouble).to(device_);
    all_reduce_sum(t, "all_reduce of host values");
    const at::Tensor host = t.cpu();
    std::copy(host.data_ptr<double>(), host.data_ptr<double>() + host.numel(), values.begin());
  }

  void all_reduce_sum(at::Tensor& tensor, std::string_view what) override {
    std::vector<at::Tensor> list{on_device(tensor)};
    run(what, [&] { return backend_->allreduce(list, c10d::AllreduceOptions{}); });
    if (!list[0].is_same(tensor)) tensor.copy_(list[0]);
  }

  std::function<void()> all_reduce_sum_async(at::Tensor& tensor, std::string_view what) override {
    TORCH_INTERNAL_ASSERT(tensor.device() == device_ && tensor.is_contiguous(), "async all-reduce needs a contiguous ",
                          device_.str(), " tensor");
    auto list = std::make_shared<std::vector<at::Tensor>>(std::vector<at::Tensor>{tensor});
    c10::intrusive_ptr<c10d::Work> work;
    run_start(what, [&] { work = backend_->allreduce(*list, c10d::AllreduceOptions{}); });
    return [this, work, list, name = std::string(what)] { run(name, [&] { return work; }); };
  }

  std::function<void()> reduce_sum_async(at::Tensor& tensor, std::int64_t root, std::string_view what) override {
    TORCH_INTERNAL_ASSERT(tensor.device() == device_ && tensor.is_contiguous(), "async reduce needs a contiguous ",
                          device_.str(), " tensor");
    auto list = std::make_shared<std::vector<at::Tensor>>(std::vector<at::Tensor>{tensor});
    c10d::ReduceOptions o;
    o.rootRank = root;
    c10::intrusive_ptr<c10d::Work> work;
    run_start(what, [&] { work = backend_->reduce(*list, o); });
    return [this, work, list, name = std::string(what)] { run(name, [&] { return work; }); };
  }

  void broadcast(at::Tensor& tensor, std::int64_t root, std::string_view what) override {
    std::vector<at::Tensor> list{on_device(tensor)};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    run(what, [&] { return backend_->broadcast(list, o); });
    if (!list[0].is_same(tensor)) tensor.copy_(list[0]);
  }

  void barrier() override {
    run("barrier", [&] {
      // A barrier is an all-reduce of one element here (Gloo's and NCCL's barrier need no device hint then).
      std::vector<at::Tensor> list{at::zeros({1}, at::TensorOptions().device(device_))};
      return backend_->allreduce(list, c10d::AllreduceOptions{});
    });
  }

 private:
  // The tensor itself when it is contiguous and on the group's device, else a contiguous copy there.
  at::Tensor on_device(const at::Tensor& t) const {
    return t.device() == device_ && t.is_contiguous() ? t : t.to(device_).contiguous();
  }

  // Starting a collective can throw too (a peer already gone).
  template <class Start>
  void run_start(std::string_view what, Start start) {
    try {
      start();
    } catch (const std::exception& e) {
      fail("rank {} of {}: {} failed: {}\n{}", env_.rank, env_.world_size, what, first_line(e.what()), kPeerHint);
    }
  }

  template <class Start>
  void run(std::string_view what, Start start) {
    try {
      c10::intrusive_ptr<c10d::Work> work = start();
      BALCAP_CHECK(work->wait(timeout_), "rank {} of {}: {} did not finish within dist.timeout_s ({} s)\n{}",
                   env_.rank, env_.world_size, what, timeout_.count() / 1000, kPeerHint);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail("rank {} of {}: {} failed: {}\n{}", env_.rank, env_.world_size, what, first_line(e.what()), kPeerHint);
    }
  }

  LaunchEnv env_;
  std::chrono::milliseconds timeout_;
  at::Device device_;
  c10::intrusive_ptr<c10d::Backend> backend_;
};

}  // namespace

std::unique_ptr<Communicator> c10d_communicator(const LaunchEnv& env, const C10dOptions& options,
                                                const at::Device& device) {
  return std::make_unique<C10dCommunicator>(env, options, device);
}

}  // namespace balcap::dist
