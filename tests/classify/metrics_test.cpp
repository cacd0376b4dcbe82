// The loss and the classification metrics against LibTorch's own functions and hand-counted
// cases.
#include <gtest/gtest.h>

#include "byteformer/classify/metrics.h"

namespace byteformer {
namespace {

TEST(Loss, MatchesLibTorchCrossEntropyWithLabelSmoothing) {
  torch::manual_seed(0);
  const auto logits = torch::randn({5, 7});
  const auto labels = torch::tensor({0, 3, 6, 2, 2}, torch::kInt64);
  const auto ours = classification_loss(logits, labels, torch::Tensor(), 0.1);
  const auto ref = torch::nn::functional::cross_entropy(
      logits, labels, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(0.1));
  EXPECT_NEAR(ours.item<double>(), ref.item<double>(), 1e-6);  // float32 reductions
  const auto soft = torch::one_hot(labels, 7).to(torch::kFloat32);
  EXPECT_NEAR(classification_loss(logits, labels, soft, 0.1).item<double>(), ref.item<double>(), 1e-6);
  EXPECT_EQ(topk_correct(torch::tensor({{0.1, 0.9}, {0.8, 0.2}}), torch::tensor({1, 1}, torch::kInt64), 1), 1);
}

TEST(Metrics, EpochCountsAndConfusionByHand) {
  // Rows: true labels 0, 1, 1; argmax 0, 0, 1 (row 1 has its label second).
  const auto logits = torch::tensor({{2.0, 1.0, 0.0}, {3.0, 2.0, 1.0}, {0.0, 5.0, 1.0}});
  const auto labels = torch::tensor({0, 1, 1}, torch::kInt64);
  EpochMetrics m;
  m.add(logits, labels, /*batch_loss=*/0.5);
  EXPECT_EQ(m.samples, 3);
  EXPECT_EQ(m.top1, 2);
  EXPECT_DOUBLE_EQ(m.loss(), 0.5);
  EXPECT_NEAR(m.top1_pct(), 200.0 / 3.0, 1e-12);
  ConfusionMatrix c(3);
  c.add(logits, labels);
  EXPECT_EQ(c.counts, (std::vector<std::vector<int64_t>>{{1, 0, 0}, {1, 1, 0}, {0, 0, 0}}));
  EXPECT_EQ(c.to_csv({"a", "b", "c"}), "true\\predicted,a,b,c\na,1,0,0\nb,1,1,0\nc,0,0,0\n");
}

// Precision, recall, F1 and macro-F1 from a confusion matrix, by hand (scikit-learn's
// f1_score(average="macro") gives 0.5 for these counts).
TEST(Metrics, ClassScoresAndMacroF1ByHand) {
  ConfusionMatrix m(4);
  m.counts = {{3, 1, 0, 0},   // class 0: 4 samples, 3 right
              {1, 1, 0, 0},   // class 1: 2 samples, 1 right
              {0, 0, 0, 2},   // class 2: 2 samples, none right (predicted as 3)
              {0, 0, 0, 0}};  // class 3: no sample, 2 predictions
  const auto s = class_scores(m);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].support, 4);
  EXPECT_EQ(s[0].predicted, 4);
  EXPECT_DOUBLE_EQ(s[0].precision, 0.75);
  EXPECT_DOUBLE_EQ(s[0].recall, 0.75);
  EXPECT_DOUBLE_EQ(s[0].f1, 0.75);
  EXPECT_DOUBLE_EQ(s[1].precision, 0.5);
  EXPECT_DOUBLE_EQ(s[1].recall, 0.5);
  EXPECT_DOUBLE_EQ(s[2].f1, 0.0);
  EXPECT_EQ(s[3].predicted, 2);
  EXPECT_DOUBLE_EQ(s[3].f1, 0.0);
  EXPECT_DOUBLE_EQ(macro_f1(s), (0.75 + 0.5 + 0.0 + 0.0) / 4);
  m.counts[2] = {0, 0, 2, 0};  // class 2 right; class 3 now has neither samples nor predictions
  EXPECT_DOUBLE_EQ(macro_f1(class_scores(m)), (0.75 + 0.5 + 1.0) / 3);
  EXPECT_DOUBLE_EQ(macro_f1({}), 0.0);
}

}  // namespace
}  // namespace byteformer
