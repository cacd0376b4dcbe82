// The model against CoreNet's own numbers (shared/fixtures/corenet-tiny-k8-w32/expected.json).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "byteformer/io/checkpoint.h"
#include "byteformer/model/inference.h"
#include "byteformer/model/model_loader.h"
#include "model/predict_files.h"
#include "test_util.h"

namespace byteformer {
namespace {

struct Fixture {
  std::string dir = test::fixtures_dir() + "/corenet-tiny-k8-w32";
  nlohmann::json expected = nlohmann::json::parse(test::read_text(dir + "/expected.json"));
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& f : expected["files"]) out.push_back(dir + "/inputs/" + f["file"].get<std::string>());
    return out;
  }
  LoadedModel load(Numerics numerics) const {
    ModelSpec spec;
    spec.config_path = dir + "/config.yaml";
    spec.weights = dir + "/model.pt";
    spec.numerics = numerics;
    return load_model(spec);
  }
};

// Tolerance 1e-4 absolute (the bound): float32 sums in a different order than PyTorch.
constexpr double kTol = 1e-4;

void expect_logits(const std::vector<float>& got, const nlohmann::json& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i].get<double>(), kTol) << what << " class " << i;
}

TEST(CoreNetFixture, ModelHasCoreNetParameterCount) {
  Fixture f;
  auto m = f.load(Numerics::kCoreNet);
  EXPECT_EQ(m.model->parameter_count(), 6522826);
}

TEST(CoreNetFixture, EachFileAloneMatchesCoreNet) {
  Fixture f;
  auto m = f.load(Numerics::kCoreNet);
  auto preds = test::predict_files(m.model, f.files(), /*batch_size=*/1, /*k=*/3, {});
  for (size_t i = 0; i < preds.size(); ++i) {
    EXPECT_EQ(preds[i].num_bytes, f.expected["files"][i]["num_bytes"].get<int64_t>());
    expect_logits(preds[i].logits, f.expected["files"][i]["logits"], preds[i].name);
  }
}

TEST(CoreNetFixture, MixedLengthBatchGivesEveryFileItsAloneResult) {
  Fixture f;
  auto m = f.load(Numerics::kCoreNet);
  const auto files = f.files();
  auto preds = test::predict_files(m.model, files, /*batch_size=*/static_cast<int64_t>(files.size()), 3, {});
  for (size_t i = 0; i < preds.size(); ++i) {
    expect_logits(preds[i].logits, f.expected["files"][i]["logits"], preds[i].name);
    // And never CoreNet's batch leak: for every file that CoreNet padded in that batch (all
    // but the longest), CoreNet's padded-batch numbers differ from the alone ones, ours do not.
    int64_t longest = 0;
    for (const auto& p : preds) longest = std::max(longest, p.num_bytes);
    if (preds[i].num_bytes == longest) continue;
    double diff = 0;
    for (size_t c = 0; c < preds[i].logits.size(); ++c)
      diff = std::max(diff, std::abs(preds[i].logits[c] - f.expected["files"][i]["logits_in_padded_batch"][c].get<double>()));
    EXPECT_GT(diff, 1e-3) << preds[i].name;
  }
}

TEST(CoreNetFixture, MaskedModeIsBatchIndependentWithReleasedWeights) {
  Fixture f;
  auto m = f.load(Numerics::kMasked);
  const auto files = f.files();
  auto alone = test::predict_files(m.model, files, 1, 3, {});
  auto together = test::predict_files(m.model, files, static_cast<int64_t>(files.size()), 3, {});
  for (size_t i = 0; i < files.size(); ++i)
    for (size_t c = 0; c < alone[i].logits.size(); ++c)
      EXPECT_NEAR(alone[i].logits[c], together[i].logits[c], 1e-5) << files[i];
}

// Weights holding NaN (a run that diverged) are refused at load, naming the file and the tensor,
// rather than answering every file with NaN.
TEST(CoreNetFixture, NonFiniteWeightsAreRefusedAtLoad) {
  const Fixture f;
  StateDict state = load_state_dict(f.dir + "/model.pt");
  auto it = std::find_if(state.begin(), state.end(), [](const auto& e) { return e.first == "classifier.weight"; });
  ASSERT_NE(it, state.end());
  it->second = it->second.clone();
  it->second.view(-1)[0] = std::numeric_limits<float>::quiet_NaN();
  const std::string dir = test::make_temp_dir("nan_weights");
  save_state_dict(dir + "/nan.pt", state);
  ModelSpec spec;
  spec.config_path = f.dir + "/config.yaml";
  spec.weights = dir + "/nan.pt";
  try {
    load_model(spec);
    ADD_FAILURE() << "weights with NaN loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/nan.pt: 'classifier.weight' holds NaN or infinite values"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace byteformer
