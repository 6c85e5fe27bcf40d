// Synthetic scenes: the grammar reads hand-written captions as documented (docs/data.md), the
// generated texts state exactly the scene's claims, and the rendered image shows the scene.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "data/scene.h"
#include "data/scene_claims.h"
#include "data/scene_grammar.h"
#include "data/scene_render.h"
#include "data/scene_synth.h"

namespace balcap::data {
namespace {

using K = ClaimKind;

Claim claim(K kind, std::string colour, std::string shape, std::string value, std::string colour2 = "",
            std::string shape2 = "") {
  return {kind, std::move(colour), std::move(shape), std::move(value), std::move(colour2), std::move(shape2)};
}

// Gray plain background; a small red circle top left; two large blue squares bottom left and centre.
Scene hand_scene() {
  Scene s;
  s.background_colour = "gray";
  s.objects = {
      {"red", "circle", "small", 0, 0, 0}, {"blue", "square", "large", 6, 0, 0}, {"blue", "square", "large", 4, 0, 0}};
  return s;
}

std::set<Claim> as_set(const std::vector<Claim>& v) { return {v.begin(), v.end()}; }

TEST(DataScene, ClaimsOfAHandMadeSceneAreExactlyTheDocumentedSet) {
  auto claims = as_set(scene_claims(hand_scene()));
  std::set<Claim> expected = {
      claim(K::kBackgroundColour, "", "", "gray"), claim(K::kBackgroundStyle, "", "", "plain"),
      claim(K::kCount, "red", "circle", "1"), claim(K::kSize, "red", "circle", "small"),
      claim(K::kPosition, "red", "circle", "top left"), claim(K::kCount, "blue", "square", "2"),
      claim(K::kSize, "blue", "square", "large"), claim(K::kPosition, "blue", "square", "bottom left"),
      claim(K::kPosition, "blue", "square", "center"),
      // red (row 0) is above both squares (rows 1, 2); not left of them (a square shares column 0)
      claim(K::kRelation, "red", "circle", "above", "blue", "square")};
  EXPECT_EQ(claims, expected);
}

TEST(DataScene, GrammarReadsCountsSizesPlacesAndBackgroundFromAnEnumeration) {
  auto c = parse_caption(
      "There is a small red circle in the top left corner and two big blue squares "
      "on a plain grey background.");
  ASSERT_EQ(c.sentences.size(), 1u);
  EXPECT_TRUE(c.sentences[0].grammatical());
  EXPECT_EQ(as_set(c.claims),
            (std::set<Claim>{claim(K::kCount, "red", "circle", "1"), claim(K::kSize, "red", "circle", "small"),
                             claim(K::kPosition, "red", "circle", "top left"), claim(K::kCount, "blue", "square", "2"),
                             claim(K::kSize, "blue", "square", "large"), claim(K::kBackgroundStyle, "", "", "plain"),
                             claim(K::kBackgroundColour, "", "", "gray")}));
}

TEST(DataScene, GrammarNormalisesRightOfAndBelowToLeftOfAndAbove) {
  auto c = parse_caption("The blue squares are below the red circle. The red circle is right of the green diamond.");
  EXPECT_EQ(c.claims, (std::vector<Claim>{claim(K::kRelation, "red", "circle", "above", "blue", "square"),
                                          claim(K::kRelation, "green", "diamond", "left of", "red", "circle")}));
  EXPECT_TRUE(c.sentences[0].grammatical());
  auto both = parse_caption("The red circle is to the left of and above the small blue square.");
  EXPECT_EQ(as_set(both.claims), (std::set<Claim>{claim(K::kSize, "blue", "square", "small"),
                                                  claim(K::kRelation, "red", "circle", "left of", "blue", "square"),
                                                  claim(K::kRelation, "red", "circle", "above", "blue", "square")}));
}

TEST(DataScene, IndefiniteSubjectStatesExistenceAndPlaceButNoCount) {
  auto c = parse_caption("A blue square is in the center. The background is a gray gradient.");
  EXPECT_EQ(c.claims,
            (std::vector<Claim>{
                claim(K::kExists, "blue", "square", ""), claim(K::kPosition, "blue", "square", "center"),
                claim(K::kBackgroundColour, "", "", "gray"), claim(K::kBackgroundStyle, "", "", "gradient")}));
}

TEST(DataScene, AgreementCapitalsAndFinalStopDecideGrammaticality) {
  EXPECT_TRUE(parse_caption("There are two red circles.").sentences[0].grammatical());
  EXPECT_FALSE(parse_caption("There are a red circle.").sentences[0].grammatical());
  EXPECT_FALSE(parse_caption("There is two red circles.").sentences[0].grammatical());
  EXPECT_FALSE(parse_caption("There is an red circle.").sentences[0].grammatical());
  EXPECT_TRUE(parse_caption("There is an orange circle.").sentences[0].grammatical());
  EXPECT_FALSE(parse_caption("The red circles is small.").sentences[0].grammatical());
  EXPECT_FALSE(parse_caption("there is a red circle.").sentences[0].grammatical());
  auto cut = parse_caption("There is a red circ");
  EXPECT_FALSE(cut.sentences[0].terminated);
  EXPECT_FALSE(cut.sentences[0].grammatical());
}

TEST(DataScene, ClausesThatParseStillGiveClaimsInsideAnUngrammaticalSentence) {
  auto c = parse_caption("There is a red circle, a dog on a sofa, and the background is black.");
  EXPECT_FALSE(c.sentences[0].parsed);
  EXPECT_EQ(c.claims,
            (std::vector<Claim>{claim(K::kCount, "red", "circle", "1"), claim(K::kBackgroundColour, "", "", "black")}));
  EXPECT_TRUE(parse_caption("...").sentences.empty());
  EXPECT_TRUE(parse_caption("").claims.empty());
}

TEST(DataScene, EachClaimSentenceParsesBackToItsClaim) {
  for (std::int64_t i = 0; i < 100; ++i) {
    Scene s = random_scene(11, SynthSplit::kTrain, i, 84);
    for (const auto& c : scene_claims(s)) {
      auto text = claim_sentence(s, c);
      auto parsed = parse_caption(text);
      ASSERT_EQ(parsed.sentences.size(), 1u) << text;
      EXPECT_TRUE(parsed.sentences[0].grammatical()) << text;
      auto got = parsed.claims;
      got.erase(std::remove_if(got.begin(), got.end(), [](const Claim& x) { return x.kind == K::kExists; }), got.end());
      EXPECT_EQ(got, std::vector<Claim>{c}) << text;
    }
  }
}

TEST(DataScene, ReferencesAreGrammaticalTrueAndTheParagraphStatesEveryClaim) {
  int with_commentary = 0;
  for (std::int64_t i = 0; i < 200; ++i) {
    Scene s = random_scene(5, SynthSplit::kEval, i, 84);
    auto refs = scene_references(s);
    ASSERT_EQ(refs.size(), 3u);
    for (const auto& r : refs) {
      auto p = parse_caption(r);
      for (const auto& sentence : p.sentences) EXPECT_TRUE(sentence.grammatical()) << r;
      for (const auto& c : p.claims) EXPECT_TRUE(claim_holds(s, c)) << r;
    }
    auto paragraph = parse_caption(refs[2]).claims;
    std::set<Claim> stated(paragraph.begin(), paragraph.end());
    for (const auto& c : scene_claims(s)) EXPECT_TRUE(stated.count(c)) << refs[2] << " misses " << claim_sentence(s, c);
    // Commentary: only in the paragraph, as its last sentence, and the only claim that is not pointable.
    const auto not_pointable = std::count_if(paragraph.begin(), paragraph.end(), [](const Claim& c) { return !claim_pointable(c); });
    EXPECT_EQ(not_pointable, scene_commentary(s).empty() ? 0 : 1) << refs[2];
    with_commentary += !scene_commentary(s).empty();
  }
  EXPECT_GT(with_commentary, 40);  // about one in three of 200
  EXPECT_LT(with_commentary, 95);
}

TEST(DataScene, RandomScenesRespectTheirConstraintsAndDependOnlyOnSeedSplitAndIndex) {
  for (std::int64_t i = 0; i < 300; ++i) {
    Scene s = random_scene(1, SynthSplit::kTrain, i, 84);
    std::set<int> cells;
    for (const auto& o : s.objects) {
      cells.insert(o.cell);
      EXPECT_LE(std::abs(o.dx), max_offset(84, o.size));
      EXPECT_LE(std::abs(o.dy), max_offset(84, o.size));
    }
    EXPECT_EQ(cells.size(), s.objects.size());
    auto groups = scene_groups(s);
    EXPECT_GE(groups.size(), 1u);
    EXPECT_LE(groups.size(), 3u);
    EXPECT_NO_THROW(scene_from_json(scene_to_json(s)));
    EXPECT_EQ(scene_to_json(scene_from_json(scene_to_json(s))), scene_to_json(s));
  }
  EXPECT_EQ(scene_to_json(random_scene(1, SynthSplit::kTrain, 7, 84)),
            scene_to_json(random_scene(1, SynthSplit::kTrain, 7, 84)));
  EXPECT_NE(scene_to_json(random_scene(1, SynthSplit::kTrain, 7, 84)),
            scene_to_json(random_scene(1, SynthSplit::kEval, 7, 84)));
}

TEST(DataScene, RenderedImageShowsEachObjectsColourAtItsCentreAndTheBackgroundElsewhere) {
  Scene s = hand_scene();
  vision::Image img = render_scene(s);
  ASSERT_EQ(img.width, 84);
  auto pixel = [&](int x, int y) {
    const auto* p = &img.rgb[(static_cast<size_t>(y) * 84 + x) * 3];
    return std::array<std::uint8_t, 3>{p[0], p[1], p[2]};
  };
  for (const auto& o : s.objects) {
    int cx = cell_column(o.cell) * 28 + 14 + o.dx, cy = cell_row(o.cell) * 28 + 14 + o.dy;
    EXPECT_EQ(pixel(cx, cy), colour_rgb(o.colour)) << o.colour << " " << o.shape;
  }
  EXPECT_EQ(pixel(83, 0), colour_rgb("gray"));  // top right cell is empty
  EXPECT_EQ(pixel(56 + 14, 56 + 14), colour_rgb("gray"));
  EXPECT_EQ(pixel(14, 14 + 10), colour_rgb("gray"));  // below the small circle, inside its cell
}

TEST(DataScene, BadSceneJsonNamesTheKeyAndValue) {
  auto j = scene_to_json(hand_scene());
  j["objects"][1]["shape"] = "hexagon";
  try {
    scene_from_json(j);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("objects[1]"), std::string::npos) << m;
    EXPECT_NE(m.find("hexagon"), std::string::npos) << m;
    EXPECT_NE(m.find("HINT"), std::string::npos) << m;
  }
  auto clash = scene_to_json(hand_scene());
  clash["objects"][1]["cell"] = "center";
  EXPECT_THROW(scene_from_json(clash), Error);
  EXPECT_THROW(scene_from_json(nlohmann::json::array()), Error);
}

}  // namespace
}  // namespace balcap::data
