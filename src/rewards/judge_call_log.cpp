// Judge call logging and replay (src/rewards/judge_call_log.h).
#include "rewards/judge_call_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "rewards/judge_checks.h"
#include "rewards/judge_questions.h"
#include "text/utf8.h"

namespace balcap::rewards {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::atomic<std::int64_t> g_replayed_total{0};

// Two 64-bit FNV-1a lanes with different offset bases: collisions need ~2^64 requests.
struct Hasher {
  std::uint64_t a = 14695981039346656037ull, b = 1099511628211ull * 31 + 7;
  void add(std::string_view s) {
    for (unsigned char c : s) {
      a = (a ^ c) * 1099511628211ull;
      b = (b ^ c) * 1099511628211ull + 0x9e3779b97f4a7c15ull;
    }
    separate();
  }
  void separate() {  // a field boundary, so ("ab", "c") and ("a", "bc") differ
    a = (a ^ 0x1f) * 1099511628211ull;
    b = (b ^ 0x1f) * 1099511628211ull + 0x9e3779b97f4a7c15ull;
  }
};

// Holds an advisory lock on the whole file: other processes (ranks) appending to or repairing the
// same log wait, so a line is never read half-written by a live writer.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~FileLock() { ::flock(fd_, LOCK_UN); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

bool valid_utf8(std::string_view s) { return !text::utf8::find_invalid(s).has_value(); }

// JSON has no -inf: an impossible answer is written as null (and read back as -inf).
json finite_or_null(const std::vector<double>& row) {
  json out = json::array();
  for (double v : row) out.push_back(std::isfinite(v) ? json(v) : json());
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <class T>
std::vector<T> pick(const std::vector<T>& all, const std::vector<std::size_t>& indices) {
  std::vector<T> out;
  out.reserve(indices.size());
  for (std::size_t i : indices) out.push_back(all[i]);
  return out;
}

class LoggedJudge final : public Judge {
 public:
  LoggedJudge(std::shared_ptr<Judge> inner, std::shared_ptr<JudgeCallLog> log, std::string judge_id)
      : inner_(std::move(inner)), log_(std::move(log)), judge_id_(std::move(judge_id)) {}

  std::string name() const override { return inner_->name(); }
  bool sees_images() const override { return inner_->sees_images(); }

  std::vector<std::string> generate(const std::vector<JudgeRequest>& requests, std::int64_t max_new_tokens) override {
    const std::string args = JudgeCallLog::generate_args(max_new_tokens);
    std::vector<std::string> out(requests.size());
    std::vector<std::size_t> ask;  // requests the log cannot answer
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto earlier = log_->replay_output(JudgeCallLog::key(name(), judge_id_, "generate", requests[i], args));
      if (earlier) {
        out[i] = std::move(*earlier);
      } else {
        ask.push_back(i);
      }
    }
    if (ask.empty()) return out;
    const std::vector<JudgeRequest> asked = pick(requests, ask);
    const json call_args = {{"max_new_tokens", max_new_tokens}};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::string> texts;
    try {
      texts = inner_->generate(asked, max_new_tokens);
      check_answer_count(name(), "", asked.size(), texts.size());
    } catch (const Error& e) {
      write(asked, "generate", call_args, seconds_since(start), [&](std::size_t) { return json{{"error", e.what()}}; });
      throw;
    }
    write(asked, "generate", call_args, seconds_since(start), [&](std::size_t k) {
      return json{{"output", texts[k]}, {"lossy", !valid_utf8(texts[k])}};
    });
    for (std::size_t k = 0; k < ask.size(); ++k) out[ask[k]] = std::move(texts[k]);
    return out;
  }

  std::vector<std::vector<double>> choice_logprobs(const std::vector<JudgeRequest>& requests,
                                                   const std::vector<std::string>& choices) override {
    const std::string args = JudgeCallLog::choice_args(choices);
    std::vector<std::vector<double>> out(requests.size());
    std::vector<std::size_t> ask;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto earlier = log_->replay_logprobs(JudgeCallLog::key(name(), judge_id_, "choice_logprobs", requests[i], args));
      if (earlier && earlier->size() == choices.size()) {
        out[i] = std::move(*earlier);
      } else {
        ask.push_back(i);
      }
    }
    if (ask.empty()) return out;
    const std::vector<JudgeRequest> asked = pick(requests, ask);
    bool choices_lossy = false;
    for (const auto& c : choices) choices_lossy = choices_lossy || !valid_utf8(c);
    const json call_args = {{"choices", choices}};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::vector<double>> rows;
    try {
      rows = inner_->choice_logprobs(asked, choices);
      check_answer_count(name(), "", asked.size(), rows.size());
    } catch (const Error& e) {
      write(asked, "choice_logprobs", call_args, seconds_since(start),
            [&](std::size_t) { return json{{"error", e.what()}}; });
      throw;
    }
    const bool yes_no = choices == yes_no_choices();
    write(asked, "choice_logprobs", call_args, seconds_since(start), [&](std::size_t k) {
      json answer{{"logprobs", finite_or_null(rows[k])}, {"lossy", choices_lossy}};
      if (yes_no && rows[k].size() == 4) answer["verdict"] = says_yes(rows[k]) ? "yes" : "no";
      return answer;
    });
    for (std::size_t k = 0; k < ask.size(); ++k) out[ask[k]] = std::move(rows[k]);
    return out;
  }

