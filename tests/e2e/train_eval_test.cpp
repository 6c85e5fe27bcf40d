// `balcap eval` (train/evaluate.h): the reported numbers are the scene scorers applied to the
// captions it reports. A random tiny policy (`balcap model init`) captions a 4-record synthetic
// held-out set; every sample's scores are recomputed here with the scene objectives directly,
// and the summary (objective means, weighted balanced mean, length ratio) recomputed by hand.
// score_samples is also checked on known captions (the references), where the scores are not 0.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "config/load.h"
#include "data/dataset.h"
#include "data/scene_claims.h"
#include "data/scene_grammar.h"
#include "rewards/judge_factories.h"
#include "train/evaluate.h"
#include "support/eval_fixture.h"
#include "support/test_support.h"

namespace balcap::test {
namespace {

// The demo's three scene objectives with unequal weights (so the balanced mean is weighted).
const char* kRewards =
    "rewards:\n  objectives:\n"
    "    correctness: {scorer: claim_precision, judge: scene, weight: 2.0}\n"
    "    coverage: {scorer: claim_recall, judge: scene, weight: 1.0}\n"
    "    linguistic: {scorer: judge_rating, judge: scene, weight: 1.0}\n"
    "  judges:\n    scene: {kind: scene}\n";

using test::EvalFixture;

EvalFixture make_fixture(const std::string& name) { return test::make_eval_fixture(name, 4, kRewards); }

// Scores of one caption by the scene objectives built directly (not through evaluate).
std::map<std::string, nlohmann::json> direct_scores(const config::Config& cfg, const data::Record& record,
                                                     const std::string& caption, std::int64_t tokens) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& [name, objective] : cfg.rewards.objectives) {
    auto scorer = rewards::make_scene_objective(name, objective, cfg.rewards);
    const rewards::ObjectiveScores s = scorer->score({{&record, caption, tokens}});
    out[name] = s.valid.at(0) ? nlohmann::json(s.score.at(0)) : nlohmann::json(nullptr);
  }
  return out;
}

const data::Record& record_by_id(const data::Dataset& d, const std::string& id) {
  for (const auto& r : d.records) {
    if (r.id == id) return r;
  }
  throw std::runtime_error("no record " + id);
}

