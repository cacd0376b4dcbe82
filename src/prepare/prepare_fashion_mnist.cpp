#include "byteformer/prepare/prepare_fashion_mnist.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "byteformer/codec/image.h"
#include "byteformer/codec/png_encoder.h"
#include "byteformer/prepare/idx_file.h"
#include "byteformer/prepare/stratified_split.h"
#include "byteformer/io/checkpoint.h"
#include "byteformer/io/file.h"

namespace byteformer {

namespace fs = std::filesystem;

namespace {

constexpr int kSide = 28;
constexpr size_t kPixels = kSide * kSide;
constexpr const char* kMarker = ".byteformer_fashion_mnist.json";
constexpr const char* kPrefix = "fmnist_";

void say(const FashionMnistOptions& o, const std::string& line) {
  if (o.progress) o.progress(line);
}

// `<dir>/<stem>.gz`, else `<dir>/<stem>`.
std::string find_idx(const std::string& dir, const std::string& stem) {
  for (const std::string& name : {stem + ".gz", stem}) {
    const fs::path p = fs::path(dir) / name;
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  throw std::runtime_error(fmt::format(
      "data fashion-mnist: no {0}.gz or {0} in '{1}'; install Debian's package dataset-fashion-mnist "
      "(apt-get install dataset-fashion-mnist) or pass --source DIR",
      stem, dir));
}

struct IdxSet {
  std::vector<uint8_t> pixels;  // (N, 28, 28)
  std::vector<int> labels;      // (N,)
};

IdxSet read_set(const std::string& dir, const std::string& prefix) {
  const std::string images_path = find_idx(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_idx(dir, prefix + "-labels-idx1-ubyte");
  IdxArray images = read_idx(images_path);
  const IdxArray labels = read_idx(labels_path);
  if (images.dims.size() != 3 || images.dims[1] != kSide || images.dims[2] != kSide)
    throw std::runtime_error(fmt::format("{}: images of shape ({}); expected (N, 28, 28)", images_path,
                                         fmt::join(images.dims, ", ")));
  if (labels.dims.size() != 1)
    throw std::runtime_error(fmt::format("{}: labels of shape ({}); expected (N)", labels_path,
                                         fmt::join(labels.dims, ", ")));
  if (labels.dims[0] != images.dims[0])
    throw std::runtime_error(fmt::format("{} holds {} labels but {} holds {} images", labels_path, labels.dims[0],
                                         images_path, images.dims[0]));
  IdxSet s;
  s.pixels = std::move(images.data);
  s.labels.reserve(labels.data.size());
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] > 9)
      throw std::runtime_error(fmt::format("{}: offset {}: label {} of image {} is not in 0..9", labels_path, 8 + i,
                                           labels.data[i], i));
    s.labels.push_back(labels.data[i]);
  }
  return s;
}

// Keeps only the first `limit` samples of each class (limit 0: all).
void limit_per_class(std::vector<int>& labels, int64_t limit) {
  if (limit <= 0) return;
  std::array<int64_t, 10> seen{};
  for (int& l : labels)
    if (l >= 0 && seen[static_cast<size_t>(l)]++ >= limit) l = -1;
}

int64_t count_files(const fs::path& root) {
  int64_t n = 0;
  std::error_code ec;
  for (const auto& cls : fashion_mnist_classes()) {
    const fs::path dir = root / cls;
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.rfind(kPrefix, 0) == 0 && e.path().extension() == ".png") ++n;
    }
  }
  return n;
}

// Removes what an earlier (interrupted, or other-options) run wrote: our own names only.
void remove_our_files(const fs::path& root) {
  std::error_code ec;
  for (const auto& cls : fashion_mnist_classes()) {
    const fs::path dir = root / cls;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> doomed;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name.rfind(kPrefix, 0) == 0 || name.rfind(std::string(".") + kPrefix, 0) == 0) doomed.push_back(e.path());
    }
    for (const auto& p : doomed) fs::remove(p);
  }
}

nlohmann::json options_json(const FashionMnistOptions& o) {
  return {{"layout_version", kFashionMnistLayoutVersion},
          {"limit_per_class", o.limit_per_class},
          {"png_compress_level", o.png_compress_level},
          {"split_seed", kFashionMnistSplitSeed}};
}

}  // namespace

