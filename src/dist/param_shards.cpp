// Parameter ownership and the owners' broadcast (see param_shards.h).
#include "dist/param_shards.h"

#include <c10/core/GradMode.h>

#include <map>
#include <numeric>

namespace balcap::dist {

std::vector<std::int64_t> partition_parameters(const std::vector<std::int64_t>& numels, std::int64_t world) {
  const double total = static_cast<double>(std::accumulate(numels.begin(), numels.end(), std::int64_t{0}));
  std::vector<std::int64_t> owners;
  double before = 0;  // elements of the parameters before this one
  for (std::int64_t n : numels) {
    // The rank whose 1/world slice holds this parameter's midpoint.
    const double mid = before + static_cast<double>(n) / 2.0;
    const auto r = static_cast<std::int64_t>(total > 0 ? mid / total * static_cast<double>(world) : 0.0);
    owners.push_back(std::min(r, world - 1));
    before += static_cast<double>(n);
  }
  return owners;
}

void broadcast_from_owners(const std::vector<at::Tensor>& params, const std::vector<std::int64_t>& owners,
                           Communicator& comm) {
  if (comm.world_size() == 1) return;
  c10::NoGradGuard no_grad;
  for (std::int64_t owner = 0; owner < comm.world_size(); ++owner) {
    std::map<at::ScalarType, std::vector<at::Tensor>> by_dtype;  // same order on every rank
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (owners[i] == owner) by_dtype[params[i].scalar_type()].push_back(params[i]);
    }
    for (auto& [dtype, group] : by_dtype) {
      std::vector<at::Tensor> flat_parts;
      for (const at::Tensor& p : group) flat_parts.push_back(p.detach().reshape({-1}));
      at::Tensor flat = at::cat(flat_parts);
      comm.broadcast(flat, owner, "broadcast of updated parameters");
      std::int64_t offset = 0;
      for (const at::Tensor& p : group) {
        p.detach().copy_(flat.narrow(0, offset, p.numel()).view(p.sizes()));
        offset += p.numel();
      }
    }
  }
}

}  // namespace balcap::dist
