// `balcap eval` for the field (issue 16): the scorecard on a hand-checked set, the benchmark
// exports read back with each benchmark's reader logic, progress lines, and --compare on two
// tiny checkpoints.
//
// The readers are re-implemented here from the benchmarks' published scripts (docs/eval.md):
//   DCScore   MAGAer13/DeCapBench eval/evaluation_decapbench.py: load_jsonl(caption_file), per line
//             oracle_facts_map[line["image_path"]] (the annotation file keyed by "image_name"),
//             line["caption"], line["oracle_caption"], os.path.join(image_dir, line["image_path"]);
//   CaptionQA bronyayang/CaptionQA qa.py: captions = json.load(f); for each dataset entry,
//             captions[str(entry["id"])];
//   CapArena  njucckevin/CapArena caparena_auto_eval.py: test_model_data = json.load(f); for each
//             img_filename of caparena_auto_600.json, test_model_data[img_filename].
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/load.h"
#include "data/dataset.h"
#include "support/eval_fixture.h"
#include "support/test_support.h"
#include "train/eval_compare.h"
#include "train/eval_scorecard.h"
#include "train/evaluate.h"

namespace balcap::test {
namespace {

const char* kRewards =
    "rewards:\n  objectives:\n"
    "    correctness: {scorer: claim_precision, judge: scene}\n"
    "    coverage: {scorer: claim_recall, judge: scene}\n"
    "    linguistic: {scorer: judge_rating, judge: scene}\n"
    "  judges:\n    scene: {kind: scene}\n";

using Fixture = test::EvalFixture;

// `eval_n` synthetic held-out scenes, a random tiny Qwen2.5-VL (seed 0), a config with the scene judge.
Fixture make_fixture(const std::string& name, int eval_n) { return test::make_eval_fixture(name, eval_n, kRewards); }

std::vector<nlohmann::json> read_jsonl(const fs::path& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// ---- The scorecard on a hand-checked set -------------------------------------------------------

// One hand-written scene: a small red circle in the top left, a large blue square in the center,
// plain gray background. Its 10 claims: background colour + style; per object count, size,
// position; red circle left of and above the blue square. Questions: how many red circles (one),
// what size is the blue square (large).
std::string hand_record(const fs::path& image) {
  nlohmann::json scene = {
      {"size", 84},
      {"background", {{"colour", "gray"}, {"style", "plain"}, {"noise_seed", "0"}}},
      {"objects",
       {{{"colour", "red"}, {"shape", "circle"}, {"size", "small"}, {"cell", "top left"}, {"dx", 0}, {"dy", 0}},
        {{"colour", "blue"}, {"shape", "square"}, {"size", "large"}, {"cell", "center"}, {"dx", 0}, {"dy", 0}}}},
      {"qa",
       {{{"ask", "count"}, {"colour", "red"}, {"shape", "circle"}},
        {{"ask", "size"}, {"colour", "blue"}, {"shape", "square"}}}}};
  nlohmann::json record = {
      {"id", "hand-1"},
      {"image", image.string()},
      {"references",
       {"A small red circle in the top left and a large blue square in the center, plain gray background."}},
      {"qa",
       {{{"question", "How many red circles are there?"}, {"choices", {"one", "two", "three", "four"}}, {"answer", 0}},
        {{"question", "What size is the blue square?"}, {"choices", {"small", "large"}}, {"answer", 1}}}},
      {"scene", scene}};
  return record.dump() + "\n";
}

// Captions and their scores by hand (scene scorers, pointability on):
//   c0 "There is a small red circle in the top left."  claims: count 1, size, position (all true)
//      p = 3/3, r = 3/10, l = 1, b = 3/(1 + 10/3 + 1) = 9/16; QA: count right, size open -> 1/2
//   c1 "There is a green triangle."  one false claim: p = 0, r = 0, l = 1, b = 0; QA 0
//   c2 "The scene feels calm. There is a large blue square in the center."  commentary (true but
//      not pointable: fails) + 3 true claims: p = 3/4, r = 3/10, l = 1, b = 3/(4/3 + 10/3 + 1) = 9/17;
//      QA: size right -> 1/2
// Means: precision 7/12, coverage 1/5, linguistic 1, b-CapScore 3/(12/7 + 5 + 1) = 7/18, QA 1/3;
// tokens 10 + 5 + 13 over references 3 x 10: length ratio 28/30, mean 28/3.
TEST(EvalScorecard, HandCheckedSetGivesTheHandNumbers) {
  const fs::path dir = scratch_dir() / "scorecard";
  fs::remove_all(dir);
  ASSERT_EQ(run_balcap("data synth --out " + shell_quote((dir / "data").string()) + " --n 1 --split-eval 1 --seed 1")
                .exit_code,
            0);
  const fs::path jsonl = dir / "hand.jsonl";
  write_file(jsonl, hand_record(dir / "data" / "images" / "eval-000000.png"));
  write_file(dir / "cfg.yaml", "model:\n  path: unused\ndata:\n  train: '" + jsonl.string() + "'\n  eval: '" +
                                   jsonl.string() + "'\n" + kRewards);
  const config::Config cfg = config::load_config((dir / "cfg.yaml").string(), {});
  const data::Dataset d = data::load_dataset(jsonl, cfg.data);
  ASSERT_EQ(d.records.size(), 1u);
  const std::vector<std::pair<std::string, std::int64_t>> captions = {
      {"There is a small red circle in the top left.", 10},
      {"There is a green triangle.", 5},
      {"The scene feels calm. There is a large blue square in the center.", 13}};
  train::EvalReport report;
  std::vector<const data::Record*> records;
  for (std::size_t i = 0; i < captions.size(); ++i) {
    report.samples.push_back({"hand-1", static_cast<std::int64_t>(i), captions[i].first, captions[i].second, 10.0, {}});
    records.push_back(&d.records[0]);
  }
  report.images = 1;
  train::score_samples(cfg, records, at::kCPU, report);

  const double b0 = 9.0 / 16.0, b2 = 9.0 / 17.0;
  EXPECT_NEAR(*report.samples[0].b_capscore, b0, 1e-12);
  EXPECT_EQ(*report.samples[1].b_capscore, 0.0);
  EXPECT_NEAR(*report.samples[2].b_capscore, b2, 1e-12);
  EXPECT_EQ(*report.samples[0].qa, 0.5);
  EXPECT_EQ(*report.samples[1].qa, 0.0);
  EXPECT_EQ(*report.samples[2].qa, 0.5);
  EXPECT_EQ(report.objectives,
            (std::vector<std::string>{"correctness", "coverage", "linguistic"}));  // QA not in balanced

  const train::Scorecard card = train::make_scorecard(report);
  EXPECT_NEAR(*card.precision, 7.0 / 12.0, 1e-12);
  EXPECT_NEAR(*card.coverage, 0.2, 1e-12);
  EXPECT_NEAR(*card.linguistic, 1.0, 1e-12);
  EXPECT_NEAR(*card.b_capscore, 7.0 / 18.0, 1e-12);
  EXPECT_NEAR(*card.qa_accuracy, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(card.length_ratio, 28.0 / 30.0, 1e-12);
  EXPECT_NEAR(card.caption_tokens_mean, 28.0 / 3.0, 1e-12);
  EXPECT_EQ(card.captions, 3);
  const std::string table = train::format_scorecard(card);
  for (const char* row :
       {"precision                0.5833", "coverage                 0.2000", "b-CapScore               0.3889",
        "QA accuracy              0.3333", "length ratio              0.933", "caption tokens (mean)       9.3",
        "images: 1, captions: 3"}) {
    EXPECT_NE(table.find(row), std::string::npos) << row << "\n" << table;
  }
  // The report's JSON carries the same scorecard, and reads back through --compare's reader.
  const nlohmann::json j = train::to_json(report);
  EXPECT_EQ(j.at("scorecard"), train::to_json(card));
  EXPECT_EQ(train::to_json(train::scorecard_from_report(j, "report")), train::to_json(card));

  // --no-qa: no judge answers the questions; the other numbers stay.
  train::EvalReport no_qa = report;
  train::score_samples(cfg, records, at::kCPU, no_qa, {false, 2});
  EXPECT_FALSE(no_qa.qa_accuracy.has_value());
  EXPECT_NEAR(*no_qa.b_capscore, 7.0 / 18.0, 1e-12);
}

// ---- Exports -----------------------------------------------------------------------------------

// The member-0 caption of each record id in an eval report.
std::map<std::string, std::string> first_captions(const nlohmann::json& report) {
  std::map<std::string, std::string> out;
  for (const auto& s : report.at("samples")) {
    if (s.at("member") == 0) out[s.at("id")] = s.at("caption");
  }
  return out;
}

TEST(EvalExport, FilesParseWithEachBenchmarksReader) {
  const Fixture f = make_fixture("eval_export", 2);
  const fs::path out = f.dir / "out";
  const CommandResult r = run_balcap("eval --config " + shell_quote(f.cfg.string()) + " --samples 2 --out " +
                                     shell_quote((f.dir / "eval.json").string()) + " --export dcscore,captionqa" +
                                     " --export caparena --export-dir " + shell_quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Progress with counts (stderr is not a terminal: log lines), then the scorecard table.
  EXPECT_NE(r.err.find("eval captioning 2/2 (100%)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("eval scoring 4/4 (100%)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("b-CapScore"), std::string::npos) << r.err;
  const nlohmann::json report = nlohmann::json::parse(read_file(f.dir / "eval.json"));
  EXPECT_EQ(report.at("exports").size(), 3u);
  const auto captions = first_captions(report);
  const data::Dataset d = data::load_dataset(f.eval_data, data::LoadOptions{});
  ASSERT_EQ(captions.size(), d.records.size());

  // DCScore: one line per image; the annotation file of the test is the records (image_name ->
  // oracle caption); every line's image_path is a key of it and a file under the image folder.
  std::map<std::string, std::string> oracle;  // human_annotated_oracle_facts.jsonl: image_name -> oracle_caption
  std::map<std::string, std::string> id_of;
  for (const auto& rec : d.records) {
    oracle[rec.image.filename().string()] = rec.references.front();
    id_of[rec.image.filename().string()] = rec.id;
  }
  const auto lines = read_jsonl(out / "dcscore.jsonl");
  ASSERT_EQ(lines.size(), d.records.size());
  for (const auto& line : lines) {
    const std::string image = line.at("image_path");
    ASSERT_TRUE(oracle.count(image)) << image;
    EXPECT_EQ(line.at("image_name"), image);
    EXPECT_EQ(line.at("oracle_caption"), oracle.at(image));
    EXPECT_EQ(line.at("caption"), captions.at(id_of.at(image)));
    EXPECT_TRUE(fs::exists(f.dir / "data" / "images" / image));
  }
  // CaptionQA: {id: caption}; every dataset entry's id finds its caption.
  const nlohmann::json cqa = nlohmann::json::parse(read_file(out / "captionqa.json"));
  ASSERT_TRUE(cqa.is_object());
  EXPECT_EQ(cqa.size(), d.records.size());
  for (const auto& rec : d.records) EXPECT_EQ(cqa.at(rec.id), captions.at(rec.id));
  // CapArena: {image file name: caption} covering every image of the benchmark's list.
  const nlohmann::json arena = nlohmann::json::parse(read_file(out / "caparena.json"));
  ASSERT_TRUE(arena.is_object());
  EXPECT_EQ(arena.size(), d.records.size());
  for (const auto& rec : d.records) {
    EXPECT_EQ(arena.at(rec.image.filename().string()), captions.at(rec.id));
  }
}

TEST(EvalExport, FolderOfBenchmarkImagesCaptionOnly) {
  const Fixture f = make_fixture("eval_folder", 2);
  const fs::path images = f.dir / "benchmark_images";
  fs::create_directories(images);
  const data::Dataset d = data::load_dataset(f.eval_data, data::LoadOptions{});
  for (std::size_t i = 0; i < 2; ++i) {  // CapArena-style names
    fs::copy_file(d.records[i].image, images / ("test_0000" + std::to_string(i) + ".png"));
  }
  write_file(images / "README.txt", "not an image");
  const std::string base = "eval --config " + shell_quote(f.cfg.string()) + " --data " + shell_quote(images.string()) +
                           " --no-score --export-dir " + shell_quote((f.dir / "x").string());
  const CommandResult r = run_balcap(base + " --export caparena,captionqa");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json report = nlohmann::json::parse(r.out);
  ASSERT_EQ(report.at("samples").size(), 2u);
  EXPECT_TRUE(report.at("b_capscore").is_null());
  EXPECT_TRUE(report.at("scorecard").at("precision").is_null());
  const nlohmann::json arena = nlohmann::json::parse(read_file(f.dir / "x" / "caparena.json"));
  const nlohmann::json cqa = nlohmann::json::parse(read_file(f.dir / "x" / "captionqa.json"));
  for (const auto& s : report.at("samples")) {
    EXPECT_TRUE(s.at("scores").empty());
    const std::string id = s.at("id");  // the file name without its extension
    EXPECT_EQ(arena.at(id + ".png"), s.at("caption"));
    EXPECT_EQ(cqa.at(id), s.at("caption"));
  }
  // DCScore needs each image's human reference: none in a folder -> an error that says how, before
  // any captioning (no progress line), and no file.
  const CommandResult bad = run_balcap(base + " --export dcscore");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("oracle_caption"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("HINT"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find("eval captioning"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(f.dir / "x" / "dcscore.jsonl"));
  const CommandResult unknown = run_balcap(base + " --export coco");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("'coco'"), std::string::npos) << unknown.err;
}

// ---- --compare ---------------------------------------------------------------------------------

nlohmann::json sample(const std::string& id, std::int64_t member, const std::string& caption, nlohmann::json b) {
  return {{"id", id}, {"member", member}, {"caption", caption}, {"b_capscore", b}};
}

// Hand-made reports: the changed captions are ranked by |b_B - b_A|, ties by id; captions without
// a b-CapScore on either side are left out; a report without "scorecard" (written before it
// existed) reads its top-level keys.
TEST(EvalCompare, RanksTheCaptionsThatChangedMost) {
  const nlohmann::json a = {{"correctness", 0.5},
                            {"coverage", 0.25},
                            {"linguistic", 1.0},
                            {"b_capscore", 0.4},
                            {"length_ratio", 1.0},
                            {"caption_tokens_mean", 10.0},
                            {"samples",
                             {sample("x", 0, "A x", 0.5), sample("y", 0, "A y", 0.25), sample("z", 0, "A z", 0.3),
                              sample("w", 0, "A w", nullptr), sample("v", 0, "A v", 0.9)}}};
  nlohmann::json b = a;
  b["scorecard"] = {{"precision", 0.75},          {"coverage", 0.25},   {"linguistic", nullptr},
                    {"b_capscore", 0.5},          {"qa_accuracy", 0.5}, {"length_ratio", 0.5},
                    {"caption_tokens_mean", 5.0}, {"images", 5},        {"captions", 5}};
  b["samples"] = {sample("x", 0, "B x", 0.25), sample("y", 0, "B y", 0.5), sample("z", 0, "B z", 0.3),
                  sample("w", 0, "B w", 0.7), sample("u", 0, "B u", 0.1)};
  const train::EvalComparison c = train::compare_reports(a, "a.json", b, "b.json", 2);
  EXPECT_EQ(c.matched, 3);  // x, y, z (w has no score in A; v and u are on one side only)
  ASSERT_EQ(c.changed.size(), 2u);
  EXPECT_EQ(c.changed[0].id, "x");  // |0.25 - 0.5| = |0.5 - 0.25| (exact): the tie goes to the earlier id
  EXPECT_EQ(c.changed[1].id, "y");
  EXPECT_EQ(c.changed[1].caption_b, "B y");
  const nlohmann::json j = train::to_json(c);
  EXPECT_NEAR(j.at("delta").at("precision").get<double>(), 0.25, 1e-12);
  EXPECT_NEAR(j.at("delta").at("length_ratio").get<double>(), -0.5, 1e-12);
  EXPECT_TRUE(j.at("delta").at("linguistic").is_null());
  EXPECT_TRUE(j.at("a").at("scorecard").at("qa_accuracy").is_null());
  EXPECT_EQ(j.at("a").at("scorecard").at("images"), 5);
  EXPECT_EQ(j.at("changed")[0].at("delta").get<double>(), -0.25);
  const std::string text = train::format_comparison(c);
  EXPECT_NE(text.find("precision                  0.5000    0.7500   +0.2500"), std::string::npos) << text;
  EXPECT_NE(text.find("2 of 3 matched"), std::string::npos) << text;

  // A report from before b-CapScore: the harmonic mean of its three means and of each sample's scores.
  nlohmann::json old = a;
  old.erase("b_capscore");
  old["samples"] = {{{"id", "x"},
                     {"member", 0},
                     {"caption", "old x"},
                     {"scores", {{"correctness", 0.5}, {"coverage", 0.25}, {"linguistic", 1.0}}}}};
  const train::EvalComparison o = train::compare_reports(old, "old.json", b, "b.json", 5);
  EXPECT_NEAR(*o.a.b_capscore, 3.0 / (2.0 + 4.0 + 1.0), 1e-12);
  ASSERT_EQ(o.changed.size(), 1u);
  EXPECT_NEAR(o.changed[0].b_capscore_a, 3.0 / 7.0, 1e-12);
}

// Two tiny checkpoints (random inits, seeds 0 and 1) on 1 image (each eval costs seconds): comparing a checkpoint with
// a report and comparing the two eval reports print and write the same thing; each side's scorecard and changed
// captions are its own eval's.
TEST(EvalCompare, TwoTinyCheckpoints) {
  const Fixture f = make_fixture("eval_compare", 1);
  const fs::path model_b = f.dir / "model_b";
  ASSERT_EQ(run_balcap("model init --template " +
                       shell_quote((fs::path(kSourceDir) / "configs/models/tiny_qwen2_5_vl").string()) +
                       " --tokenizer " + shell_quote(data_path("tokenizers/qwen").string()) + " --seed 1 --out " +
                       shell_quote(model_b.string()))
                .exit_code,
            0);
  const std::string cfg = " --config " + shell_quote(f.cfg.string());
  const fs::path a_json = f.dir / "a.json", b_json = f.dir / "b.json";
  ASSERT_EQ(run_balcap("eval" + cfg + " --out " + shell_quote(a_json.string())).exit_code, 0);
  ASSERT_EQ(
      run_balcap("eval" + cfg + " --model " + shell_quote(model_b.string()) + " --out " + shell_quote(b_json.string()))
          .exit_code,
      0);
  const CommandResult reports =
      run_balcap("eval" + cfg + " --compare " + shell_quote(a_json.string()) + " " + shell_quote(b_json.string()) +
                 " --top 1 --out " + shell_quote((f.dir / "cmp_reports.json").string()));
  ASSERT_EQ(reports.exit_code, 0) << reports.err;
  const CommandResult model =
      run_balcap("eval" + cfg + " --compare " + shell_quote(f.model.string()) + " " + shell_quote(b_json.string()) +
                 " --top 1 --out " + shell_quote((f.dir / "cmp_model.json").string()));
  ASSERT_EQ(model.exit_code, 0) << model.err;

  nlohmann::json from_reports = nlohmann::json::parse(read_file(f.dir / "cmp_reports.json"));
  nlohmann::json from_model = nlohmann::json::parse(read_file(f.dir / "cmp_model.json"));
  const nlohmann::json a = nlohmann::json::parse(read_file(a_json)), b = nlohmann::json::parse(read_file(b_json));
  EXPECT_EQ(from_reports.at("a").at("scorecard"), a.at("scorecard"));
  EXPECT_EQ(from_reports.at("b").at("scorecard"), b.at("scorecard"));
  EXPECT_EQ(from_reports.at("matched"), 1);  // 1 image, greedy
  EXPECT_EQ(from_reports.at("changed").size(), 1u);
  EXPECT_EQ(from_model.at("a").at("source"), f.model.string());
  for (auto* j : {&from_reports, &from_model}) (*j)["a"].erase("source");
  EXPECT_EQ(from_reports, from_model);
  // The printed side-by-side names both sides and has every scorecard row.
  for (const char* row : {"A: ", "B: ", "b-CapScore", "QA accuracy", "length ratio", "changed most"}) {
    EXPECT_NE(model.out.find(row), std::string::npos) << row << "\n" << model.out;
  }
  std::string expected = reports.out;  // the same printout, A named by the model directory
  expected.replace(expected.find(a_json.string()), a_json.string().size(), f.model.string());
  EXPECT_EQ(model.out, expected);
  // Each changed entry is the two reports' own captions and scores for that (id, member).
  for (const auto& x : from_reports.at("changed")) {
    for (const auto* side : {&a, &b}) {
      const auto& samples = side->at("samples");
      const auto it = std::find_if(samples.begin(), samples.end(), [&](const nlohmann::json& s) {
        return s.at("id") == x.at("id") && s.at("member") == x.at("member");
      });
      ASSERT_NE(it, samples.end());
      const auto& mine = side == &a ? x.at("a") : x.at("b");
      EXPECT_EQ(mine.at("caption"), it->at("caption"));
      EXPECT_EQ(mine.at("b_capscore"), it->at("b_capscore"));
    }
  }
}

}  // namespace
}  // namespace balcap::test
