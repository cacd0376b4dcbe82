#include "byteformer/classify/metrics.h"

#include <sstream>

namespace byteformer {

torch::Tensor classification_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                                  const torch::Tensor& soft_targets, double label_smoothing) {
  TORCH_CHECK(logits.dim() == 2, "classification_loss - expected logits (B, K), got ", logits.sizes());
  const auto log_probs = torch::log_softmax(logits.to(torch::kFloat32), /*dim=*/1);  // (B, K)
  const int64_t K = logits.size(1);
  torch::Tensor target;  // (B, K)
  if (soft_targets.defined()) {
    target = soft_targets.to(torch::kFloat32);
  } else {
    target = torch::one_hot(labels, K).to(torch::kFloat32);
  }
  if (label_smoothing > 0) target = target * (1.0 - label_smoothing) + label_smoothing / static_cast<double>(K);
  return -(target * log_probs).sum(1).mean();
}

int64_t topk_correct(const torch::Tensor& logits, const torch::Tensor& labels, int64_t k) {
  k = std::min<int64_t>(k, logits.size(1));
  const auto top = std::get<1>(logits.topk(k, /*dim=*/1));  // (B, k)
  return top.eq(labels.unsqueeze(1)).any(1).sum().item<int64_t>();
}

void EpochMetrics::add(const torch::Tensor& logits, const torch::Tensor& labels, double batch_loss) {
  const int64_t B = logits.size(0);
  loss_sum += batch_loss * static_cast<double>(B);
  top1 += topk_correct(logits, labels, 1);
  top5 += topk_correct(logits, labels, 5);
  samples += B;
}

void ConfusionMatrix::add(const torch::Tensor& logits, const torch::Tensor& labels) {
  const auto pred = logits.argmax(1).to(torch::kInt64).contiguous();
  const auto lab = labels.to(torch::kInt64).contiguous();
  for (int64_t i = 0; i < pred.size(0); ++i) {
    const auto t = static_cast<size_t>(lab.data_ptr<int64_t>()[i]);
    const auto p = static_cast<size_t>(pred.data_ptr<int64_t>()[i]);
    if (t < counts.size() && p < counts.size()) ++counts[t][p];
  }
}

std::string ConfusionMatrix::to_csv(const std::vector<std::string>& classes) const {
  std::ostringstream out;
  auto name = [&](size_t i) { return i < classes.size() ? classes[i] : std::to_string(i); };
  out << "true\\predicted";
  for (size_t j = 0; j < counts.size(); ++j) out << "," << name(j);
  out << "\n";
  for (size_t i = 0; i < counts.size(); ++i) {
    out << name(i);
    for (size_t j = 0; j < counts.size(); ++j) out << "," << counts[i][j];
    out << "\n";
  }
  return out.str();
}

}  // namespace byteformer
