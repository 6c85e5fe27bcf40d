// `balcap inspect advantage [--stats]`: rewards of a few groups as JSON on stdin -> the GDPO/GRPO
// advantages and length-mask flags as JSON on stdout (docs/rewards.md), for tuning weights and
// checking the arithmetic by hand. Input (every field but `groups` optional, defaults shown):
//   {"mode":"gdpo", "eps":1e-6, "batch_normalize":true, "weights":{"correctness":1.0, ...},
//    "length_mask":{"enabled":true, "objectives":["linguistic"], "min_ratio":0.5, "max_ratio":2.0,
//                   "mask_mode":"zero", "masked_value":0.0, "min_tokens":8, "max_tokens":256},
//    "groups":[{"reference_tokens":40, "samples":[{"tokens":35, "rewards":{"correctness":0.8}}]}]}
// The objectives are the keys of `weights` and of every sample's `rewards` (weight 1 when not
// given); a reward that is missing or null is invalid (left out of its group's statistics).
// Output: {"advantages":[[...] per group], "masked":{"<objective>":[[...] per group]}} (+ "stats").
// Malformed input exits 2 naming the field.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "algo/advantage.h"
#include "config/from_json.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "commands.h"

namespace balcap::cli {
namespace {

using nlohmann::json;

constexpr const char* kHint = "HINT: see 'balcap inspect advantage --help' or docs/rewards.md for the input format";

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  usage_fail("inspect advantage: '{}' {}\n{}", field, what, kHint);
}

void check_keys(const json& object, const std::string& path, const std::set<std::string>& allowed) {
  if (!object.is_object()) bad(path.empty() ? "(input)" : path, "must be a JSON object, got " + object.dump());
  for (const auto& [key, value] : object.items()) {
    if (!allowed.count(key)) bad(path.empty() ? key : path + "." + key, "is not a known field");
  }
}

double number(const json& object, const std::string& key, const std::string& path, double fallback) {
  if (!object.contains(key)) return fallback;
  const json& v = object.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>())) bad(path + key, "must be a finite number, got " + v.dump());
  return v.get<double>();
}

std::int64_t count(const json& object, const std::string& key, const std::string& path, std::int64_t fallback) {
  if (!object.contains(key)) return fallback;
  const json& v = object.at(key);
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
    bad(path + key, "must be a non-negative integer, got " + v.dump());
  }
  return v.get<std::int64_t>();
}

std::string text(const json& object, const std::string& key, const std::string& path, const std::string& fallback,
                 const std::set<std::string>& choices) {
  if (!object.contains(key)) return fallback;
  const json& v = object.at(key);
  if (!v.is_string() || !choices.count(v.get<std::string>())) {
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : " or ") + c;
    bad(path + key, "must be " + list + ", got " + v.dump());
  }
  return v.get<std::string>();
}

bool flag(const json& object, const std::string& key, const std::string& path, bool fallback) {
  if (!object.contains(key)) return fallback;
  if (!object.at(key).is_boolean()) bad(path + key, "must be true or false, got " + object.at(key).dump());
  return object.at(key).get<bool>();
}

// `length_mask` through the config's own reader and checks (config/from_json.h): the same keys,
// types, ranges and bound order as rewards.length_mask in a config file.
config::LengthMaskConfig parse_mask(const json& in) {
  if (!in.contains("length_mask")) return {};
  try {
    return config::length_mask_from_json(in.at("length_mask"), "stdin", "length_mask");
  } catch (const Error& e) {
    usage_fail("inspect advantage: {}\n{}", e.what(), kHint);
  }
}

struct Parsed {
  algo::AdvantageOptions options;
  config::LengthMaskConfig mask;
  std::vector<algo::ObjectiveRewards> rewards;
  std::vector<algo::SampleLength> lengths;
  std::vector<std::int64_t> group_sizes;
};

// Objective names in order: weights' keys, then any other reward key (sorted: JSON objects are).
std::map<std::string, double> objective_weights(const json& in) {
  std::map<std::string, double> weights;
  if (in.contains("weights")) {
    const json& w = in.at("weights");
    if (!w.is_object()) bad("weights", "must be an object of objective name -> weight, got " + w.dump());
    for (const auto& [name, value] : w.items()) weights[name] = number(w, name, "weights.", 1.0);
  }
  for (const json& group : in.at("groups")) {
    if (!group.is_object() || !group.contains("samples") || !group.at("samples").is_array()) continue;
    for (const json& sample : group.at("samples")) {
      if (!sample.is_object() || !sample.contains("rewards") || !sample.at("rewards").is_object()) continue;
      for (const auto& [name, value] : sample.at("rewards").items()) weights.emplace(name, 1.0);
    }
  }
  return weights;
}

void parse_groups(const json& in, Parsed& out) {
  if (!in.contains("groups")) bad("groups", "is required (a list of groups, each with its samples)");
  const json& groups = in.at("groups");
  if (!groups.is_array() || groups.empty()) bad("groups", "must be a non-empty list, got " + groups.dump());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::string gp = "groups[" + std::to_string(g) + "]";
    check_keys(groups[g], gp, {"reference_tokens", "samples"});
    double reference = number(groups[g], "reference_tokens", gp + ".", 0.0);
    if (reference < 0) bad(gp + ".reference_tokens", "must be >= 0 (0 or absent: no reference)");
    if (!groups[g].contains("samples") || !groups[g].at("samples").is_array() || groups[g].at("samples").empty()) {
      bad(gp + ".samples", "must be a non-empty list of samples");
    }
    const json& samples = groups[g].at("samples");
    for (std::size_t j = 0; j < samples.size(); ++j) {
      const std::string sp = gp + ".samples[" + std::to_string(j) + "]";
      check_keys(samples[j], sp, {"tokens", "rewards"});
      if (!samples[j].contains("tokens")) bad(sp + ".tokens", "is required (the caption length in tokens)");
      out.lengths.push_back({count(samples[j], "tokens", sp + ".", 0), reference});
      const json rewards = samples[j].value("rewards", json::object());
      if (!rewards.is_object()) bad(sp + ".rewards", "must be an object of objective name -> score");
      for (algo::ObjectiveRewards& r : out.rewards) {
        bool present = rewards.contains(r.name) && !rewards.at(r.name).is_null();
        r.score.push_back(present ? number(rewards, r.name, sp + ".rewards.", 0.0) : 0.0);
        r.valid.push_back(present);
      }
    }
    out.group_sizes.push_back(static_cast<std::int64_t>(samples.size()));
  }
}

