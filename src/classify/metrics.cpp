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

std::vector<ClassScores> class_scores(const ConfusionMatrix& confusion) {
  const auto& m = confusion.counts;
  std::vector<ClassScores> out(m.size());
  for (size_t t = 0; t < m.size(); ++t) {
    for (size_t p = 0; p < m[t].size() && p < m.size(); ++p) {
      out[t].support += m[t][p];
      out[p].predicted += m[t][p];
    }
    out[t].correct = t < m[t].size() ? m[t][t] : 0;
  }
  for (auto& c : out) {
    c.precision = c.predicted > 0 ? static_cast<double>(c.correct) / static_cast<double>(c.predicted) : 0.0;
    c.recall = c.support > 0 ? static_cast<double>(c.correct) / static_cast<double>(c.support) : 0.0;
    c.f1 = c.precision + c.recall > 0 ? 2.0 * c.precision * c.recall / (c.precision + c.recall) : 0.0;
  }
  return out;
}

double macro_f1(const std::vector<ClassScores>& scores) {
  double sum = 0.0;
  int64_t n = 0;
  for (const auto& c : scores) {
    if (c.support == 0 && c.predicted == 0) continue;
    sum += c.f1;
    ++n;
  }
  return n > 0 ? sum / static_cast<double>(n) : 0.0;
}

}  // namespace byteformer