TEST(EvalCli, ReportedScoresAreTheSceneScorersOnTheReportedCaptions) {
  const EvalFixture f = make_fixture("eval_cli");
  const fs::path out = f.dir / "eval.json";
  CommandResult r = run_balcap("eval --config " + shell_quote(f.cfg.string()) + " --samples 2 --out " +
                               shell_quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(read_file(out));
  EXPECT_EQ(nlohmann::json::parse(r.out), j);  // stdout = the file

  const config::Config cfg = config::load_config(f.cfg.string(), {});
  const data::Dataset d = data::load_dataset(f.eval_data, cfg.data);
  ASSERT_EQ(j.at("samples").size(), 8u);  // 4 images x K = 2
  std::map<std::string, double> sum;
  std::map<std::string, int> valid;
  double tokens = 0, refs = 0;
  for (const auto& s : j.at("samples")) {
    const data::Record& rec = record_by_id(d, s.at("id"));
    const auto expected = direct_scores(cfg, rec, s.at("caption"), s.at("tokens"));
    for (const auto& [name, value] : expected) {
      EXPECT_EQ(s.at("scores").at(name), value) << name << " of " << s.dump();
      if (!value.is_null()) sum[name] += value.get<double>(), ++valid[name];
    }
    EXPECT_LE(s.at("tokens").get<int>(), 6);
    tokens += s.at("tokens").get<double>();
    refs += s.at("reference_tokens").get<double>();
  }
  double weighted = 0;
  const std::map<std::string, double> weight{{"correctness", 2.0}, {"coverage", 1.0}, {"linguistic", 1.0}};
  for (const auto& [name, w] : weight) {
    const double mean = valid[name] ? sum[name] / valid[name] : 0.0;
    EXPECT_NEAR(j.at(name).get<double>(), mean, 1e-12) << name;
    weighted += w * mean;
  }
  EXPECT_NEAR(j.at("balanced").get<double>(), weighted / 4.0, 1e-12);
  EXPECT_NEAR(j.at("length_ratio").get<double>(), tokens / refs, 1e-12);
  EXPECT_GT(refs, 0);
}

TEST(EvalCli, GreedyIsDeterministicAndOneCaptionPerImage) {
  const EvalFixture f = make_fixture("eval_greedy");
  CommandResult a = run_balcap("eval --config " + shell_quote(f.cfg.string()));
  CommandResult b = run_balcap("eval --config " + shell_quote(f.cfg.string()) + " --greedy");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(nlohmann::json::parse(a.out).at("samples").size(), 4u);
}

TEST(EvalCli, NoEvalDataNamesTheKey) {
  const EvalFixture f = make_fixture("eval_nodata");
  CommandResult r = run_balcap("eval --config " + shell_quote(f.cfg.string()) + " --set data.eval=''");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("data.eval"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HINT"), std::string::npos) << r.err;
}

// Known captions (a record's own references, and nonsense): the summary of score_samples is
// the weighted mean of the direct scene scores, and a reference scores well.
TEST(EvalScore, ReferencesScoreHighAndTheSummaryIsTheWeightedMean) {
  const EvalFixture f = make_fixture("eval_score");
  const config::Config cfg = config::load_config(f.cfg.string(), {});
  const data::Dataset d = data::load_dataset(f.eval_data, cfg.data);
  train::EvalReport report;
  std::vector<const data::Record*> records;
  for (const auto& rec : d.records) {
    report.samples.push_back({rec.id, 0, rec.references.back(), 40, 30.0, {}});
    records.push_back(&rec);
    report.samples.push_back({rec.id, 1, "zebra zebra zebra", 3, 30.0, {}});
    records.push_back(&rec);
  }
  train::score_samples(cfg, records, at::kCPU, report);
  double weighted = 0;
  for (const auto& [name, w] : std::map<std::string, double>{{"correctness", 2.0}, {"coverage", 1.0}, {"linguistic", 1.0}}) {
    double sum = 0;
    int n = 0;
    for (std::size_t i = 0; i < report.samples.size(); ++i) {
      const auto direct = direct_scores(cfg, *records[i], report.samples[i].caption, report.samples[i].tokens);
      const auto& got = report.samples[i].scores.at(name);
      ASSERT_EQ(got.has_value(), !direct.at(name).is_null());
      if (got) {
        EXPECT_EQ(*got, direct.at(name).get<double>());
        sum += *got, ++n;
      }
    }
    EXPECT_NEAR(report.mean.at(name), n ? sum / n : 0.0, 1e-12);
    weighted += w * report.mean.at(name);
  }
  EXPECT_NEAR(report.balanced, weighted / 4.0, 1e-12);
  // The headline b-CapScore: the harmonic mean of the three means (hand formula), per sample too.
  const double p = report.mean.at("correctness"), r = report.mean.at("coverage"), l = report.mean.at("linguistic");
  ASSERT_TRUE(report.b_capscore.has_value());
  EXPECT_NEAR(*report.b_capscore, 3.0 / (1.0 / p + 1.0 / r + 1.0 / l), 1e-12);
  const auto& s0 = report.samples[0].scores;
  ASSERT_TRUE(report.samples[0].b_capscore.has_value());
  EXPECT_NEAR(*report.samples[0].b_capscore,
              3.0 / (1.0 / *s0.at("correctness") + 1.0 / *s0.at("coverage") + 1.0 / *s0.at("linguistic")), 1e-12);
  EXPECT_EQ(*report.samples[1].b_capscore, 0.0);  // nonsense: no claim, precision 0 -> b-CapScore 0
  EXPECT_NEAR(report.length_ratio, (40.0 + 3.0) / 60.0, 1e-12);
  // The longest reference states every claim: recall 1; precision 1 but for its commentary sentence
  // when it has one (true, not pointable: the pointability test fails it).
  const auto claims = data::parse_caption(report.samples[0].caption).claims;
  const auto commentary = std::count_if(claims.begin(), claims.end(), [](const data::Claim& c) { return !data::claim_pointable(c); });
  EXPECT_EQ(*report.samples[0].scores.at("correctness"),
            1.0 - static_cast<double>(commentary) / static_cast<double>(claims.size()));
  EXPECT_EQ(*report.samples[0].scores.at("coverage"), 1.0);
}

}  // namespace
}  // namespace balcap::test