Parsed parse(const json& in) {
  check_keys(in, "", {"mode", "eps", "batch_normalize", "weights", "length_mask", "groups"});
  Parsed out;
  out.options.mode = text(in, "mode", "", "gdpo", {"gdpo", "grpo"});
  out.options.eps = number(in, "eps", "", 1e-6);
  if (!(out.options.eps > 0)) bad("eps", "must be > 0");
  out.options.batch_normalize = flag(in, "batch_normalize", "", true);
  out.mask = parse_mask(in);
  if (!in.contains("groups") || !in.at("groups").is_array()) bad("groups", "is required: a list of groups");
  for (const auto& [name, weight] : objective_weights(in)) out.rewards.push_back({name, weight, {}, {}});
  if (out.rewards.empty()) bad("groups", "holds no rewards: give each sample a \"rewards\" object");
  parse_groups(in, out);
  if (out.mask.enabled) {
    for (std::size_t i = 0; i < out.mask.objectives.size(); ++i) {
      bool known = false;
      for (const auto& r : out.rewards) known = known || r.name == out.mask.objectives[i];
      if (!known) bad("length_mask.objectives[" + std::to_string(i) + "]", "names no objective of the rewards");
    }
  }
  return out;
}

// [N] -> per group [[...], ...]
template <class T>
json per_group(const std::vector<T>& values, const std::vector<std::int64_t>& group_sizes) {
  json out = json::array();
  std::size_t i = 0;
  for (std::int64_t g : group_sizes) {
    json group = json::array();
    for (std::int64_t j = 0; j < g; ++j) group.push_back(static_cast<T>(values[i++]));
    out.push_back(group);
  }
  return out;
}

json stats_json(const algo::AdvantageStats& s) {
  json objectives = json::object();
  for (const auto& o : s.objectives) {
    objectives[o.name] = {{"raw_mean", o.raw_mean},
                          {"raw_std", o.raw_std},
                          {"valid_fraction", o.valid_fraction},
                          {"masked_fraction", o.masked_fraction}};
  }
  return {{"objectives", objectives},
          {"advantage", {{"mean", s.mean}, {"std", s.std}, {"min", s.min}, {"max", s.max}}}};
}

void run_advantage(bool with_stats) {
  std::stringstream ss;
  ss << std::cin.rdbuf();
  json in;
  try {
    in = json::parse(ss.str());
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number beyond a double (1e400)
    usage_fail("inspect advantage: stdin is not valid JSON ({})\n{}", e.what(), kHint);
  }
  Parsed p = parse(in);
  auto comm = dist::single_process_communicator();
  algo::AdvantageResult r =
      algo::advantages_from_rewards(p.rewards, p.lengths, p.group_sizes, p.mask, p.options, *comm);
  json out = {{"advantages", per_group(r.advantages, p.group_sizes)}, {"masked", json::object()}};
  for (std::size_t k = 0; k < p.rewards.size(); ++k) {
    const auto& listed = p.mask.objectives;
    if (std::find(listed.begin(), listed.end(), p.rewards[k].name) == listed.end()) continue;
    out["masked"][p.rewards[k].name] =
        per_group(std::vector<bool>(r.masked[k].begin(), r.masked[k].end()), p.group_sizes);
  }
  if (with_stats) out["stats"] = stats_json(r.stats);
  std::cout << out.dump() << "\n";
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto* inspect = app.add_subcommand("inspect", "Check the reward arithmetic by hand (advantages, length mask)");
  inspect->require_subcommand(1);
  auto* advantage = inspect->add_subcommand(
      "advantage",
      "Read groups of rewards as JSON on stdin, print GDPO/GRPO advantages and length-mask flags as JSON.\n"
      "in:  {\"mode\":\"gdpo\"|\"grpo\", \"eps\":1e-6, \"batch_normalize\":true, \"weights\":{\"correctness\":1.0},\n"
      "      \"length_mask\":{\"objectives\":[\"linguistic\"], \"min_ratio\":0.5, \"max_ratio\":2.0,\n"
      "                     \"mask_mode\":\"zero\"|\"exclude\"|\"linear\", \"masked_value\":0.0, \"linear_coef\":1.0,\n"
      "                     \"min_tokens\":8, "
      "\"max_tokens\":256},\n"
      "      \"groups\":[{\"reference_tokens\":40, \"samples\":[{\"tokens\":35, "
      "\"rewards\":{\"correctness\":0.8}}]}]}\n"
      "out: {\"advantages\":[[a_11, a_12, ...], ...], \"masked\":{\"linguistic\":[[false, true, ...], ...]}}\n"
      "Missing fields take these defaults; a missing or null reward is invalid (no score).");
  auto with_stats = std::make_shared<bool>(false);
  advantage->add_flag("--stats", *with_stats,
                      "Also print per-objective raw mean/std, masked fraction and advantage stats");
  advantage->callback([with_stats] { run_advantage(*with_stats); });
}

}  // namespace balcap::cli

BALCAP_COMMAND(60, inspect);
