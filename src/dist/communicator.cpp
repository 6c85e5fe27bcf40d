// The one-process Communicator (single_process_communicator()), the default tensor collectives, all_gather.
#include "dist/communicator.h"

namespace balcap::dist {
namespace {

class SingleProcessCommunicator final : public Communicator {
 public:
  std::int64_t rank() const override { return 0; }
  std::int64_t world_size() const override { return 1; }
  void all_reduce_sum(std::vector<double>&) override {}
  void all_reduce_sum(at::Tensor&, std::string_view) override {}
  void broadcast(at::Tensor&, std::int64_t, std::string_view) override {}
  void barrier() override {}
};

}  // namespace

void Communicator::all_reduce_sum(at::Tensor& tensor, std::string_view /*what*/) {
  const at::Tensor host = tensor.detach().to(at::kCPU, at::kDouble).contiguous();
  std::vector<double> values(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
  all_reduce_sum(values);
  tensor.copy_(at::tensor(values, at::kDouble).view(tensor.sizes()));
}

std::function<void()> Communicator::all_reduce_sum_async(at::Tensor& tensor, std::string_view what) {
  all_reduce_sum(tensor, what);
  return [] {};
}

std::function<void()> Communicator::reduce_sum_async(at::Tensor& tensor, std::int64_t /*root*/, std::string_view what) {
  return all_reduce_sum_async(tensor, what);
}

void Communicator::broadcast(at::Tensor& tensor, std::int64_t root, std::string_view what) {
  if (rank() != root) tensor.zero_();
  all_reduce_sum(tensor, what);
}

std::unique_ptr<Communicator> single_process_communicator() { return std::make_unique<SingleProcessCommunicator>(); }

std::vector<double> all_gather(Communicator& comm, const std::vector<double>& mine) {
  const auto world = static_cast<std::size_t>(comm.world_size());
  const auto rank = static_cast<std::size_t>(comm.rank());
  std::vector<double> sizes(world, 0.0);
  sizes[rank] = static_cast<double>(mine.size());
  comm.all_reduce_sum(sizes);
  std::size_t offset = 0, total = 0;
  for (std::size_t r = 0; r < world; ++r) {
    if (r < rank) offset += static_cast<std::size_t>(sizes[r]);
    total += static_cast<std::size_t>(sizes[r]);
  }
  std::vector<double> all(total, 0.0);
  std::copy(mine.begin(), mine.end(), all.begin() + static_cast<std::ptrdiff_t>(offset));
  comm.all_reduce_sum(all);
  return all;
}

}  // namespace balcap::dist
