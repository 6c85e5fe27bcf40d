// Qwen2.5-VL position ids against the models fixture (tests/reference/ref_models.py): for every case,
// the processor's input_ids and image grids give exactly transformers' get_rope_index positions and deltas.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/hf_config.h"
#include "io/safetensors_reader.h"
#include "models/qwen2_5_vl_rope_index.h"
#include "support/test_support.h"

namespace balcap {
namespace {

TEST(RopeIndexParity, EveryReferenceCaseGetsTransformersPositionsAndDeltas) {
  const auto manifest = nlohmann::json::parse(test::read_file(test::reference_path("models", "manifest.json")));
  ASSERT_FALSE(manifest.at("cases").empty());
  for (const auto& c : manifest.at("cases")) {
    const std::string name = c.at("name");
    const std::string model_dir = manifest.at("models").at(c.at("model").get<std::string>()).at("dir");
    const auto config = io::load_qwen2_5_vl_config(test::reference_path("models", model_dir));
    const auto ref = io::load_safetensors(test::reference_path("models", c.at("file").get<std::string>()));
    const auto ids = ref.at("input_ids").unsqueeze(0);
    const auto mask = ref.at("attention_mask").unsqueeze(0);
    const at::Tensor grids = ref.count("image_grid_thw") ? ref.at("image_grid_thw") : at::Tensor();
    const auto r = models::qwen2_5_vl_rope_index(ids, grids, mask, config);
    EXPECT_TRUE(at::equal(r.position_ids, ref.at("position_ids"))) << name;
    EXPECT_TRUE(at::equal(r.rope_deltas, ref.at("rope_deltas"))) << name << ": " << r.rope_deltas;
  }
}

}  // namespace
}  // namespace balcap
