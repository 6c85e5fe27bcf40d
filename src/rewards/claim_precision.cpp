// Scorer claim_precision (src/rewards/claim_precision.h).
#include "rewards/claim_precision.h"

#include "core/error.h"

namespace balcap::rewards {

ClaimPrecision::ClaimPrecision(std::string name, std::shared_ptr<Judge> judge, std::string evidence,
                               ScorerSettings settings)
    : name_(std::move(name)), judge_(std::move(judge)), evidence_(std::move(evidence)), settings_(std::move(settings)) {
  BALCAP_CHECK(evidence_ == "image" || evidence_ == "reference" || evidence_ == "both",
               "rewards.objectives.{}.evidence = '{}' is not image, reference or both\nHINT: pick one of those", name_,
               evidence_);
  BALCAP_CHECK(evidence_ == "reference" || judge_->sees_images(),
               "rewards.objectives.{}: evidence '{}' needs a judge that sees images, but judge '{}' is text-only\n"
               "HINT: use evidence: reference, or a Qwen2.5-VL judge (local) / a vision model (remote)",
               name_, evidence_, judge_->name());
}

JudgeRequest ClaimPrecision::verify_request(const data::Record& record, const std::string& claim) const {
  const config::PromptsConfig& p = settings_.prompts;
  if (evidence_ == "reference") {
    return judge_request(
        settings_, render_template(p.verify_reference, {{"reference", joined_references(record)}, {"claim", claim}}),
        "verify", claim);
  }
  JudgeRequest r =
      evidence_ == "image"
          ? judge_request(settings_, render_template(p.verify_image, {{"claim", claim}}), "verify", claim)
          : judge_request(settings_,
                          render_template(p.verify_both, {{"reference", joined_references(record)}, {"claim", claim}}),
                          "verify", claim);
  r.image_path = record.image.string();
  return r;
}

JudgeRequest ClaimPrecision::pointable_request(const data::Record& record, const std::string& claim) const {
  JudgeRequest r =
      judge_request(settings_, render_template(settings_.prompts.pointable, {{"claim", claim}}), "pointable", claim);
  if (evidence_ != "reference") r.image_path = record.image.string();  // judged with the image in view
  return r;
}

ObjectiveScores ClaimPrecision::score(const std::vector<ScoredCaption>& captions) {
  const std::size_t n = captions.size();
  ObjectiveScores out{std::vector<double>(n, 0.0), std::vector<bool>(n, true)};
  // 1. Which captions have evidence; split those into claims (one generation each).
  std::vector<std::size_t> scored;
  std::vector<JudgeRequest> split;
  for (std::size_t i = 0; i < n; ++i) {
    const data::Record& record = record_of(captions[i], name_);
    if (evidence_ != "image" && record.references.empty()) {
      out.valid[i] = false;  // nothing to verify against
      continue;
    }
    scored.push_back(i);
    split.push_back(judge_request(
        settings_, render_template(settings_.prompts.claim_split, {{"caption", captions[i].text}}), "split"));
  }
  if (scored.empty()) return out;
  std::vector<std::string> texts;
  if (!judge_answered(settings_, name_, [&] { texts = judge_->generate(split, settings_.max_new_tokens); })) {
    for (std::size_t i : scored) out.valid[i] = false;
    return out;
  }
  // 2. Yes/No questions per claim, all captions' claims in one batch: is it true of the evidence, and
  // (with pointability) does it point at something visible? Questions [2q, 2q + 1] are claim q's.
  const std::size_t per_claim = settings_.pointability ? 2 : 1;
  std::vector<JudgeRequest> questions;
  std::vector<std::size_t> owner;  // claim q belongs to captions[owner[q]]
  std::vector<std::size_t> claim_count(n, 0);
  for (std::size_t s = 0; s < scored.size(); ++s) {
    const data::Record& record = *captions[scored[s]].record;
    for (const std::string& claim : parse_claims(texts.at(s))) {
      questions.push_back(verify_request(record, claim));
      if (settings_.pointability) questions.push_back(pointable_request(record, claim));
      owner.push_back(scored[s]);
      ++claim_count[scored[s]];
    }
  }
  std::vector<std::vector<double>> rows;
  if (!questions.empty() &&
      !judge_answered(settings_, name_, [&] { rows = judge_->choice_logprobs(questions, yes_no_choices()); })) {
    for (std::size_t i : scored) out.valid[i] = false;
    return out;
  }
  // 3. score = claims that pass every test / claims (no claim: 0).
  for (std::size_t q = 0; q < owner.size(); ++q) {
    bool passes = true;
    for (std::size_t k = 0; k < per_claim; ++k) passes = passes && says_yes(rows.at(q * per_claim + k));
    if (passes) out.score[owner[q]] += 1.0;
  }
  for (std::size_t i : scored) {
    if (claim_count[i] > 0) out.score[i] /= static_cast<double>(claim_count[i]);
  }
  return out;
}

}  // namespace balcap::rewards