const std::array<std::string, 10>& fashion_mnist_classes() {
  static const std::array<std::string, 10> kNames = {"T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
                                                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle_boot"};
  return kNames;
}

FashionMnistResult prepare_fashion_mnist(const FashionMnistOptions& o) {
  if (o.out_dir.empty()) throw std::invalid_argument("data fashion-mnist: --out is empty");
  if (o.limit_per_class < 0)
    throw std::invalid_argument(fmt::format("data fashion-mnist: --limit {} must be >= 0", o.limit_per_class));
  const fs::path out(o.out_dir);
  FashionMnistResult r;
  r.train_dir = (out / "train").string();
  r.val_dir = (out / "val").string();
  r.test_dir = (out / "test").string();
  const fs::path marker = out / kMarker;

  std::error_code ec;
  if (fs::exists(marker, ec)) {
    try {
      const std::vector<uint8_t> text = read_file(marker.string(), 1 << 20);
      const nlohmann::json m = nlohmann::json::parse(text.begin(), text.end());
      if (m.at("options") == options_json(o) && count_files(r.train_dir) == m.at("train").get<int64_t>() &&
          count_files(r.val_dir) == m.at("val").get<int64_t>() &&
          count_files(r.test_dir) == m.at("test").get<int64_t>()) {
        r.train = m.at("train").get<int64_t>();
        r.val = m.at("val").get<int64_t>();
        r.test = m.at("test").get<int64_t>();
        r.duplicates_dropped = m.value("duplicates_dropped", int64_t{0});
        r.reused = true;
        say(o, fmt::format("fashion-mnist: reusing {} ({} train / {} val / {} test PNG files)", out.string(), r.train,
                           r.val, r.test));
        return r;
      }
    } catch (const std::exception&) {
      // An unreadable marker: rewrite below.
    }
    say(o, fmt::format("fashion-mnist: {} is incomplete or was made with other options; rewriting it", out.string()));
    fs::remove(marker);
  }

  say(o, fmt::format("fashion-mnist: reading the IDX files in {}", o.source_dir));
  const IdxSet train_set = read_set(o.source_dir, "train");
  const IdxSet test_set = read_set(o.source_dir, "t10k");
  std::vector<int> train_labels = train_set.labels;
  limit_per_class(train_labels, o.limit_per_class);
  train_labels = drop_duplicate_samples(train_set.pixels.data(), kPixels, train_labels, &r.duplicates_dropped);
  int64_t kept = 0;
  for (int l : train_labels) kept += l >= 0;
  const int64_t val_count =
      o.limit_per_class > 0 ? std::llround(static_cast<double>(kept) * kFashionMnistValCount / 60000.0)
                            : std::min<int64_t>(kFashionMnistValCount, kept);
  const StratifiedSplit split = stratified_split(train_labels, 10, val_count, kFashionMnistSplitSeed);
  std::vector<int> test_labels = test_set.labels;
  limit_per_class(test_labels, o.limit_per_class);
  std::vector<size_t> test;
  for (size_t i = 0; i < test_labels.size(); ++i)
    if (test_labels[i] >= 0) test.push_back(i);
  say(o, fmt::format("fashion-mnist: {} training images ({} duplicates dropped) split {} train / {} val "
                     "(seed {}); {} test images",
                     train_set.labels.size(), r.duplicates_dropped, split.train.size(), split.val.size(),
                     kFashionMnistSplitSeed, test.size()));

  const size_t total = split.train.size() + split.val.size() + test.size();
  size_t done = 0;
  auto write = [&](const IdxSet& set, const std::vector<size_t>& idx, const fs::path& root, const char* source) {
    remove_our_files(root);
    for (const auto& cls : fashion_mnist_classes()) fs::create_directories(root / cls);
    Image img;
    img.width = kSide;
    img.height = kSide;
    img.channels = 1;
    for (size_t i : idx) {
      img.pixels.assign(set.pixels.begin() + static_cast<std::ptrdiff_t>(i * kPixels),
                        set.pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * kPixels));
      const std::string& cls = fashion_mnist_classes()[static_cast<size_t>(set.labels[i])];
      write_file_atomic((root / cls / fmt::format("{}{}_{:05d}.png", kPrefix, source, i)).string(),
                         encode_png(img, o.png_compress_level), Durability::kRenameOnly);
      if (++done % 10000 == 0 || done == total) say(o, fmt::format("fashion-mnist: wrote {}/{} PNG files", done, total));
    }
  };
  write(train_set, split.train, r.train_dir, "train");
  write(train_set, split.val, r.val_dir, "train");
  write(test_set, test, r.test_dir, "test");

  nlohmann::json m;
  m["options"] = options_json(o);
  m["source"] = fmt::format("{} (Debian package dataset-fashion-mnist; github.com/zalandoresearch/fashion-mnist)",
                            o.source_dir);
  m["classes"] = fashion_mnist_classes();
  m["train"] = split.train.size();
  m["val"] = split.val.size();
  m["test"] = test.size();
  m["duplicates_dropped"] = r.duplicates_dropped;
  m["split"] = fmt::format(
      "training file only: exact duplicates dropped (first kept); per class round(n_c*{}/n) validation images "
      "(largest remainder) by Fisher-Yates with std::mt19937_64({}), rng() % (i+1); the rest train. test = t10k",
      val_count, kFashionMnistSplitSeed);
  m["encoding"] = fmt::format("PNG, 28x28 8-bit grey, zlib level {}", o.png_compress_level);
  const std::string text = m.dump(2) + "\n";
  write_file_atomic(marker.string(), text.data(), text.size());
  r.train = static_cast<int64_t>(split.train.size());
  r.val = static_cast<int64_t>(split.val.size());
  r.test = static_cast<int64_t>(test.size());
  say(o, fmt::format("fashion-mnist: done: {} (train/ {}, val/ {}, test/ {} files)", out.string(), r.train, r.val,
                     r.test));
  return r;
}

}  // namespace byteformer