 private:
  // One line per request, all of the call in one append. `answer(k)` adds the answer fields; its
  // "lossy" says whether the answer's text was valid UTF-8 (dropped when it was and the request's is too).
  template <class Answer>
  void write(const std::vector<JudgeRequest>& requests, const char* call, const json& args, double seconds,
             Answer answer) {
    std::string lines;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const JudgeRequest& r = requests[i];
      json line = {{"judge", inner_->name()},
                   {"call", call},
                   {"system", r.system},
                   {"user", r.user},
                   {"image", r.image_path ? json(*r.image_path) : json()}};
      if (!judge_id_.empty()) line["judge_id"] = judge_id_;
      if (!r.question.empty()) line["question"] = r.question;
      if (!r.assertion.empty()) line["assertion"] = r.assertion;
      line.update(args);
      line.update(answer(i));
      const bool lossy = line.value("lossy", false) || !valid_utf8(r.system) || !valid_utf8(r.user) ||
                         !valid_utf8(r.image_path.value_or("")) || !valid_utf8(r.question) || !valid_utf8(r.assertion);
      if (lossy) {
        line["lossy"] = true;  // U+FFFD stands for invalid bytes: the line no longer says exactly what was asked
      } else {
        line.erase("lossy");
      }
      line["batch"] = requests.size();
      line["seconds"] = seconds;
      lines += line.dump(-1, ' ', false, json::error_handler_t::replace);
      lines += '\n';
    }
    log_->append(lines);
  }

  std::shared_ptr<Judge> inner_;
  std::shared_ptr<JudgeCallLog> log_;
  std::string judge_id_;
};

}  // namespace

JudgeCallLog::JudgeCallLog(fs::path path) : path_(std::move(path)) {
  if (path_.has_parent_path()) fs::create_directories(path_.parent_path());
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  BALCAP_CHECK(fd_ >= 0,
               "rewards.log_judge_calls: cannot open '{}' for appending: {}\nHINT: check the directory "
               "exists and is writable, or set rewards.log_judge_calls to an empty string",
               path_.string(), std::strerror(errno));
  try {
    FileLock lock(fd_);
    load();
  } catch (...) {
    ::close(fd_);  // the destructor does not run for a constructor that throws
    throw;
  }
}

JudgeCallLog::~JudgeCallLog() {
  if (replayed_ > 0) {
    spdlog::info("rewards.log_judge_calls: {} judge request(s) were answered from the earlier lines of {} instead of "
                 "the judge",
                 replayed_.load(), path_.string());
  }
  if (fd_ >= 0) ::close(fd_);
}

std::string JudgeCallLog::generate_args(std::int64_t max_new_tokens) { return std::to_string(max_new_tokens); }

std::string JudgeCallLog::choice_args(const std::vector<std::string>& choices) {
  std::string out;
  for (const auto& c : choices) out += c + '\x1e';
  return out;
}

JudgeCallLog::Key JudgeCallLog::key(const std::string& judge, const std::string& judge_id, const std::string& call,
                                    const JudgeRequest& request, const std::string& args) {
  Hasher h;
  for (std::string_view field : {std::string_view(judge), std::string_view(judge_id), std::string_view(call),
                                 std::string_view(request.system), std::string_view(request.user)}) {
    h.add(field);
  }
  h.add(request.image_path ? "i" + *request.image_path : std::string("-"));  // no image differs from ""
  h.add(args);
  return {h.a, h.b};
}

