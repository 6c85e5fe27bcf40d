// Launch variables -> LaunchEnv (see launch_env.h).
#include "dist/launch_env.h"

#include <charconv>
#include <cstdlib>
#include <string_view>

#include "core/error.h"

namespace balcap::dist {
namespace {

constexpr const char* kHint =
    "HINT: launch with torchrun --no-python, scripts/launch, or export RANK, WORLD_SIZE, LOCAL_RANK, "
    "MASTER_ADDR and MASTER_PORT for every process (unset WORLD_SIZE for one process)";

std::optional<std::string> variable(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::int64_t integer(const char* name, std::int64_t lo, std::int64_t hi, std::optional<std::int64_t> fallback) {
  const std::optional<std::string> text = variable(name);
  if (!text) {
    BALCAP_CHECK(fallback.has_value(), "{} is not set but WORLD_SIZE is\n{}", name, kHint);
    return *fallback;
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  BALCAP_CHECK(ec == std::errc() && end == text->data() + text->size() && value >= lo && value <= hi,
               "{}='{}' is not an integer in [{}, {}]\n{}", name, *text, lo, hi, kHint);
  return value;
}

bool truthy(const std::optional<std::string>& v) { return v && (*v == "1" || *v == "True" || *v == "true"); }

}  // namespace

std::optional<LaunchEnv> launch_env_from_environment() {
  if (!variable("WORLD_SIZE")) return std::nullopt;
  LaunchEnv env;
  env.world_size = integer("WORLD_SIZE", 1, 1 << 20, std::nullopt);
  env.rank = integer("RANK", 0, env.world_size - 1, std::nullopt);
  env.local_world_size = integer("LOCAL_WORLD_SIZE", 1, env.world_size, env.world_size);
  env.local_rank = integer("LOCAL_RANK", 0, env.local_world_size - 1, env.rank % env.local_world_size);
  env.master_addr = variable("MASTER_ADDR").value_or("127.0.0.1");
  BALCAP_CHECK(!env.master_addr.empty(), "MASTER_ADDR is empty\n{}", kHint);
  env.master_port = static_cast<std::uint16_t>(integer("MASTER_PORT", 1, 65535, 29500));
  env.agent_store = truthy(variable("TORCHELASTIC_USE_AGENT_STORE"));
  return env;
}

}  // namespace balcap::dist
