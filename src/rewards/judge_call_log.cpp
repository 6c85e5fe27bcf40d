// Judge call logging (src/rewards/judge_call_log.h).
#include "rewards/judge_call_log.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "rewards/judge_questions.h"

namespace balcap::rewards {
namespace {

using nlohmann::json;

class LoggedJudge final : public Judge {
 public:
  LoggedJudge(std::shared_ptr<Judge> inner, const std::filesystem::path& path) : inner_(std::move(inner)) {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    out_.open(path, std::ios::app);
    BALCAP_CHECK(out_.good(),
                 "rewards.log_judge_calls: cannot open '{}' for appending\nHINT: check the directory "
                 "exists and is writable, or set rewards.log_judge_calls to an empty string",
                 path.string());
  }

  std::string name() const override { return inner_->name(); }
  bool sees_images() const override { return inner_->sees_images(); }

  std::vector<std::string> generate(const std::vector<JudgeRequest>& requests, std::int64_t max_new_tokens) override {
    auto start = std::chrono::steady_clock::now();
    try {
      std::vector<std::string> texts = inner_->generate(requests, max_new_tokens);
      write(requests, "generate", {{"max_new_tokens", max_new_tokens}}, seconds_since(start), [&](std::size_t i) {
        return json{{"output", i < texts.size() ? json(texts[i]) : json()}};
      });
      return texts;
    } catch (const Error& e) {
      write(requests, "generate", {{"max_new_tokens", max_new_tokens}}, seconds_since(start), [&](std::size_t) {
        return json{{"error", e.what()}};
      });
      throw;
    }
  }

  std::vector<std::vector<double>> choice_logprobs(const std::vector<JudgeRequest>& requests,
                                                   const std::vector<std::string>& choices) override {
    auto start = std::chrono::steady_clock::now();
    try {
      auto rows = inner_->choice_logprobs(requests, choices);
      const bool yes_no = choices == yes_no_choices();
      write(requests, "choice_logprobs", {{"choices", choices}}, seconds_since(start), [&](std::size_t i) {
        json answer{{"logprobs", i < rows.size() ? finite(rows[i]) : json()}};
        if (yes_no && i < rows.size()) answer["verdict"] = says_yes(rows[i]) ? "yes" : "no";
        return answer;
      });
      return rows;
    } catch (const Error& e) {
      write(requests, "choice_logprobs", {{"choices", choices}}, seconds_since(start), [&](std::size_t) {
        return json{{"error", e.what()}};
      });
      throw;
    }
  }

 private:
  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // JSON has no -inf: an impossible choice is written as null.
  static json finite(const std::vector<double>& row) {
    json out = json::array();
    for (double v : row) out.push_back(std::isfinite(v) ? json(v) : json());
    return out;
  }

  template <class Answer>
  void write(const std::vector<JudgeRequest>& requests, const char* call, const json& args, double seconds,
             Answer answer) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const JudgeRequest& r = requests[i];
      json line = {{"judge", inner_->name()},
                   {"call", call},
                   {"system", r.system},
                   {"user", r.user},
                   {"image", r.image_path ? json(*r.image_path) : json()}};
      if (!r.question.empty()) line["question"] = r.question;
      if (!r.assertion.empty()) line["assertion"] = r.assertion;
      line.update(args);
      line.update(answer(i));
      line["batch"] = requests.size();
      line["seconds"] = seconds;
      out_ << line.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    }
    out_.flush();
  }

  std::shared_ptr<Judge> inner_;
  std::ofstream out_;
  std::mutex mutex_;
};

}  // namespace

std::shared_ptr<Judge> with_call_log(std::shared_ptr<Judge> inner, const std::filesystem::path& path) {
  return std::make_shared<LoggedJudge>(std::move(inner), path);
}

}  // namespace balcap::rewards