// Streams the file (it can be large); a last line without its '\n' is torn: cut off.
void JudgeCallLog::load() {
  std::ifstream in(path_, std::ios::binary);
  std::uint64_t complete_bytes = 0, unreadable = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) {  // no '\n' after it: the writer was killed mid-line
      spdlog::warn("rewards.log_judge_calls: {} ends in a torn line ({} bytes without a newline: a run was killed "
                   "while writing it); it is cut off and its request will be asked again",
                   path_.string(), line.size());
      std::error_code error;
      fs::resize_file(path_, complete_bytes, error);
      BALCAP_CHECK(!error, "rewards.log_judge_calls: cannot cut the torn last line off {}: {}\nHINT: check that the "
                   "file is writable, or remove its last line by hand", path_.string(), error.message());
      break;
    }
    complete_bytes += line.size() + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!load_line(line)) ++unreadable;
  }
  if (unreadable > 0) {
    spdlog::warn("rewards.log_judge_calls: {} line(s) of {} are not judge calls balcap wrote; they are kept but not "
                 "replayed",
                 unreadable, path_.string());
  }
  if (loaded() > 0) {
    spdlog::info("rewards.log_judge_calls: {} answer(s) of earlier judge calls in {}: the same requests are answered "
                 "from them, not sent to the judge again",
                 loaded(), path_.string());
  }
}

// One earlier line into the replay maps; false when it is not a line this log writes. Failed
// calls and lossy lines are skipped (true: they are well-formed, just not replayable).
bool JudgeCallLog::load_line(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception&) {
    return false;
  }
  auto is_string = [&](const char* k) { return j.contains(k) && j[k].is_string(); };
  if (!j.is_object() || !is_string("judge") || !is_string("call") || !is_string("system") || !is_string("user") ||
      !j.contains("image") || !(j["image"].is_null() || j["image"].is_string())) {
    return false;
  }
  if (j.contains("error") || j.value("lossy", false)) return true;
  JudgeRequest r{j["system"], j["user"], std::nullopt};
  if (j["image"].is_string()) r.image_path = j["image"].get<std::string>();
  const std::string judge_id = is_string("judge_id") ? j["judge_id"].get<std::string>() : "";
  const std::string call = j["call"];
  try {
    if (call == "generate" && is_string("output") && j.contains("max_new_tokens")) {
      const auto args = generate_args(j["max_new_tokens"].get<std::int64_t>());
      outputs_[key(j["judge"], judge_id, call, r, args)] = j["output"].get<std::string>();  // the newest wins
      return true;
    }
    if (call == "choice_logprobs" && j.contains("choices") && j.contains("logprobs") &&
        j["logprobs"].size() == j["choices"].size()) {
      std::vector<double> row;
      for (const json& v : j["logprobs"]) {
        row.push_back(v.is_null() ? -std::numeric_limits<double>::infinity() : v.get<double>());
      }
      logprobs_[key(j["judge"], judge_id, call, r, choice_args(j["choices"].get<std::vector<std::string>>()))] =
          std::move(row);
      return true;
    }
  } catch (const json::exception&) {
  }
  return false;
}

std::optional<std::string> JudgeCallLog::replay_output(const Key& k) {
  auto it = outputs_.find(k);
  if (it == outputs_.end()) return std::nullopt;
  ++replayed_;
  ++g_replayed_total;
  return it->second;
}

std::optional<std::vector<double>> JudgeCallLog::replay_logprobs(const Key& k) {
  auto it = logprobs_.find(k);
  if (it == logprobs_.end()) return std::nullopt;
  ++replayed_;
  ++g_replayed_total;
  return it->second;
}

void JudgeCallLog::append(const std::string& lines) {
  std::lock_guard guard(write_mutex_);
  FileLock lock(fd_);
  for (std::size_t at = 0; at < lines.size();) {
    const ssize_t n = ::write(fd_, lines.data() + at, lines.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // The log is for inspection and replay; a full disk must not stop training, but it is said once.
      if (!write_failed_) {
        spdlog::warn("rewards.log_judge_calls: cannot write to {}: {}; judge calls are no longer logged (nor "
                     "replayable after a restart)",
                     path_.string(), std::strerror(errno));
      }
      write_failed_ = true;
      return;
    }
    at += static_cast<std::size_t>(n);
  }
}

std::shared_ptr<Judge> with_call_log(std::shared_ptr<Judge> inner, std::shared_ptr<JudgeCallLog> log,
                                     std::string judge_id) {
  return std::make_shared<LoggedJudge>(std::move(inner), std::move(log), std::move(judge_id));
}

std::shared_ptr<Judge> with_call_log(std::shared_ptr<Judge> inner, const fs::path& path) {
  return with_call_log(std::move(inner), std::make_shared<JudgeCallLog>(path));
}

std::int64_t replayed_judge_requests_total() { return g_replayed_total.load(); }

}  // namespace balcap::rewards
