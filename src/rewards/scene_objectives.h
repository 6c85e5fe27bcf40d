#pragma once
// Private to src/rewards: The `scene` judge (issue 7, docs/data.md "Scene scorers"): exact scoring of captions against a
// synthetic record's scene. The caption's claims come from the scene grammar
// (data/scene_grammar.h); the scene's own claims are data::scene_claims.
//   claim_precision: claims that hold and (with pointability) are pointable / claims the caption
//                    makes (no claim at all -> 0). Commentary ("The scene feels calm.") cannot be
//                    refuted, so only the pointability test (rewards.pointability; `auto` = on here,
//                    as in BalCapRL) fails it; a claim about an object not in the scene is false.
//   claim_recall:    scene claims the caption states / all scene claims
//   qa_accuracy:     the record's questions answered from the caption's claims alone; a question
//                    the caption leaves open (or answers two ways) counts as wrong
//   judge_rating:    lexical linguistic score = grammatical sentences / sentences
//                    x (1 - repeated claim statements / claim statements)
//                    (data/scene_grammar.h defines a grammatical sentence: it parses, agrees in
//                    number, starts with a capital and ends with . ! ?; a caption cut mid-word
//                    has an unterminated last sentence). The repetition factor applies when
//                    rewards.repetition_guard is enabled; it counts every statement of a claim
//                    that an earlier one already made ("A red circle, a red circle, a red circle."
//                    -> 1/3). The scene scorer counts repeated claims, not repeated n-grams:
//                    correct scene lists repeat n-grams ("two small purple squares, two small
//                    purple diamonds"), and a repeated phrase outside the grammar already makes
//                    its sentence ungrammatical. repetition_guard.ngram is not used here.
//                    Empty caption -> 0.
// A record without a scene is scored valid = false, with one warning per objective.
#include <memory>
#include <string>
#include <vector>

#include "config/rewards.h"
#include "data/record.h"
#include "data/scene.h"
#include "data/scene_grammar.h"
#include "rewards/objective.h"

namespace balcap::rewards {

double scene_claim_precision(const data::Scene& scene, const data::ParsedCaption& caption, bool pointability);
double scene_claim_recall(const data::Scene& scene, const data::ParsedCaption& caption);
// The caption's answer to a question as choice text ("" when it does not answer).
std::string scene_answer(const data::SceneQuestion& question, const data::ParsedCaption& caption);
// Share of `qa` (aligned with scene.questions) answered right; < 0 when there is no question.
double scene_qa_accuracy(const data::Scene& scene, const std::vector<data::QaItem>& qa,
                         const data::ParsedCaption& caption);
double scene_linguistic(const data::ParsedCaption& caption, const config::RepetitionGuardConfig& guard);

// Implemented in scene_objectives.cpp; declared in judge_factories.h as
// make_scene_objective(objective_name, ObjectiveConfig, RewardsConfig).

}  // namespace balcap::rewards
