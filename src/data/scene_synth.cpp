// Scene generation, reference texts, questions and the synthetic dataset writer.
#include "data/scene_synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <system_error>

#include "core/error.h"
#include "data/scene_claims.h"
#include "data/scene_questions.h"
#include "data/scene_render.h"
#include "vision/png_encode.h"

namespace balcap::data {
namespace {

// Index into cumulative percentages, e.g. {30, 70, 100}.
int pick(SplitMix64& rng, std::initializer_list<int> cumulative) {
  int u = static_cast<int>(rng.uniform(100)), i = 0;
  for (int c : cumulative) {
    if (u < c) return i;
    ++i;
  }
  return i - 1;
}

template <class T>
void shuffle(std::vector<T>& v, SplitMix64& rng) {  // Fisher-Yates, as epoch_permutation
  for (size_t i = v.size(); i-- > 1;) std::swap(v[i], v[rng.uniform(i + 1)]);
}

std::string capitalise(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// "a, b and c"
std::string join_and(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
  }
  return out;
}

// "two large blue squares"; with `article`, one object is "a small red circle".
std::string group_phrase(const SceneGroup& g, bool article) {
  size_t n = g.cells.size();
  std::string count = n == 1 && article ? indefinite_article(g.size) : number_word(static_cast<int>(n));
  return count + " " + g.size + " " + g.colour + " " + (n == 1 ? g.shape : plural(g.shape));
}

std::string background_phrase(const Scene& s) {
  if (s.background_style == "gradient") return s.background_colour + " gradient background";
  return s.background_style + " " + s.background_colour + " background";
}

std::string definite(const SceneGroup& g) {
  return "the " + g.colour + " " + (g.cells.size() == 1 ? g.shape : plural(g.shape));
}

std::string position_sentence(const SceneGroup& g) {
  std::vector<std::string> places;
  for (size_t i = 0; i < g.cells.size(); ++i) {
    places.push_back(i == 0 ? cell_phrase(g.cells[i]) : "the " + std::string(kCells[g.cells[i]]));
  }
  return capitalise(definite(g)) + (g.cells.size() == 1 ? " is " : " are ") + join_and(places) + ".";
}

std::vector<std::string> relation_sentences(const Scene& scene, const std::vector<SceneGroup>& groups) {
  auto claims = scene_claims(scene);
  std::vector<std::string> out;
  for (const auto& a : groups) {
    for (const auto& b : groups) {
      std::vector<std::string> rels;
      for (const auto& c : claims) {
        if (c.kind == ClaimKind::kRelation && c.colour == a.colour && c.shape == a.shape && c.colour2 == b.colour &&
            c.shape2 == b.shape) {
          rels.push_back(c.value == "left of" ? "to the left of" : "above");
        }
      }
      if (rels.empty()) continue;
      out.push_back(capitalise(definite(a)) + (a.cells.size() == 1 ? " is " : " are ") + join_and(rels) + " " +
                    definite(b) + ".");
    }
  }
  return out;
}

}  // namespace

Scene random_scene(std::uint64_t seed, SynthSplit split, std::int64_t index, int size) {
  SplitMix64 rng(
      splitmix64(splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(split))) ^ static_cast<std::uint64_t>(index)));
  Scene s;
  s.size = size;
  s.background_colour = std::string(kBackgroundColours[rng.uniform(kBackgroundColours.size())]);
  s.background_style = std::string(kBackgroundStyles[rng.uniform(kBackgroundStyles.size())]);
  s.noise_seed = rng.next();
  std::vector<int> cells(kCells.size());
  std::iota(cells.begin(), cells.end(), 0);
  shuffle(cells, rng);
  size_t next_cell = 0;
  int groups = 1 + pick(rng, {30, 70, 100});
  std::vector<std::pair<std::string, std::string>> used;
  for (int g = 0; g < groups; ++g) {
    std::pair<std::string, std::string> kind;
    do {
      kind = {std::string(kObjectColours[rng.uniform(kObjectColours.size())]),
              std::string(kShapes[rng.uniform(kShapes.size())])};
    } while (std::find(used.begin(), used.end(), kind) != used.end());
    used.push_back(kind);
    std::string obj_size(kSizes[rng.uniform(kSizes.size())]);
    int count = 1 + pick(rng, {65, 90, 100});
    int m = max_offset(size, obj_size);
    for (int k = 0; k < count; ++k) {
      int dx = static_cast<int>(rng.uniform(2 * m + 1)) - m;
      int dy = static_cast<int>(rng.uniform(2 * m + 1)) - m;
      s.objects.push_back({kind.first, kind.second, obj_size, cells[next_cell++], dx, dy});
    }
  }
  return s;
}

