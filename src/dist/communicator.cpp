// The one-process Communicator (single_process_communicator()): rank 0 of 1, collectives are identities.
#include "dist/communicator.h"

namespace balcap::dist {
namespace {

class SingleProcessCommunicator final : public Communicator {
 public:
  std::int64_t rank() const override { return 0; }
  std::int64_t world_size() const override { return 1; }
  void all_reduce_sum(std::vector<double>&) override {}
  void barrier() override {}
};

}  // namespace

std::unique_ptr<Communicator> single_process_communicator() { return std::make_unique<SingleProcessCommunicator>(); }

}  // namespace balcap::dist
