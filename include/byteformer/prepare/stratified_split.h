// The seeded, stratified train/validation split of the quickstart data sets (MNIST, Fashion-MNIST).
//
// Rule (the same for every data set; documented in the marker file each writes):
//  1. samples are taken in source order; a sample whose label is -1 is left out of both splits;
//  2. class c gets round(n_c * val_count / n) validation samples (largest remainder, so the quotas
//     sum to exactly val_count; ties go to the lower class);
//  3. per class, in class order, a Fisher-Yates shuffle of its samples driven by one
//     std::mt19937_64(seed) (rng() % (i + 1)) picks the first quota of them; the rest is train.
// std::mt19937_64 is specified by the standard, so the split is the same on every platform.
#pragma once
#include <cstdint>
#include <vector>

namespace byteformer {

struct StratifiedSplit {
  std::vector<size_t> train;  // sample indices, ascending
  std::vector<size_t> val;    // sample indices, ascending
};

/// `labels[i]` in 0..n_classes-1, or -1 to leave sample i out. Throws std::invalid_argument for
/// a label out of range or a val_count above the number of samples kept.
StratifiedSplit stratified_split(const std::vector<int>& labels, int n_classes, int64_t val_count, uint64_t seed);

/// Marks exact duplicates: returns `labels` with -1 for every sample whose `sample_bytes` bytes
/// (at data + i * sample_bytes) equal an earlier sample's, so no image can be in both splits.
/// `*dropped` (when given) receives the number marked.
std::vector<int> drop_duplicate_samples(const uint8_t* data, size_t sample_bytes, const std::vector<int>& labels,
                                        int64_t* dropped = nullptr);

}  // namespace byteformer
