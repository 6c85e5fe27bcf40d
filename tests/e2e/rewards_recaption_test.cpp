// `balcap recaption` end to end on the tiny reference VLMs of tests/reference/ref_rewards.py
// (Qwen2.5-VL and LLaVA-1.5, float32, CPU): every record gets the model's greedy caption (the
// transformers generation of the manifest where the prompt matches, else the in-process judge's),
// an endpoint (`balcap serve` on loopback) gives the same captions, a run killed with SIGKILL or
// cut mid-line resumes to the uninterrupted file, bad records are reported and skipped (and retried
// by a rerun, landing in input order), an endpoint that is down stops the run, and shards
// concatenate to the whole.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "parity/rewards_reference.h"
#include "rewards/judge_factories.h"
#include "rewards/recaption.h"
#include "support/serve_process.h"

namespace balcap::rewards {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A record of a test dataset: which reference image, and its own "prompt" field ("" = none).
struct Row {
  std::string image;  // "cat_64x48.png" or "stripes_90x60.png"
  std::string prompt;
};

// The manifest's greedy transformers generation of `model` on an image.
json vision_generation(const std::string& model) {
  for (const json& g : test::rewards_entries("generations", model)) {
    if (!g["image"].is_null()) return g;
  }
  ADD_FAILURE() << "no vision generation for " << model;
  return json::object();
}

// DIR/in.jsonl (ids r000.., references ["old i"], a "source" key) + DIR/images/, then `extra` lines.
fs::path write_dataset(const fs::path& dir, const std::vector<Row>& rows, const std::string& extra = "") {
  fs::create_directories(dir / "images");
  for (const char* name : {"cat_64x48.png", "stripes_90x60.png"}) {
    fs::copy_file(test::reference_path("rewards", std::string("images/") + name), dir / "images" / name,
                  fs::copy_options::overwrite_existing);
  }
  std::string text;
  for (size_t i = 0; i < rows.size(); ++i) {
    json j = {{"id", fmt::format("r{:03d}", i)}, {"image", "images/" + rows[i].image},
              {"references", {fmt::format("old {}", i)}}, {"source", "test"}};
    if (!rows[i].prompt.empty()) j["prompt"] = rows[i].prompt;
    text += j.dump() + "\n";
  }
  test::write_file(dir / "in.jsonl", text + extra);
  return dir / "in.jsonl";
}

// What the in-process judge generates for each row (recaption's prompt rule: the row's prompt
// without "<image>", else the Share-Captioner default).
std::vector<std::string> judge_captions(const std::string& model, const std::vector<Row>& rows, const fs::path& dir,
                                        const std::string& system, int64_t max_new_tokens) {
  config::JudgeConfig config;
  config.kind = "local";
  config.model = test::judge_model_dir(model).string();
  config.device = "cpu";
  config.dtype = "float32";
  auto judge = make_local_judge("expected", config, at::kCPU);
  std::vector<JudgeRequest> requests;
  for (const Row& row : rows) {
    std::string user = row.prompt.empty() ? kShareCaptionerPrompt : row.prompt;
    if (user.rfind("<image>\n", 0) == 0) user = user.substr(8);
    requests.push_back(JudgeRequest{system, user, (dir / "images" / row.image).string()});
  }
  std::vector<std::string> out;
  for (const std::string& text : judge->generate(requests, max_new_tokens)) {
    const size_t b = text.find_first_not_of(" \n"), e = text.find_last_not_of(" \n");
    out.push_back(b == std::string::npos ? "" : text.substr(b, e - b + 1));
  }
  return out;
}

std::vector<json> read_jsonl(const fs::path& path) {
  std::vector<json> out;
  std::istringstream in(test::read_file(path));
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

std::string recaption_args(const std::string& model, const fs::path& in, const fs::path& out,
                           const std::string& extra) {
  return "recaption --model " + test::shell_quote(model) + " --data " + test::shell_quote(in.string()) + " --out " +
         test::shell_quote(out.string()) + " --device cpu --dtype f32 " + extra;
}

// The stdout summary line of a finished run; after a failed run, its keys are null (reading a key a
// const json lacks is undefined behaviour, and ThreadSanitizer caught it reading freed memory).
json summary(const test::CommandResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code == 0) return json::parse(r.out);
  json none = json::object();
  for (const char* key : {"out", "errors", "records", "resumed", "written", "failed"}) none[key] = nullptr;
  return none;
}

void expect_captions(const std::vector<json>& lines, const std::vector<std::string>& captions) {
  ASSERT_EQ(lines.size(), captions.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["id"], fmt::format("r{:03d}", i));
    EXPECT_EQ(lines[i]["references"], json::array({captions[i]})) << i;
    EXPECT_EQ(lines[i]["original_references"], json::array({fmt::format("old {}", i)}));
    EXPECT_EQ(lines[i]["source"], "test");
  }
}

