// `byteformer data fashion-mnist`: Zalando's Fashion-MNIST (60,000 training and 10,000 test
// 28x28 grey images of ten kinds of clothing; github.com/zalandoresearch/fashion-mnist) from
// the IDX files of Debian's package dataset-fashion-mnist, written as PNG files in ImageNet
// folder layout with the ten class names:
//   DIR/train/<class>/fmnist_train_<i>.png   55,000 (i: position in the training IDX file)
//   DIR/val/<class>/fmnist_train_<i>.png      5,000, a seeded stratified split of the training set
//   DIR/test/<class>/fmnist_test_<i>.png     10,000, the official test set
// The split is stratified_split.h's rule with kFashionMnistSplitSeed (exact duplicates inside
// the training set, of which Debian's copy has none, would be dropped so that no image is in
// both). Files are written under a temporary name and renamed; the marker file
// `.byteformer_fashion_mnist.json`, written last, records what a complete folder holds, and a
// second run with the same options reuses it.
//
//   FashionMnistOptions o;
//   o.out_dir = "data/fashion_mnist";
//   FashionMnistResult r = prepare_fashion_mnist(o);  // r.train_dir, r.val_dir, r.test_dir
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>

namespace byteformer {

constexpr const char* kFashionMnistSourceDir = "/usr/share/datasets/fashion-mnist";
constexpr uint64_t kFashionMnistSplitSeed = 20231;
constexpr int64_t kFashionMnistValCount = 5000;
/// Bumped whenever the files written would change; an older marker triggers a rewrite.
constexpr int kFashionMnistLayoutVersion = 1;

/// The ten class names, label 0 first, as folder names ("T-shirt/top" -> "T-shirt_top").
const std::array<std::string, 10>& fashion_mnist_classes();

struct FashionMnistOptions {
  std::string out_dir;
  std::string source_dir = kFashionMnistSourceDir;  // the four *-idx?-ubyte[.gz] files
  /// 0: everything. N > 0: only the first N images of each class of the training and of the
  /// test file (in file order), and round(10 N / 12) validation images: a small real subset.
  int64_t limit_per_class = 0;
  int png_compress_level = 9;  // lossless either way; 9 keeps the files small
  std::function<void(const std::string&)> progress;  // one line per step
};

struct FashionMnistResult {
  std::string train_dir, val_dir, test_dir;
  int64_t train = 0, val = 0, test = 0;
  int64_t duplicates_dropped = 0;
  bool reused = false;  // a complete earlier run with the same options was found
};

/// Reads the IDX files (`<source>/train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`,
/// `t10k-images-...`, `t10k-labels-...`) and writes the folders above. Throws
/// std::runtime_error naming the file (and offset) when one is missing, truncated or
/// inconsistent (image and label counts that disagree, a label outside 0..9, images not 28x28).
FashionMnistResult prepare_fashion_mnist(const FashionMnistOptions& options);

}  // namespace byteformer
