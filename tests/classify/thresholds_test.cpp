// The calibrated "unknown": per-class thresholds from validation outcomes (hand-computed
// cases) and their file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "byteformer/classify/thresholds.h"
#include "test_util.h"

namespace byteformer {
namespace {

SampleOutcome outcome(int64_t label, int64_t predicted, double prob) {
  SampleOutcome s;
  s.label = label;
  s.predicted = predicted;
  s.prob = prob;
  return s;
}

TEST(ClassThresholds, LowestProbabilityThatKeepsThePrecision) {
  std::vector<SampleOutcome> samples;
  // Class 0: right at 0.95, 0.9, 0.8, wrong at 0.7, right at 0.6: 100% down to 0.8, then 3/4.
  for (double p : {0.95, 0.9, 0.8}) samples.push_back(outcome(0, 0, p));
  samples.push_back(outcome(1, 0, 0.7));
  samples.push_back(outcome(0, 0, 0.6));
  // Class 1: wrong at its top (0.99), right below: never 99% precise: just above 0.99.
  samples.push_back(outcome(0, 1, 0.99));
  samples.push_back(outcome(1, 1, 0.98));
  // Class 2: right, but only at 0.4 and 0.3: the floor.
  samples.push_back(outcome(2, 2, 0.4));
  samples.push_back(outcome(2, 2, 0.3));
  // Class 3: never predicted: the floor.
  const ClassThresholds t = ClassThresholds::calibrate(samples, 4);
  ASSERT_EQ(t.per_class.size(), 4u);
  EXPECT_DOUBLE_EQ(t.for_class(0), 0.8);
  EXPECT_GT(t.for_class(1), 0.99);
  EXPECT_LT(t.for_class(1), 0.99 + 1e-12);
  EXPECT_DOUBLE_EQ(t.for_class(2), 0.5);
  EXPECT_DOUBLE_EQ(t.for_class(3), 0.5);
  EXPECT_EQ(t.samples, 9);
  EXPECT_DOUBLE_EQ(t.for_class(7), 0.0);  // outside the classes: no threshold

  // A lower precision target accepts class 0's 4/5 at 0.6.
  EXPECT_DOUBLE_EQ(ClassThresholds::calibrate(samples, 4, 0.8, 0.0).for_class(0), 0.6);
  // Equal probabilities are kept or dropped together.
  const ClassThresholds ties = ClassThresholds::calibrate({outcome(0, 0, 0.9), outcome(1, 0, 0.9)}, 2, 0.99, 0.0);
  EXPECT_GT(ties.for_class(0), 0.9);
}

TEST(ClassThresholds, FileRoundTripAndBadFiles) {
  const std::string dir = test::make_temp_dir("thresholds");
  ClassThresholds t;
  t.per_class = {0.5, 0.875};
  t.samples = 12;
  write_thresholds(dir + "/t.json", t, {"cat", "dog"});
  const ClassThresholds back = read_thresholds(dir + "/t.json", {"cat", "dog"});
  EXPECT_EQ(back.per_class, t.per_class);
  EXPECT_EQ(back.samples, 12);
  // Read by class name: another model's order is the file's names, not its order.
  EXPECT_EQ(read_thresholds(dir + "/t.json", {"dog", "cat"}).per_class, (std::vector<double>{0.875, 0.5}));
  try {
    read_thresholds(dir + "/t.json", {"cat", "bird"});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no threshold for class 'bird'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir + "/t.json"), std::string::npos) << e.what();
  }
  test::write_bytes(dir + "/bad.json", {'{', '"'});
  EXPECT_THROW(read_thresholds(dir + "/bad.json", {"cat"}), std::runtime_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace byteformer
