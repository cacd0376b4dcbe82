// Loss and the classification metrics CoreNet reports (stats.val: loss, top1, top5).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace byteformer {

/// Cross entropy with label smoothing (CoreNet's loss.classification.cross_entropy, i.e.
/// F.cross_entropy): targets are `labels` (B) int64, or `soft_targets` (B, K) probabilities
/// (mixup) when defined. Smoothed target = (1 - s) * target + s / K. Mean over the batch,
/// computed in float32. logits: (B, K).
torch::Tensor classification_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                                  const torch::Tensor& soft_targets, double label_smoothing);

/// Number of rows whose label is among the k highest logits. logits: (B, K), labels: (B).
int64_t topk_correct(const torch::Tensor& logits, const torch::Tensor& labels, int64_t k);

/// Running sums over an epoch: loss (sample-weighted), top1, top5, sample count, skipped files.
struct EpochMetrics {
  double loss_sum = 0;
  int64_t top1 = 0;
  int64_t top5 = 0;
  int64_t samples = 0;
  int64_t skipped = 0;

  void add(const torch::Tensor& logits, const torch::Tensor& labels, double batch_loss);
  double loss() const { return samples ? loss_sum / static_cast<double>(samples) : 0.0; }
  /// Percentages, as CoreNet prints them.
  double top1_pct() const { return samples ? 100.0 * static_cast<double>(top1) / static_cast<double>(samples) : 0.0; }
  double top5_pct() const { return samples ? 100.0 * static_cast<double>(top5) / static_cast<double>(samples) : 0.0; }
};

/// counts[true][predicted].
struct ConfusionMatrix {
  explicit ConfusionMatrix(int64_t num_classes = 0)
      : counts(static_cast<size_t>(num_classes), std::vector<int64_t>(static_cast<size_t>(num_classes), 0)) {}
  void add(const torch::Tensor& logits, const torch::Tensor& labels);
  /// CSV with a header row of class names (true class down, predicted across).
  std::string to_csv(const std::vector<std::string>& classes) const;
  std::vector<std::vector<int64_t>> counts;
};

/// One class's scores from a confusion matrix.
struct ClassScores {
  int64_t support = 0;    // samples of the class
  int64_t predicted = 0;  // samples predicted as the class
  int64_t correct = 0;
  double precision = 0.0;  // correct / predicted (0 when nothing was predicted as it)
  double recall = 0.0;     // correct / support (0 when it has no sample)
  double f1 = 0.0;         // harmonic mean of the two (0 when both are 0)
};

/// Every class's scores, in class order.
std::vector<ClassScores> class_scores(const ConfusionMatrix& confusion);
/// The mean F1 over the classes that have a sample or a prediction (scikit-learn's macro
/// average, with 0 for an undefined precision or recall); 0 with none.
double macro_f1(const std::vector<ClassScores>& scores);

}  // namespace byteformer
