#pragma once
// `rewards:` — the BalCapRL objectives (docs/architecture.md §6): each objective has a scorer, a judge
// that answers the scorer's questions, and a weight in the advantage sum.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "config/judge.h"
#include "config/length_mask.h"
#include "config/prompts.h"
#include "config/spec.h"

namespace balcap::config {

// `rewards.objectives.<name>:` one objective: a score in [0, 1] plus a valid flag per caption.
struct ObjectiveConfig {
  std::string scorer;  // required unless the name is a built-in objective
  std::string judge = "lexical";
  double weight = 1.0;
  std::string evidence = "reference";

  // The entry a name starts from: the three BalCapRL objectives come with their scorer.
  static ObjectiveConfig defaults_for(std::string_view name) {
    ObjectiveConfig o;
    if (name == "correctness") o.scorer = "claim_precision";
    if (name == "coverage") o.scorer = "claim_recall";
    if (name == "linguistic") o.scorer = "judge_rating";
    return o;
  }

  template <class V>
  void visit(V& v) {
    v.field("scorer", scorer,
            "What is measured: `claim_precision` (share of the caption's claims verified), "
            "`qa_accuracy` (multiple-choice questions answered from the caption alone), "
            "`claim_recall` (share of the reference's claims the caption supports), "
            "`judge_rating` (fluency/clarity/coherence rated 1-10). Built-in objective names "
            "(correctness, coverage, linguistic) default to claim_precision, claim_recall, judge_rating.",
            Spec().one_of({"claim_precision", "qa_accuracy", "claim_recall", "judge_rating"}));
    v.field("judge", judge, "Name of the judge (a key of rewards.judges) that answers this scorer's questions.",
            Spec().required());
    v.field("weight", weight, "w_k in the advantage sum (GDPO: of the normalised advantages; GRPO: of the raw scores).",
            Spec().at_least(0).at_most(1000));
    v.field("evidence", evidence,
            "claim_precision: verify claims against the `image` (vision judge), the `reference` "
            "captions (text judge) or `both`.",
            Spec().one_of({"image", "reference", "both"}));
  }
  bool operator==(const ObjectiveConfig&) const = default;
};

// `rewards.repetition_guard:` repeated n-grams push the linguistic score down. Not in the paper: an
// opt-in balcap extension (off by default).
struct RepetitionGuardConfig {
  bool enabled = false;
  std::int64_t ngram = 3;

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled,
            "Lower the judge_rating score of captions that repeat n-grams (balcap's extension, not in the "
            "paper; off by default).");
    v.field("ngram", ngram,
            "n of the n-grams counted: the score is multiplied by distinct n-grams / all n-grams of the caption.",
            Spec().at_least(1).at_most(16));
  }
  bool operator==(const RepetitionGuardConfig&) const = default;
};

struct RewardsConfig {
  std::map<std::string, ObjectiveConfig> objectives = {
      {"correctness", ObjectiveConfig::defaults_for("correctness")},
      {"coverage", ObjectiveConfig::defaults_for("coverage")},
      {"linguistic", ObjectiveConfig::defaults_for("linguistic")},
  };
  std::map<std::string, JudgeConfig> judges = {{"lexical", JudgeConfig::defaults_for("lexical")}};
  LengthMaskConfig length_mask;
  RepetitionGuardConfig repetition_guard;
  PromptsConfig prompts;
  std::string pointability = "auto";
  std::string on_judge_failure = "fail";
  std::string log_judge_calls;

  template <class V>
  void visit(V& v) {
    v.field("objectives", objectives,
            "The objectives, keyed by name (names appear in metrics, weights and length_mask). "
            "A mapping in the file replaces the default set; `--set rewards.objectives.<name>.<key>=...` "
            "edits (or adds) one entry.",
            Spec().required());
    v.field("judges", judges,
            "The judges objectives refer to, keyed by name. A judge named `lexical` or `scene` needs "
            "no `kind`. One local judge can serve several objectives (loaded once).",
            Spec().required());
    v.field("length_mask", length_mask, "Length-conditional masking of chosen objectives.");
    v.field("repetition_guard", repetition_guard, "Repetition penalty inside the judge_rating score.");
    v.field("prompts", prompts, "Judge prompt templates (placeholders in braces are filled by the scorer).");
    v.field("pointability", pointability,
            "claim_precision's pointability test (BalCapRL): an assertion counts as correct only when it is "
            "true of the image AND pointable (refers to a visible, locatable element; not mood or "
            "meta-commentary). `auto` = on for evidence image/both and the scene judge (the paper), off for "
            "evidence reference (balcap's cheaper text-only option); `true`/`false` force it, so the "
            "leave-one-out ablation is this one switch.",
            Spec().one_of({"auto", "true", "false"}));
    v.field("on_judge_failure", on_judge_failure,
            "A judge still failing after its retries: `fail` stops the step with an error; "
            "`invalid` marks those scores invalid (left out of the statistics). Never a silent zero.",
            Spec().one_of({"fail", "invalid"}));
    v.field("log_judge_calls", log_judge_calls,
            "Path of a JSONL file that receives every judge call (request, choices, answer, seconds); "
            "relative to the working directory; empty = off.");
  }
  bool operator==(const RewardsConfig&) const = default;
};

}  // namespace balcap::config
