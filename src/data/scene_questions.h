#pragma once
// Private to src/data: make_questions: up to three multiple-choice questions a synthetic scene answers unambiguously
// (the `qa` field of a `balcap data synth` record).
#include <vector>

#include "data/data_order.h"
#include "data/record.h"
#include "data/scene.h"

namespace balcap::data {

// Draws up to three questions (background, count, colour, shape, position, size), fills
// scene.questions and returns the matching QaItems (choices in a random order where they are not
// naturally ordered).
std::vector<QaItem> make_questions(Scene& scene, SplitMix64& rng);

}  // namespace balcap::data
