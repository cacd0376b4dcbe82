#include "byteformer/prepare/stratified_split.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string_view>
#include <unordered_set>

namespace byteformer {

StratifiedSplit stratified_split(const std::vector<int>& labels, int n_classes, int64_t val_count, uint64_t seed) {
  if (n_classes < 1) throw std::invalid_argument(fmt::format("stratified_split: {} classes", n_classes));
  std::vector<std::vector<size_t>> by_label(static_cast<size_t>(n_classes));
  for (size_t i = 0; i < labels.size(); ++i) {
    const int label = labels[i];
    if (label == -1) continue;
    if (label < 0 || label >= n_classes)
      throw std::invalid_argument(fmt::format("stratified_split: sample {} has label {}, not in 0..{}", i, label,
                                              n_classes - 1));
    by_label[static_cast<size_t>(label)].push_back(i);
  }
  int64_t total = 0;
  for (const auto& v : by_label) total += static_cast<int64_t>(v.size());
  if (val_count < 0 || val_count > total)
    throw std::invalid_argument(fmt::format("stratified_split: val_count {} not in 0..{}", val_count, total));
  const auto classes = static_cast<size_t>(n_classes);
  std::vector<int64_t> quota(classes, 0);
  std::vector<double> remainder(classes, 0.0);
  int64_t assigned = 0;
  for (size_t c = 0; c < classes; ++c) {
    const double exact = total ? static_cast<double>(by_label[c].size()) * static_cast<double>(val_count) /
                                     static_cast<double>(total)
                               : 0.0;
    quota[c] = static_cast<int64_t>(std::floor(exact));
    remainder[c] = exact - static_cast<double>(quota[c]);
    assigned += quota[c];
  }
  std::vector<size_t> order(classes);
  for (size_t c = 0; c < classes; ++c) order[c] = c;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
  for (size_t k = 0; assigned < val_count; k = (k + 1) % classes, ++assigned) ++quota[order[k]];
  StratifiedSplit split;
  std::mt19937_64 rng(seed);
  for (size_t c = 0; c < classes; ++c) {
    std::vector<size_t> idx = by_label[c];
    for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[rng() % i]);
    const auto q = static_cast<std::ptrdiff_t>(quota[c]);
    split.val.insert(split.val.end(), idx.begin(), idx.begin() + q);
    split.train.insert(split.train.end(), idx.begin() + q, idx.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.val.begin(), split.val.end());
  return split;
}

std::vector<int> drop_duplicate_samples(const uint8_t* data, size_t sample_bytes, const std::vector<int>& labels,
                                        int64_t* dropped) {
  std::vector<int> out = labels;
  std::unordered_set<std::string_view> seen;
  int64_t n = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string_view key(reinterpret_cast<const char*>(data + i * sample_bytes), sample_bytes);
    if (!seen.insert(key).second) {
      out[i] = -1;
      ++n;
    }
  }
  if (dropped) *dropped = n;
  return out;
}

}  // namespace byteformer
