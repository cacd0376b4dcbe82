// `byteformer data fashion-mnist` (src/data/prepare_fashion_mnist.cpp) through the real CLI on a
// small real subset of Debian's dataset-fashion-mnist, and its errors on broken IDX files.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "byteformer/codec/image_decoder.h"
#include "byteformer/prepare/prepare_fashion_mnist.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

std::string cli() { return test::cli_path(); }

std::vector<uint8_t> gunzip_file(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  gzclose(f);
  return out;
}

TEST(FashionMnistCli, SmallRealSubsetStratifiedDisjointPngsNamedByClassAndReused) {
  ASSERT_TRUE(fs::exists(std::string(kFashionMnistSourceDir) + "/train-images-idx3-ubyte.gz"))
      << "Debian's dataset-fashion-mnist is not installed (scripts/setup.sh installs it)";
  const std::string out = test::make_temp_dir("fmnist");
  const std::string cmd = cli() + " data fashion-mnist --limit 24 --out " + out;
  auto r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;

  // 24 per class of the training file = 240; val round(240 / 12) = 20, 2 per class; test 240.
  const auto& classes = fashion_mnist_classes();
  EXPECT_EQ(classes[0], "T-shirt_top");
  EXPECT_EQ(classes[9], "Ankle_boot");
  std::map<std::string, std::map<std::string, int>> counts;
  std::map<std::string, std::set<std::string>> pixels;
  const std::vector<uint8_t> test_images = gunzip_file(std::string(kFashionMnistSourceDir) + "/t10k-images-idx3-ubyte.gz");
  for (const char* split : {"train", "val", "test"}) {
    for (const auto& cls : classes) {
      for (const auto& e : fs::directory_iterator(out + "/" + split + "/" + cls)) {
        const auto bytes = test::read_bytes(e.path().string());
        const Image img = decode_image(bytes, e.path().string());
        ASSERT_EQ(img.width, 28);
        ASSERT_EQ(img.height, 28);
        ASSERT_EQ(img.channels, 1) << e.path();
        pixels[split].insert(std::string(img.pixels.begin(), img.pixels.end()));
        ++counts[split][cls];
        // A test file holds exactly the pixels of its position in the official t10k file.
        const std::string name = e.path().filename().string();
        if (std::string(split) == "test") {
          ASSERT_EQ(name.rfind("fmnist_test_", 0), 0u) << name;
          const size_t i = std::stoul(name.substr(12, 5));
          ASSERT_TRUE(std::equal(img.pixels.begin(), img.pixels.end(), test_images.begin() + 16 + i * 784)) << name;
        }
      }
    }
  }
  for (const auto& cls : classes) {
    EXPECT_EQ(counts["train"][cls], 22) << cls;
    EXPECT_EQ(counts["val"][cls], 2) << cls;
    EXPECT_EQ(counts["test"][cls], 24) << cls;
  }
  for (const auto& p : pixels["val"]) EXPECT_EQ(pixels["train"].count(p), 0u) << "an image in train and val";
  EXPECT_EQ(pixels["train"].size(), 220u);

  // A second run reuses the files; a missing file makes it rewrite them; other options too.
  r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("reusing"), std::string::npos) << r.out;
  fs::remove(fs::directory_iterator(out + "/test/Bag")->path());
  r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("reusing"), std::string::npos) << r.out;
  int bags = 0;
  for (auto it = fs::directory_iterator(out + "/test/Bag"); it != fs::directory_iterator(); ++it) ++bags;
  EXPECT_EQ(bags, 24);
  r = test::run_command(cli() + " data fashion-mnist --limit 12 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rewriting"), std::string::npos) << r.out;
  int shirts = 0;
  for (auto it = fs::directory_iterator(out + "/train/Shirt"); it != fs::directory_iterator(); ++it) ++shirts;
  EXPECT_EQ(shirts, 11);  // 12 minus 1 for val: no file of the larger run is left behind
  fs::remove_all(out);
}

TEST(FashionMnistCli, BrokenOrMissingIdxFilesAreNamed) {
  const std::string src = test::make_temp_dir("fmnist_src");
  const std::string out = test::make_temp_dir("fmnist_out");
  // Missing: the error says which file and how to get it.
  auto r = test::run_command(cli() + " data fashion-mnist --source " + src + " --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("train-images-idx3-ubyte"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dataset-fashion-mnist"), std::string::npos) << r.err;
  // Real images, labels cut short: the counts disagree.
  for (const char* f : {"train-images-idx3-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    test::write_bytes(src + "/" + f, gunzip_file(std::string(kFashionMnistSourceDir) + "/" + f + ".gz"));
  auto labels = gunzip_file(std::string(kFashionMnistSourceDir) + "/train-labels-idx1-ubyte.gz");
  labels.resize(1000);
  test::write_bytes(src + "/train-labels-idx1-ubyte", labels);
  r = test::run_command(cli() + " data fashion-mnist --source " + src + " --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(src + "/train-labels-idx1-ubyte: truncated at offset 1000"), std::string::npos) << r.err;
  // Consistent on its own but not with the images: 992 labels for 60,000 images.
  labels[4] = 0, labels[5] = 0, labels[6] = 0x03, labels[7] = 0xE0;  // 992
  labels.resize(8 + 992);
  test::write_bytes(src + "/train-labels-idx1-ubyte", labels);
  r = test::run_command(cli() + " data fashion-mnist --source " + src + " --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("holds 992 labels but"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("holds 60000 images"), std::string::npos) << r.err;
  // A label outside 0..9, named with its offset.
  labels = gunzip_file(std::string(kFashionMnistSourceDir) + "/train-labels-idx1-ubyte.gz");
  labels[8 + 77] = 12;
  test::write_bytes(src + "/train-labels-idx1-ubyte", labels);
  r = test::run_command(cli() + " data fashion-mnist --source " + src + " --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("offset 85: label 12 of image 77"), std::string::npos) << r.err;
  fs::remove_all(src);
  fs::remove_all(out);
}

}  // namespace
}  // namespace byteformer