std::string scene_commentary(const Scene& scene) {
  SplitMix64 rng(splitmix64(scene.noise_seed ^ 0xC0FFEEULL));  // its own stream: the scene stays as it was
  if (rng.uniform(3) != 0) return "";
  const std::string_view subject = kCommentarySubjects[rng.uniform(kCommentarySubjects.size())];
  const std::string_view verb = kCommentaryVerbs[rng.uniform(kCommentaryVerbs.size())];
  const std::string_view word = kCommentaryWords[rng.uniform(kCommentaryWords.size())];
  return fmt::format("The {} {} {}.", subject, verb, word);
}

std::vector<std::string> scene_references(const Scene& scene) {
  auto groups = scene_groups(scene);
  std::vector<std::string> terse, listed;
  for (const auto& g : groups) {
    terse.push_back(group_phrase(g, false));
    listed.push_back(group_phrase(g, true));
  }
  terse.push_back(background_phrase(scene));
  std::string terse_text;
  for (const auto& t : terse) terse_text += (terse_text.empty() ? "" : ", ") + t;
  std::string there = groups.front().cells.size() == 1 ? "There is " : "There are ";
  std::string bg = indefinite_article(background_phrase(scene)) + " " + background_phrase(scene);
  std::string paragraph = "The image shows " + join_and(listed) + " on " + bg + ".";
  for (const auto& g : groups) paragraph += " " + position_sentence(g);
  for (const auto& r : relation_sentences(scene, groups)) paragraph += " " + r;
  const std::string commentary = scene_commentary(scene);
  if (!commentary.empty()) paragraph += " " + commentary;
  return {capitalise(terse_text) + ".", there + join_and(listed) + " on " + bg + ".", paragraph};
}

nlohmann::json scene_record(const std::string& id, const std::string& image, const Scene& scene,
                            const std::vector<QaItem>& qa) {
  nlohmann::json questions = nlohmann::json::array(), claims = nlohmann::json::array();
  for (const auto& q : qa)
    questions.push_back({{"question", q.question}, {"choices", q.choices}, {"answer", q.answer}});
  for (const auto& c : scene_claims(scene)) claims.push_back(claim_sentence(scene, c));
  return {{"id", id},        {"image", image},   {"references", scene_references(scene)},
          {"qa", questions}, {"claims", claims}, {"scene", scene_to_json(scene)}};
}

SynthResult synth_dataset(const SynthOptions& o) {
  BALCAP_CHECK(o.n >= 1 && o.n <= 10'000'000, "data synth: --n {} is out of range. HINT: pass 1..10000000", o.n);
  BALCAP_CHECK(o.n_eval >= 0 && o.n_eval <= 10'000'000,
               "data synth: --split-eval {} is out of range. HINT: pass "
               "0..10000000",
               o.n_eval);
  BALCAP_CHECK(o.size >= 24 && o.size <= 1024,
               "data synth: --size {} is out of range. HINT: pass 24..1024 pixels "
               "(84 = 3 x 28: one Qwen2.5-VL merged token per cell)",
               o.size);
  std::error_code ec;
  std::filesystem::create_directories(o.out / "images", ec);
  BALCAP_CHECK(!ec, "data synth: cannot create {}: {}. HINT: pass an --out directory that can be created",
               (o.out / "images").string(), ec.message());
  SynthResult result;
  auto write_split = [&](SynthSplit split, std::int64_t n, const char* name) {
    auto path = o.out / (std::string(name) + ".jsonl");
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    BALCAP_CHECK(out, "data synth: cannot create {}. HINT: check that --out is writable", path.string());
    for (std::int64_t i = 0; i < n; ++i) {
      Scene scene = random_scene(o.seed, split, i, o.size);
      SplitMix64 qa_rng(splitmix64(scene.noise_seed));
      auto qa = make_questions(scene, qa_rng);
      std::string id = fmt::format("{}-{:06d}", name, i);
      std::string image = "images/" + id + ".png";
      vision::write_png_file(o.out / image, render_scene(scene));
      out << scene_record(id, image, scene, qa).dump() << "\n";
    }
    BALCAP_CHECK(out.good(), "data synth: short write to {} (disk full?). HINT: free space and retry", path.string());
    return path;
  };
  result.train = write_split(SynthSplit::kTrain, o.n, "train");
  if (o.n_eval > 0) result.eval = write_split(SynthSplit::kEval, o.n_eval, "eval");
  return result;
}

}  // namespace balcap::data
