#pragma once
// Which part of a global batch one rank works on (the only rank arithmetic the trainer needs):
// rank r of W takes items r, r + W, r + 2W, ... so every item goes to exactly one rank and the
// global order is the same for every world size.
#include <cstddef>
#include <vector>

#include "dist/communicator.h"

namespace balcap::dist {

template <class T>
std::vector<T> rank_shard(const std::vector<T>& global, const Communicator& comm) {
  std::vector<T> mine;
  const auto world = static_cast<std::size_t>(comm.world_size());
  for (auto i = static_cast<std::size_t>(comm.rank()); i < global.size(); i += world) mine.push_back(global[i]);
  return mine;
}

}  // namespace balcap::dist