TEST(Recaption, LocalVlmsWriteTheirGreedyCaptionOfEveryRecordAsTransformersDoes) {
  const fs::path scratch = test::scratch_dir();
  for (const std::string model : {"qwen_vl", "llava"}) {
    SCOPED_TRACE(model);
    const json g = vision_generation(model);
    const std::string user = g["user"], system = g["system"];
    const int64_t max_new = g["max_new_tokens"];
    ASSERT_EQ(g["image"], "images/cat_64x48.png");
    // r000 and r003 carry their own prompt (r000 the manifest's, as ShareGPT4V's "<image>\n..." form).
    const std::vector<Row> rows = {{"cat_64x48.png", "<image>\n" + user}, {"stripes_90x60.png", ""},
                                   {"cat_64x48.png", ""}, {"stripes_90x60.png", user}};
    const fs::path dir = scratch / model;
    const fs::path in = write_dataset(dir, rows);
    const json s = summary(test::run_balcap(recaption_args(test::judge_model_dir(model).string(), in, dir / "out.jsonl",
                                                           "--batch 3 --max-new-tokens " + std::to_string(max_new) +
                                                               " --system " + test::shell_quote(system))));
    EXPECT_EQ(s["written"], 4);
    EXPECT_EQ(s["failed"], 0);
    const auto lines = read_jsonl(dir / "out.jsonl");
    expect_captions(lines, judge_captions(model, rows, dir, system, max_new));
    ASSERT_EQ(lines.size(), 4u);
    const std::string transformers = g["text"];
    EXPECT_EQ(lines[0]["references"][0], transformers.substr(transformers.find_first_not_of(' ')));
    EXPECT_EQ(lines[0]["recaption"]["prompt"], user);
    EXPECT_EQ(lines[1]["recaption"]["prompt"], kShareCaptionerPrompt);
    EXPECT_NE(lines[0]["references"], lines[1]["references"]);  // the image matters
  }
}

TEST(Recaption, AnEndpointServingTheModelGivesTheSameCaptionsAndOutInAnotherDirectoryIsAValidDataset) {
  const fs::path dir = test::scratch_dir();
  test::ServeProcess serve(test::judge_model_dir("qwen_vl"), "", dir);
  ASSERT_FALSE(serve.url().empty()) << serve.log();
  const std::vector<Row> rows = {{"cat_64x48.png", ""}, {"stripes_90x60.png", ""}, {"cat_64x48.png", "Describe it."}};
  const fs::path in = write_dataset(dir / "data", rows);
  fs::create_directories(dir / "out");
  const json s = summary(test::run_balcap(recaption_args(serve.url(), in, dir / "out" / "out.jsonl",
                                                         "--max-new-tokens 8 --concurrency 2")));
  EXPECT_EQ(s["written"], 3);
  const auto lines = read_jsonl(dir / "out" / "out.jsonl");
  expect_captions(lines, judge_captions("qwen_vl", rows, dir / "data", "", 8));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["recaption"]["model"], serve.url());
  EXPECT_EQ(lines[0]["image"], "../data/images/cat_64x48.png");  // relative to OUT's directory now
  const auto check = test::run_balcap("data check " + test::shell_quote((dir / "out" / "out.jsonl").string()));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

