// DataOrder: seeded per-epoch Fisher-Yates permutations and a cursor over their concatenation.
#include "data/data_order.h"

#include <limits>
#include <numeric>
#include <string>

#include "core/error.h"
#include "core/log.h"

namespace balcap::data {

namespace {
constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ull;

std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

std::uint64_t SplitMix64::next() {
  state_ += kGamma;
  return mix(state_);
}

std::uint64_t SplitMix64::uniform(std::uint64_t bound) {
  // (2^64 - bound) mod bound, computed in 64-bit as (-bound) % bound: draws below it would make
  // the low residues more likely.
  const std::uint64_t threshold = (0 - bound) % bound;
  std::uint64_t x = next();
  while (x < threshold) x = next();
  return x % bound;
}

double SplitMix64::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

std::uint64_t splitmix64(std::uint64_t x) { return mix(x + kGamma); }

std::vector<std::int64_t> epoch_permutation(std::int64_t n, std::uint64_t seed, std::int64_t epoch) {
  std::vector<std::int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), std::int64_t{0});
  SplitMix64 rng(splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(epoch))));
  for (std::int64_t i = n - 1; i >= 1; --i) {
    auto j = static_cast<std::int64_t>(rng.uniform(static_cast<std::uint64_t>(i) + 1));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

DataOrder::DataOrder(std::int64_t num_records, std::uint64_t seed, bool shuffle)
    : num_records_(num_records), seed_(seed), shuffle_(shuffle) {
  BALCAP_CHECK(num_records >= 1,
               "data order: the dataset has no usable records. HINT: check data.train and the "
               "validation report (`balcap data check FILE.jsonl`)");
}

const std::vector<std::int64_t>& DataOrder::permutation(std::int64_t epoch) const {
  if (cached_epoch_ != epoch) {
    if (shuffle_) {
      cached_ = epoch_permutation(num_records_, seed_, epoch);
    } else {
      cached_.resize(static_cast<size_t>(num_records_));
      std::iota(cached_.begin(), cached_.end(), std::int64_t{0});
    }
    cached_epoch_ = epoch;
  }
  return cached_;
}

std::vector<std::int64_t> DataOrder::peek(std::int64_t n) const {
  BALCAP_CHECK(n >= 0, "data order: asked for {} records. HINT: this is a bug in the caller", n);
  std::vector<std::int64_t> out;
  out.reserve(static_cast<size_t>(n));
  DataCursor c = cursor_;
  while (static_cast<std::int64_t>(out.size()) < n) {
    const auto& perm = permutation(c.epoch);
    out.push_back(perm[static_cast<size_t>(c.position)]);
    if (++c.position == num_records_) c = {c.epoch + 1, 0};
  }
  return out;
}

std::vector<std::int64_t> DataOrder::next(std::int64_t n) {
  auto out = peek(n);
  std::int64_t total = consumed() + n;
  cursor_ = {total / num_records_, total % num_records_};
  return out;
}

nlohmann::json DataOrder::state() const {
  return {{"version", 1},        {"num_records", num_records_}, {"seed", std::to_string(seed_)},
          {"shuffle", shuffle_}, {"epoch", cursor_.epoch},      {"position", cursor_.position}};
}

namespace {

// state[key] as an integer: a float (1e200 would not convert) or anything else is an error.
std::int64_t integer_at(const nlohmann::json& state, const char* key) {
  const nlohmann::json& v = state.at(key);
  BALCAP_CHECK(v.is_number_integer(),
               "data order state: '{}' = {} is not an integer. HINT: pass the trainer_state.json written by this "
               "version of balcap",
               key, v.dump());
  return v.get<std::int64_t>();
}

}  // namespace

void DataOrder::restore(const nlohmann::json& state) {
  const char* hint = "HINT: pass the trainer_state.json written by this version of balcap";
  try {
    const std::int64_t version = state.contains("version") ? integer_at(state, "version") : 0;
    BALCAP_CHECK(version == 1, "data order state: unknown version {}. {}", version, hint);
    auto n = integer_at(state, "num_records");
    BALCAP_CHECK(n == num_records_,
                 "data order state: the checkpoint was made with {} records, the dataset now has {}. HINT: resume "
                 "with the same data.train file and data.max_records (the saved cursor indexes those records)",
                 n, num_records_);
    auto seed = std::stoull(state.at("seed").get<std::string>());
    auto shuffle = state.at("shuffle").get<bool>();
    if (seed != seed_ || shuffle != shuffle_) {
      spdlog::warn(
          "data order: the checkpoint's seed/shuffle ({}, {}) differ from the config's ({}, {}); "
          "continuing the checkpoint's order",
          seed, shuffle, seed_, shuffle_);
    }
    DataCursor c{integer_at(state, "epoch"), integer_at(state, "position")};
    BALCAP_CHECK(c.epoch >= 0 && c.position >= 0 && c.position < num_records_,
                 "data order state: cursor (epoch {}, position {}) is out of range for {} records. {}", c.epoch,
                 c.position, num_records_, hint);
    seed_ = seed;
    shuffle_ = shuffle;
    cursor_ = c;
    cached_epoch_ = -1;
  } catch (const nlohmann::json::exception& e) {
    fail("data order state: {} ({}). {}", e.what(), state.dump(), hint);
  } catch (const std::logic_error& e) {  // stoull
    fail("data order state: bad seed in {} ({}). {}", state.dump(), e.what(), hint);
  }
}

}  // namespace balcap::data
