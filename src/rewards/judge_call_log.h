#pragma once
// Private to src/rewards: rewards.log_judge_calls: every judge call written to a JSONL file for inspection, one line per
// request: {"judge", "judge_id", "call": "generate"|"choice_logprobs", "system", "user", "image" (or null),
// "max_new_tokens" | "choices", "output" (text) | "logprobs" ([per choice], null for an impossible
// answer), "batch" (requests in the call), "seconds" (the whole call)}; a failed call writes "error"
// instead of the answer and rethrows. A labelled request adds "question" (verify, pointable, split,
// support, ...) and "assertion" (the claim asked about); a Yes/No answer adds "verdict": "yes" | "no"
// (P(yes) > P(no)), so claim_precision's two verdicts per assertion are two lines with the same
// "assertion". A line whose text was not valid UTF-8 (written with U+FFFD in its place) adds
// "lossy": true. Each call is one write() under an advisory file lock, so calls of several judges or
// ranks sharing the file never interleave inside a line.
//
// Replay (docs/rewards.md, "Resuming without paying twice"): the successful answers already in the
// file when it is opened (a run killed and resumed, or the same run repeated) are loaded, keyed by
// the whole request: judge name, judge_id (a hash of the settings that decide the answers: kind,
// model or url, api, model_name, dtype, vision), call, system, user, image path, max_new_tokens or
// choices. A request found there is answered from it, bit for bit (doubles round-trip through JSON;
// null is -inf), and neither sent to the judge nor written again. Failed calls and lossy lines are
// never replayed. A torn last line (the writer was killed mid-write) is cut off with a warning.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rewards/judge.h"

namespace balcap::rewards {

// One open call log, shared by the judges of a run that write to it.
class JudgeCallLog {
 public:
  // Opens (creates) `path` for appending after loading its earlier answers (see above). Throws
  // balcap::Error when it cannot be opened.
  explicit JudgeCallLog(std::filesystem::path path);
  ~JudgeCallLog();
  JudgeCallLog(const JudgeCallLog&) = delete;
  JudgeCallLog& operator=(const JudgeCallLog&) = delete;

  // 128-bit hash of a request's full identity (see above); `args` is the call's max_new_tokens or
  // choices as text.
  using Key = std::pair<std::uint64_t, std::uint64_t>;
  static Key key(const std::string& judge, const std::string& judge_id, const std::string& call,
                 const JudgeRequest& request, const std::string& args);
  static std::string generate_args(std::int64_t max_new_tokens);
  static std::string choice_args(const std::vector<std::string>& choices);

  // The earlier answer of a request, if the file had one; counts it as replayed.
  std::optional<std::string> replay_output(const Key& key);
  std::optional<std::vector<double>> replay_logprobs(const Key& key);

  // Appends lines (each a JSON object's text, without '\n') as one write.
  void append(const std::string& lines);

  const std::filesystem::path& path() const { return path_; }
  std::size_t loaded() const { return outputs_.size() + logprobs_.size(); }  // earlier answers available
  std::int64_t replayed() const { return replayed_; }                         // requests answered from them

 private:
  struct KeyHash {
    std::size_t operator()(const Key& k) const { return static_cast<std::size_t>(k.first ^ (k.second * 31)); }
  };
  void load();
  bool load_line(const std::string& line);

  std::filesystem::path path_;
  int fd_ = -1;
  std::mutex write_mutex_;
  bool write_failed_ = false;
  std::unordered_map<Key, std::string, KeyHash> outputs_;
  std::unordered_map<Key, std::vector<double>, KeyHash> logprobs_;
  std::atomic<std::int64_t> replayed_{0};
};

// A judge that answers from `log`'s earlier lines what it can, forwards the rest to `inner` and logs
// those calls. `judge_id` identifies the judge's answer-deciding settings (judge_identity()).
std::shared_ptr<Judge> with_call_log(std::shared_ptr<Judge> inner, std::shared_ptr<JudgeCallLog> log,
                                     std::string judge_id = "");
// The same on a log of its own at `path`.
std::shared_ptr<Judge> with_call_log(std::shared_ptr<Judge> inner, const std::filesystem::path& path);

// Requests answered from call logs in this process so far (all logs).
std::int64_t replayed_judge_requests_total();

}  // namespace balcap::rewards
