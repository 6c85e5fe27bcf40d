#pragma once
// The resumable record order (docs/data.md, "Order and resume"). The records are read as one
// endless stream: epoch 0's permutation, then epoch 1's, ... A cursor (epoch, position) points
// into that stream; next(n) hands out the next n record indices, crossing epoch boundaries, and
// advances the cursor. Because the stream does not depend on how it is cut, changing the batch
// size at resume changes only how many records each later step takes, never which records come
// next or in what order.
//
// Permutations are ours, not std::shuffle's (whose algorithm is implementation-defined):
//   s      = splitmix64(seed XOR splitmix64(epoch))      (one SplitMix64 output step each)
//   rng    = the SplitMix64 generator started at state s
//   for i = n-1 down to 1: j = uniform(i + 1); swap(perm[i], perm[j])   (Fisher-Yates, perm = 0..n-1)
//   uniform(b): draw x = rng(); redraw while x < (2^64 - b) mod b; return x mod b   (unbiased)
// tests/reference/ref_data.py implements the same text independently.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace balcap::data {

// SplitMix64 (Steele, Lea, Flood 2014): state += 0x9E3779B97F4A7C15, then the mixing function.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t state) : state_(state) {}
  std::uint64_t next();
  // Uniform in [0, bound), bound >= 1, by rejection as above.
  std::uint64_t uniform(std::uint64_t bound);
  // Uniform double in [0, 1): the top 53 bits of next().
  double unit();
  std::uint64_t state() const { return state_; }

 private:
  std::uint64_t state_;
};

// One output of SplitMix64 started at `x` (the mixing of x + golden gamma): a seed hash.
std::uint64_t splitmix64(std::uint64_t x);

// The permutation of 0..n-1 used for `epoch` (identity when shuffle is off).
std::vector<std::int64_t> epoch_permutation(std::int64_t n, std::uint64_t seed, std::int64_t epoch);

struct DataCursor {
  std::int64_t epoch = 0;     // epochs completed
  std::int64_t position = 0;  // records of `epoch` already handed out, in [0, num_records)
  bool operator==(const DataCursor&) const = default;
};

class DataOrder {
 public:
  // num_records >= 1 (balcap::Error otherwise); shuffle = false: every epoch is 0..n-1.
  DataOrder(std::int64_t num_records, std::uint64_t seed, bool shuffle = true);

  // The next n record indices of the stream (n >= 0), crossing epochs; advances the cursor.
  std::vector<std::int64_t> next(std::int64_t n);
  // What next(n) would return, without advancing.
  std::vector<std::int64_t> peek(std::int64_t n) const;

  DataCursor cursor() const { return cursor_; }
  std::int64_t num_records() const { return num_records_; }
  std::uint64_t seed() const { return seed_; }
  bool shuffle() const { return shuffle_; }
  // Records handed out since the start (epoch * num_records + position).
  std::int64_t consumed() const { return cursor_.epoch * num_records_ + cursor_.position; }

  // {"version":1,"num_records","seed","shuffle","epoch","position"}; seed as a decimal string
  // (JSON numbers lose 64-bit precision in many readers).
  nlohmann::json state() const;
  // Restores a state(). A different num_records -> balcap::Error (the dataset changed; indices
  // would point at other records). A different seed/shuffle: the saved ones win, with a warning,
  // so the run continues the order it started.
  void restore(const nlohmann::json& state);

 private:
  const std::vector<std::int64_t>& permutation(std::int64_t epoch) const;

  std::int64_t num_records_;
  std::uint64_t seed_;
  bool shuffle_;
  DataCursor cursor_;
  mutable std::int64_t cached_epoch_ = -1;
  mutable std::vector<std::int64_t> cached_;
};

}  // namespace balcap::data
