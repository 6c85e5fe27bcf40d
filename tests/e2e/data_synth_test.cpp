// `balcap data synth` and `balcap data check` end to end: byte-identical output for a seed, PNGs
// that balcap's decoder and PIL read to the same pixels (the scene as rendered), a JSONL that
// passes validation, and claims that match each record's scene.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/dataset.h"
#include "data/scene_claims.h"
#include "data/scene_render.h"
#include "vision/image.h"
#include "support/test_support.h"

namespace balcap::data {
namespace {

namespace fs = std::filesystem;

fs::path synth(const fs::path& out, const std::string& extra) {
  auto r = test::run_balcap("data synth --out " + test::shell_quote(out.string()) + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(DataSynth, SameSeedGivesByteIdenticalFilesAndAnotherSeedDoesNot) {
  fs::path dir = test::scratch_dir();
  auto a = synth(dir / "a", "--n 12 --seed 7 --split-eval 3");
  auto b = synth(dir / "b", "--n 12 --seed 7 --split-eval 3");
  auto c = synth(dir / "c", "--n 12 --seed 8 --split-eval 3");
  auto files = tree(a);
  EXPECT_EQ(files.size(), 12u + 3u + 2u);
  EXPECT_EQ(files, tree(b));
  for (const auto& f : files) EXPECT_EQ(test::read_file(a / f), test::read_file(b / f)) << f;
  EXPECT_NE(test::read_file(a / "train.jsonl"), test::read_file(c / "train.jsonl"));
  // Record i depends only on (seed, split, i): a shorter run is a prefix.
  auto d = synth(dir / "d", "--n 5 --seed 7");
  std::string full = test::read_file(a / "train.jsonl"), prefix = test::read_file(d / "train.jsonl");
  EXPECT_EQ(full.substr(0, prefix.size()), prefix);
}

TEST(DataSynth, PngsDecodeToTheRenderedSceneWithBalcapAndWithPil) {
  fs::path dir = synth(test::scratch_dir() / "s", "--n 6 --seed 3 --size 56");
  auto ds = load_dataset(dir / "train.jsonl", LoadOptions{OnBadRecord::kFail, 0, true});
  ASSERT_EQ(ds.records.size(), 6u);
  // PIL writes each image's RGB bytes to <png>.rgb.
  std::string script =
      "import sys, pathlib\nfrom PIL import Image\n"
      "for p in sorted(pathlib.Path(sys.argv[1]).glob('*.png')):\n"
      "    im = Image.open(p)\n    assert im.mode == 'RGB' and im.size == (56, 56), (p, im.mode, im.size)\n"
      "    pathlib.Path(str(p) + '.rgb').write_bytes(im.tobytes())\n";
  test::write_file(dir / "pil.py", script);
  auto r = test::run_command(std::string(test::kPython) + " " + test::shell_quote((dir / "pil.py").string()) + " " +
                             test::shell_quote((dir / "images").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& rec : ds.records) {
    vision::Image decoded = vision::decode_image_file(rec.image);
    vision::Image rendered = render_scene(scene_from_json(rec.scene));
    EXPECT_EQ(decoded.width, 56);
    EXPECT_EQ(decoded.rgb, rendered.rgb) << rec.id;
    std::string pil = test::read_file(rec.image.string() + ".rgb");
    EXPECT_EQ(pil, std::string(decoded.rgb.begin(), decoded.rgb.end())) << rec.id;
  }
}

TEST(DataSynth, OutputPassesValidationAndEveryClaimMatchesItsScene) {
  fs::path dir = synth(test::scratch_dir() / "s", "--n 40 --seed 11 --split-eval 10");
  auto check = test::run_balcap("data check " + test::shell_quote((dir / "eval.jsonl").string()));
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find("10 records read, 10 good, 0 bad"), std::string::npos) << check.out;
  LoadOptions strict{OnBadRecord::kFail, 0, true};
  auto ds = load_dataset(dir / "train.jsonl", strict);
  ASSERT_EQ(ds.records.size(), 40u);
  for (const auto& rec : ds.records) {
    Scene scene = scene_from_json(rec.scene);
    auto truth = scene_claims(scene);
    ASSERT_EQ(rec.claims.size(), truth.size()) << rec.id;
    for (size_t i = 0; i < truth.size(); ++i) {
      EXPECT_TRUE(claim_holds(scene, truth[i]));
      EXPECT_EQ(rec.claims[i], claim_sentence(scene, truth[i])) << rec.id;
    }
    EXPECT_EQ(rec.references.size(), 3u);
    EXPECT_EQ(rec.qa.size(), scene.questions.size());
    EXPECT_GE(rec.qa.size(), 1u);
  }
}

TEST(DataSynth, CheckReportsBadLinesWithNumbersAndExitsNonZero) {
  fs::path dir = synth(test::scratch_dir() / "s", "--n 2 --seed 1");
  std::string text = test::read_file(dir / "train.jsonl") + "{\"id\": \"x\"}\n";
  test::write_file(dir / "broken.jsonl", text);
  auto r = test::run_balcap("data check " + test::shell_quote((dir / "broken.jsonl").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("broken.jsonl:3: record 'x': missing \"image\""), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("HINT"), std::string::npos) << r.err;
  auto bad_size =
      test::run_balcap("data synth --out " + test::shell_quote((dir / "t").string()) + " --n 2 --seed 1 --size 8");
  EXPECT_EQ(bad_size.exit_code, 1);
  EXPECT_NE(bad_size.err.find("--size 8"), std::string::npos) << bad_size.err;
  auto not_a_dir = test::run_balcap("data synth --out " + test::shell_quote((dir / "train.jsonl").string()) +
                                    " --n 2 --seed 1");
  EXPECT_EQ(not_a_dir.exit_code, 1);
  EXPECT_NE(not_a_dir.err.find("cannot create"), std::string::npos) << not_a_dir.err;
}

}  // namespace
}  // namespace balcap::data
