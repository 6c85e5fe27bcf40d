// Scorer claim_recall (src/rewards/claim_recall.h).
#include "rewards/claim_recall.h"

#include <set>

namespace balcap::rewards {

ClaimRecall::ClaimRecall(std::string name, std::shared_ptr<Judge> judge, ScorerSettings settings)
    : name_(std::move(name)), judge_(std::move(judge)), settings_(std::move(settings)) {}

bool ClaimRecall::split_missing_references(const std::vector<ScoredCaption>& captions) {
  std::vector<const data::Record*> missing;
  std::set<std::string> seen;
  for (const ScoredCaption& c : captions) {
    const data::Record& r = record_of(c, name_);
    if (!r.claims.empty() || r.references.empty() || cache_.count(r.id) || !seen.insert(r.id).second) continue;
    missing.push_back(&r);
  }
  if (missing.empty()) return true;
  std::vector<JudgeRequest> split;
  for (const data::Record* r : missing) {
    split.push_back(
        judge_request(settings_, render_template(settings_.prompts.claim_split, {{"caption", joined_references(*r)}})));
  }
  std::vector<std::string> texts;
  if (!judge_answered(settings_, name_, [&] { texts = judge_->generate(split, settings_.max_new_tokens); }))
    return false;
  for (std::size_t i = 0; i < missing.size(); ++i) cache_[missing[i]->id] = parse_claims(texts.at(i));
  return true;
}

const std::vector<std::string>* ClaimRecall::reference_claims(const data::Record& record) const {
  if (!record.claims.empty()) return &record.claims;
  auto it = cache_.find(record.id);
  return it == cache_.end() ? nullptr : &it->second;
}

ObjectiveScores ClaimRecall::score(const std::vector<ScoredCaption>& captions) {
  const std::size_t n = captions.size();
  ObjectiveScores out{std::vector<double>(n, 0.0), std::vector<bool>(n, false)};
  split_missing_references(captions);
  // One Yes/No question per (caption, reference claim).
  std::vector<JudgeRequest> support;
  std::vector<std::size_t> owner;
  std::vector<std::size_t> claim_count(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::vector<std::string>* claims = reference_claims(*captions[i].record);
    if (claims == nullptr || claims->empty()) continue;  // nothing to recall: invalid
    out.valid[i] = true;
    claim_count[i] = claims->size();
    for (const std::string& claim : *claims) {
      support.push_back(judge_request(settings_, render_template(settings_.prompts.claim_support,
                                                                 {{"caption", captions[i].text}, {"claim", claim}})));
      owner.push_back(i);
    }
  }
  std::vector<std::vector<double>> rows;
  if (!support.empty() &&
      !judge_answered(settings_, name_, [&] { rows = judge_->choice_logprobs(support, yes_no_choices()); })) {
    return ObjectiveScores{std::vector<double>(n, 0.0), std::vector<bool>(n, false)};
  }
  for (std::size_t q = 0; q < support.size(); ++q) {
    if (says_yes(rows.at(q))) out.score[owner[q]] += 1.0;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (claim_count[i] > 0) out.score[i] /= static_cast<double>(claim_count[i]);
  }
  return out;
}

}  // namespace balcap::rewards
