// The launch variables (dist/launch_env.h) and the sharded optimizer's parameter ownership
// (dist/param_shards.h): what torchrun exports is read, a bad value is named, owners are balanced.
#include <gtest/gtest.h>

#include <cstdlib>
#include <numeric>

#include "core/error.h"
#include "dist/launch_env.h"
#include "dist/param_shards.h"

namespace balcap::dist {
namespace {

// Sets the launch variables for one test and clears them after it.
class LaunchVariables : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                          "TORCHELASTIC_USE_AGENT_STORE"}) {
      ::unsetenv(v);
    }
  }
  static void set(const char* name, const char* value) { ::setenv(name, value, 1); }
};

TEST_F(LaunchVariables, NoWorldSizeMeansOneProcess) { EXPECT_FALSE(launch_env_from_environment().has_value()); }

TEST_F(LaunchVariables, TorchrunsVariablesAreRead) {
  set("WORLD_SIZE", "16"), set("RANK", "9"), set("LOCAL_RANK", "1"), set("LOCAL_WORLD_SIZE", "8");
  set("MASTER_ADDR", "node0"), set("MASTER_PORT", "29400"), set("TORCHELASTIC_USE_AGENT_STORE", "True");
  const auto env = launch_env_from_environment();
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->rank, 9);
  EXPECT_EQ(env->world_size, 16);
  EXPECT_EQ(env->local_rank, 1);
  EXPECT_EQ(env->local_world_size, 8);
  EXPECT_EQ(env->master_addr, "node0");
  EXPECT_EQ(env->master_port, 29400);
  EXPECT_TRUE(env->agent_store);
}

TEST_F(LaunchVariables, AMissingRankIsNamed) {
  set("WORLD_SIZE", "2");
  try {
    launch_env_from_environment();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("RANK is not set"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("HINT"), std::string::npos) << e.what();
  }
}

TEST_F(LaunchVariables, ARankOutsideTheWorldIsNamedWithItsValue) {
  set("WORLD_SIZE", "2"), set("RANK", "2");
  try {
    launch_env_from_environment();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("RANK='2' is not an integer in [0, 1]"), std::string::npos) << e.what();
  }
}

TEST(ParamShards, OwnersAreConsecutiveAndBalancedByElements) {
  const std::vector<std::int64_t> numels{100, 100, 100, 100, 100, 100, 100, 100};
  EXPECT_EQ(partition_parameters(numels, 4), (std::vector<std::int64_t>{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(partition_parameters(numels, 1), std::vector<std::int64_t>(8, 0));
  // One tensor larger than a rank's share is owned whole; the rest spread over the other ranks.
  const auto owners = partition_parameters({1000, 10, 10, 10, 10}, 2);
  EXPECT_EQ(owners, (std::vector<std::int64_t>{0, 1, 1, 1, 1}));
}

}  // namespace
}  // namespace balcap::dist
