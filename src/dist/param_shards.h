#pragma once
// The sharded optimizer's ownership (dist.sharded_optimizer, ZeRO-1 style): each trainable parameter
// belongs to one rank, which alone keeps its AdamW state (fp32 master, moments) and updates it; after
// the step every rank receives the new values from their owners. Gradients are all-reduced in full
// (grad_sync.h): Gloo has no native reduce-scatter (it would be an all-reduce underneath), and the
// global clipping norm needs every gradient anyway; the saving is the optimizer state, 1/world per rank.
#include <cstdint>
#include <vector>

#include "dist/communicator.h"

namespace balcap::dist {

// Owner rank of each parameter: consecutive runs in parameter order, cut so that each rank owns about
// 1/world of the elements (a parameter is never split). Deterministic in (numels, world).
std::vector<std::int64_t> partition_parameters(const std::vector<std::int64_t>& numels, std::int64_t world);

// Every rank gets each parameter's values from its owner: one broadcast per owner and dtype, of the
// owner's parameters flattened.
void broadcast_from_owners(const std::vector<at::Tensor>& params, const std::vector<std::int64_t>& owners,
                           Communicator& comm);

}  // namespace balcap::dist