// Starts `balcap ARGS...` with stdout/stderr to `log`; returns its pid.
pid_t spawn_balcap(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> all = {test::kBalcapBinary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

size_t complete_lines(const fs::path& path) {
  if (!fs::exists(path)) return 0;
  const std::string text = test::read_file(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(Recaption, ResumesAfterSigkillAndAfterATruncatedLastLineToTheUninterruptedFile) {
  const fs::path dir = test::scratch_dir();
  std::vector<Row> rows;
  for (int i = 0; i < 12; ++i) rows.push_back({i % 2 ? "stripes_90x60.png" : "cat_64x48.png", ""});
  const fs::path in = write_dataset(dir, rows);
  const std::string model = test::judge_model_dir("llava").string();
  const std::string flags = "--batch 2 --max-new-tokens 32";
  ASSERT_EQ(summary(test::run_balcap(recaption_args(model, in, dir / "full.jsonl", flags)))["written"], 12);
  const std::string want = test::read_file(dir / "full.jsonl");

  const fs::path out = dir / "out.jsonl";
  const pid_t pid = spawn_balcap({"recaption", "--model", model, "--data", in.string(), "--out", out.string(),
                                  "--device", "cpu", "--dtype", "f32", "--batch", "2", "--max-new-tokens", "32"},
                                 dir / "killed.log");
  ASSERT_GT(pid, 0);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (complete_lines(out) < 2 && ::waitpid(pid, &status, WNOHANG) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before the kill: " << test::read_file(dir / "killed.log");
  const size_t at_kill = complete_lines(out);
  ASSERT_GE(at_kill, 2u);
  ASSERT_LT(at_kill, 12u);
  const json resumed = summary(test::run_balcap(recaption_args(model, in, out, flags)));
  EXPECT_EQ(resumed["resumed"], at_kill);
  EXPECT_EQ(resumed["written"], 12 - at_kill);
  EXPECT_EQ(test::read_file(out), want);  // no duplicates, no gaps, input order

  size_t cut = 0;
  for (int line = 0; line < 5; ++line) cut = want.find('\n', cut) + 1;
  test::write_file(out, want.substr(0, cut + 40));  // 5 records, then a kill mid-write of the 6th
  const auto rerun = test::run_balcap(recaption_args(model, in, out, flags));
  EXPECT_EQ(summary(rerun)["resumed"], 5);
  EXPECT_NE(rerun.err.find("truncated last line"), std::string::npos) << rerun.err;
  EXPECT_EQ(test::read_file(out), want);
}

TEST(Recaption, BadRecordsAreReportedAndSkippedWhileTheOthersAreWritten) {
  const fs::path dir = test::scratch_dir();
  const std::vector<Row> rows = {{"cat_64x48.png", ""}, {"stripes_90x60.png", ""}, {"cat_64x48.png", ""}};
  const fs::path in = write_dataset(dir, rows);
  test::write_file(in, R"({"id": "garbage", "image": "images/garbage.png", "references": []})" "\n"
                       R"({"id": "cut", "image": "images/cut.png", "references": []})" "\n"
                       "{not json\n" + test::read_file(in));  // lines 1-3 bad, then r000..r002
  test::write_file(dir / "images" / "garbage.png", "not an image at all");
  const std::string png = test::read_file(dir / "images" / "stripes_90x60.png");
  test::write_file(dir / "images" / "cut.png", png.substr(0, png.size() / 2));  // header fine, body cut
  const std::string model = test::judge_model_dir("llava").string();
  const auto run = test::run_balcap(recaption_args(model, in, dir / "out.jsonl", "--max-new-tokens 4"));
  const json s = summary(run);
  EXPECT_EQ(s["written"], 3);
  EXPECT_EQ(s["failed"], 3);
  EXPECT_EQ(s["errors"], (dir / "out.jsonl.errors.jsonl").string());
  expect_captions(read_jsonl(dir / "out.jsonl"), judge_captions("llava", rows, dir, "", 4));
  const auto errors = read_jsonl(dir / "out.jsonl.errors.jsonl");
  ASSERT_EQ(errors.size(), 3u);
  std::map<int64_t, json> by_line;
  for (const json& e : errors) by_line[e["line"].get<int64_t>()] = e;
  EXPECT_EQ(by_line[1]["id"], "garbage");
  EXPECT_NE(by_line[1]["reason"].get<std::string>().find("not a PNG or JPEG"), std::string::npos) << by_line[1];
  EXPECT_EQ(by_line[2]["id"], "cut");
  EXPECT_NE(by_line[2]["reason"].get<std::string>().find("does not decode"), std::string::npos) << by_line[2];
  EXPECT_NE(by_line[3]["reason"].get<std::string>().find("bad JSON"), std::string::npos) << by_line[3];
  EXPECT_NE(run.err.find("record 'cut'"), std::string::npos) << run.err;
  // A rerun retries only the failures: they fail again, OUT stays as it was.
  const std::string before = test::read_file(dir / "out.jsonl");
  const json again = summary(test::run_balcap(recaption_args(model, in, dir / "out.jsonl", "--max-new-tokens 4")));
  EXPECT_EQ(again["resumed"], 3);
  EXPECT_EQ(again["failed"], 3);
  EXPECT_EQ(test::read_file(dir / "out.jsonl"), before);
  // Once its image is repaired, the retried record lands in its input place (first), not after r002.
  test::write_file(dir / "images" / "cut.png", png);
  const json fixed = summary(test::run_balcap(recaption_args(model, in, dir / "out.jsonl", "--max-new-tokens 4")));
  EXPECT_EQ(fixed["written"], 1);
  std::vector<std::string> ids;
  for (const json& line : read_jsonl(dir / "out.jsonl")) ids.push_back(line["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"cut", "r000", "r001", "r002"}));
  EXPECT_EQ(read_jsonl(dir / "out.jsonl.errors.jsonl").size(), 2u);
}

TEST(Recaption, AnEndpointThatIsDownStopsTheRunNamingIt) {
  const fs::path dir = test::scratch_dir();
  const fs::path in = write_dataset(dir, {{"cat_64x48.png", ""}, {"cat_64x48.png", ""}, {"cat_64x48.png", ""}});
  const std::string url = "http://127.0.0.1:" + std::to_string(test::free_port()) + "/v1";
  const auto run = test::run_balcap(recaption_args(url, in, dir / "out.jsonl",
                                                   "--max-retries 0 --max-consecutive-failures 2 --batch 1"));
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("the last 2 records in a row failed on " + url), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("HINT"), std::string::npos);
  EXPECT_EQ(read_jsonl(dir / "out.jsonl.errors.jsonl").size(), 2u);
}

TEST(Recaption, ShardsConcatenateToTheWholeRun) {
  const fs::path dir = test::scratch_dir();
  const fs::path in = write_dataset(dir, {{"cat_64x48.png", ""}, {"stripes_90x60.png", ""}, {"cat_64x48.png", ""},
                                          {"stripes_90x60.png", ""}, {"cat_64x48.png", ""}});
  const std::string model = test::judge_model_dir("llava").string();
  const json all = summary(test::run_balcap(recaption_args(model, in, dir / "all.jsonl", "--max-new-tokens 4")));
  ASSERT_EQ(all["written"], 5);
  std::string joined;
  for (int i = 0; i < 3; ++i) {
    const fs::path part = dir / fmt::format("part{}.jsonl", i);
    const json s = summary(test::run_balcap(
        recaption_args(model, in, part, fmt::format("--max-new-tokens 4 --shard {}/3", i))));
    EXPECT_EQ(s["records"], i == 0 ? 1 : 2);  // lines [0, 1), [1, 3), [3, 5)
    joined += test::read_file(part);
  }
  EXPECT_EQ(joined, test::read_file(dir / "all.jsonl"));
  // OUT of another input (here: of all shards) is not resumed into.
  const auto wrong = test::run_balcap(recaption_args(model, in, dir / "all.jsonl", "--shard 1/3"));
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("record 1 (id 'r000') is not a record of this input"), std::string::npos) << wrong.err;
  const auto bad = test::run_balcap(recaption_args(model, in, dir / "x.jsonl", "--shard 3/3"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--shard"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace balcap::rewards
