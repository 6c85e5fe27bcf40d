#pragma once
// `rewards.prompts:` — the judge prompt templates (docs/rewards.md). A template's placeholders
// ({caption}, {reference}, {claim}, {question}, {options}, {aspect}) are filled by the scorer;
// each template must use exactly its own placeholders (checked at config load). A `{` not
// followed by a lowercase name and `}` is plain text.
#include <string>
#include <string_view>
#include <vector>

#include "config/spec.h"

namespace balcap::config {

struct PromptsConfig {
  std::string system =
      "You are a meticulous evaluator of image captions. Follow the instructions exactly and answer only in "
      "the requested format.";
  std::string claim_split =
      "Split the following image description into atomic claims: short, self-contained statements that each "
      "state exactly one fact about the image (an object, an attribute, a count, a position, a relation or an "
      "action). Write one claim per line, with no numbering and no other text. Do not add facts that the "
      "description does not state.\n\nDescription: {caption}";
  std::string verify_image =
      "Look at the image. Is the following statement about the image true? Answer Yes or No.\n\n"
      "Statement: {claim}";
  std::string pointable =
      "Does the following statement about the image refer to something that can be pointed to in the image: a "
      "visible, locatable object, part, region or piece of text, or explicit visual evidence such as a colour, a "
      "count or a position? Statements about mood, atmosphere, style, intent, the composition's effect on the "
      "viewer, or anything else that cannot be located in the image are not pointable. Answer Yes or No.\n\n"
      "Statement: {claim}";
  std::string verify_reference =
      "Reference description(s) of an image:\n{reference}\n\nAccording to the reference description(s), is the "
      "following statement about the image true? Answer Yes or No.\n\nStatement: {claim}";
  std::string verify_both =
      "Look at the image. Reference description(s) of it:\n{reference}\n\nUsing the image and the reference "
      "description(s), is the following statement about the image true? Answer Yes or No.\n\nStatement: {claim}";
  std::string claim_support =
      "Caption of an image:\n{caption}\n\nDoes the caption state or clearly imply the following fact? "
      "Answer Yes or No.\n\nFact: {claim}";
  std::string qa =
      "You cannot see the image; you only have its caption. Answer the multiple-choice question using only the "
      "information in the caption. If the caption does not contain the answer, choose the option that says so. "
      "Answer with the letter of one option only.\n\nCaption: {caption}\n\nQuestion: {question}\n{options}";
  std::string qa_cannot_answer = "The caption does not say.";
  std::string rating =
      "Rate the {aspect} of the following image caption on a scale from 1 (very poor) to 10 (excellent). "
      "Judge only its {aspect}, not whether it is accurate. Answer with a single number.\n\nCaption: {caption}";

  template <class V>
  void visit(V& v) {
    v.field("system", system, "System message of every judge request.");
    v.field("claim_split", claim_split,
            "claim_precision / claim_recall: split a text into atomic claims, one per line (judge generation). "
            "Placeholder {caption} (the caption, or the references for claim_recall).",
            Spec().required());
    v.field("verify_image", verify_image,
            "claim_precision, evidence image: is {claim} true of the image (vision judge)? Answered Yes/No.",
            Spec().required());
    v.field("pointable", pointable,
            "claim_precision with rewards.pointability: does {claim} refer to a visible, locatable element or "
            "explicit visual evidence (BalCapRL's pointability test)? Asked with the image when the evidence "
            "includes it. Answered Yes/No.",
            Spec().required());
    v.field("verify_reference", verify_reference,
            "claim_precision, evidence reference: is {claim} true according to {reference} (the record's "
            "reference captions, one per line)? Answered Yes/No.",
            Spec().required());
    v.field("verify_both", verify_both,
            "claim_precision, evidence both: {claim} checked against the image and {reference}. Answered Yes/No.",
            Spec().required());
    v.field("claim_support", claim_support,
            "claim_recall: does {caption} support the reference claim {claim}? Answered Yes/No.", Spec().required());
    v.field("qa", qa,
            "qa_accuracy: answer {question} from {caption} alone; {options} = lettered lines 'A. ...'. "
            "Answered with an option letter.",
            Spec().required());
    v.field("qa_cannot_answer", qa_cannot_answer,
            "qa_accuracy: text of the option added last to every question (no placeholders).", Spec().required());
    v.field("rating", rating,
            "judge_rating: rate {aspect} (fluency, clarity, coherence) of {caption} from 1 to 10. "
            "Answered with the number.",
            Spec().required());
  }
  bool operator==(const PromptsConfig&) const = default;
};

// The {name} placeholders of a template, in order of appearance (repeats kept).
std::vector<std::string> template_placeholders(std::string_view text);

// Every template whose placeholders are not exactly its own: {key, message} per problem, key
// as `rewards.prompts.<field>`.
struct PromptProblem {
  std::string key;
  std::string message;
};
std::vector<PromptProblem> prompt_problems(const PromptsConfig& prompts);

}  // namespace balcap::config
