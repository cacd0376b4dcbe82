// The plain C++ engine (lite_model.h) against LibTorch's ByteFormer, and its model file.
//
// Tolerance: |lite - libtorch| <= 1e-4 * max(1, max |logit|) per logit, and the same argmax. Both
// compute in float32 the same operations; only the order of float sums differs (the Conv1d's
// table rows, products' blocking, LayerNorm's partial sums), which moves each of the shipped
// model's ~20 sequential stages by a few ulps (relative ~1e-6), far inside 1e-4.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "byteformer/classify/classifier.h"
#include "byteformer/classify/lite_export.h"
#include "byteformer/data/byte_window.h"
#include "byteformer/lite/lite_model.h"
#include "byteformer/model/byteformer.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

std::string shipped_model_dir() { return test::source_dir() + "/models/file-types"; }

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(gen() & 0xff);
  return out;
}

// The first file under `dir` (sorted walk) whose name ends with `suffix`; "" when none.
std::string first_file(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::string p = it->path().string();
    if (p.size() >= suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        it->is_regular_file(ec) && it->file_size(ec) > 64)
      found.push_back(p);
    if (found.size() >= 50) break;
  }
  std::sort(found.begin(), found.end());
  return found.empty() ? "" : found.front();
}

// Checks the tolerance; returns max |lite - libtorch| / max(1, max |logit|).
float expect_close(const std::vector<float>& lite, const std::vector<float>& ref, const std::string& what) {
  EXPECT_EQ(lite.size(), ref.size()) << what;
  if (lite.size() != ref.size()) return 1.0f;
  float biggest = 1.0f, worst = 0.0f;
  for (float v : ref) biggest = std::max(biggest, std::fabs(v));
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs(lite[i] - ref[i]));
  EXPECT_LE(worst, 1e-4f * biggest) << what << ": max |lite - libtorch| = " << worst << " of logits up to " << biggest;
  EXPECT_EQ(argmax(lite), argmax(ref)) << what;
  return worst / biggest;
}

// The worst relative difference of a test, for the log.
struct Worst {
  float value = 0.0f;
  void add(float v) { value = std::max(value, v); }
  ~Worst() { std::cout << "max |lite - libtorch| / max(1, max |logit|) = " << value << " (tolerance 1e-4)\n"; }
};

// --- The shipped model, exported by the real CLI ------------------------------------------------

class ShippedModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::make_temp_dir("lite_export"));
    for (const char* name : {"a.bfm", "b.bfm"}) {
      const auto r = test::run_command(fmt::format("'{}' export '{}' -o '{}/{}'", test::cli_path(), shipped_model_dir(),
                                                   *dir_, name));
      ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
      ASSERT_NE(r.out.find("parameters"), std::string::npos) << r.out;
    }
    ClassifierOptions options;
    options.run_dir = shipped_model_dir();
    options.precision = Precision::kFloat32;
    classifier_ = new Classifier(Classifier::open(options));
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    delete classifier_;
  }
  static std::string file(const char* name) { return *dir_ + "/" + name; }
  static std::vector<float> libtorch_logits(const std::vector<uint8_t>& bytes) {
    const Classification c = classifier_->classify(bytes, "input", /*raw=*/true);
    EXPECT_TRUE(c.ok()) << c.error;
    return c.logits;
  }

  static std::string* dir_;
  static Classifier* classifier_;
};
std::string* ShippedModel::dir_ = nullptr;
Classifier* ShippedModel::classifier_ = nullptr;

TEST_F(ShippedModel, ExportIsDeterministic) {
  EXPECT_EQ(test::read_bytes(file("a.bfm")), test::read_bytes(file("b.bfm")));
}

TEST_F(ShippedModel, FileHoldsTheRunFolder) {
  const LiteModel m = LiteModel::load(file("a.bfm"));
  const LiteModelSpec& s = m.spec();
  EXPECT_EQ(s.labels, classifier_->labels());
  ASSERT_EQ(s.thresholds.size(), classifier_->labels().size());
  for (size_t i = 0; i < s.thresholds.size(); ++i)
    EXPECT_EQ(s.thresholds[i], classifier_->thresholds().for_class(static_cast<int64_t>(i)));
  EXPECT_EQ(s.byte_window.head, classifier_->pipeline_options().window.head);
  EXPECT_EQ(s.byte_window.tail, classifier_->pipeline_options().window.tail);
  EXPECT_EQ(s.byte_window.strip_whitespace, classifier_->pipeline_options().window.strip_whitespace);
  const auto& o = classifier_->model_options();
  const LiteArchitecture& a = s.architecture;
  EXPECT_EQ(a.embed_dim, o.embed_dim);
  EXPECT_EQ(a.num_heads, o.num_heads);
  EXPECT_EQ(a.ffn_dim, o.ffn_dim);
  EXPECT_EQ(a.num_layers, o.num_layers);
  EXPECT_EQ(a.conv_kernel_size, o.conv_kernel_size);
  EXPECT_EQ(a.conv_stride, o.conv_stride());
  EXPECT_EQ(a.max_num_tokens, o.max_num_tokens);
  EXPECT_EQ(a.n_classes, o.n_classes);
  for (int64_t i = 0; i < a.num_layers; ++i) {
    EXPECT_EQ(a.window_sizes[i], o.window_size(i));
    EXPECT_EQ(a.window_shifts[i], o.window_shift(i));
    EXPECT_EQ(a.downsample[i], o.downsample[i]);
  }
  EXPECT_EQ(s.source, fs::path(classifier_->weights_path()).filename().string());
  EXPECT_GT(m.parameter_count(), 300000);
  EXPECT_LT(m.parameter_count(), 400000);
}

TEST_F(ShippedModel, LogitsEqualLibTorchOnRealFiles) {
  const LiteModel m = LiteModel::load(file("a.bfm"));
  const ByteWindow& w = m.spec().byte_window;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> inputs;
  inputs.emplace_back("/usr/bin/ls", read_byte_window("/usr/bin/ls", w));
  for (const auto& [dir, suffix] : std::vector<std::pair<std::string, std::string>>{
           {"/usr/share", ".png"}, {"/usr/lib", "/os.py"}, {"/usr/share", ".svg"}, {"/usr/include", ".h"}}) {
    if (const std::string p = first_file(dir, suffix); !p.empty()) inputs.emplace_back(p, read_byte_window(p, w));
  }
  inputs.emplace_back("2048 random bytes", random_bytes(2048, 7));
  inputs.emplace_back("2048 zeros", std::vector<uint8_t>(2048, 0));
  ASSERT_GE(inputs.size(), 4u);
  Worst worst;
  for (const auto& [name, bytes] : inputs) {
    SCOPED_TRACE(name);
    worst.add(expect_close(m.logits(bytes), libtorch_logits(bytes), name));
  }
}

TEST_F(ShippedModel, LogitsEqualLibTorchOnEveryLength) {
  const LiteModel m = LiteModel::load(file("a.bfm"));
  const std::vector<uint8_t> ls = read_byte_window("/usr/bin/ls", m.spec().byte_window);
  const std::vector<uint8_t> noise = random_bytes(20000, 11);
  // Shorter than the kernel (32), one token, two, odd and even token counts, the longest input.
  const int64_t longest = m.spec().architecture.max_input_bytes();
  Worst worst;
  for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{31}, int64_t{32}, int64_t{33}, int64_t{48}, int64_t{100},
                    int64_t{1000}, int64_t{2048}, longest}) {
    const std::vector<uint8_t>& from = n <= static_cast<int64_t>(ls.size()) ? ls : noise;
    const std::vector<uint8_t> bytes(from.begin(), from.begin() + n);
    worst.add(expect_close(m.logits(bytes), libtorch_logits(bytes), fmt::format("{} bytes", n)));
  }
  EXPECT_THROW(m.logits(noise.data(), static_cast<size_t>(longest + 1)), std::invalid_argument);
  try {
    m.logits(nullptr, 0);
    FAIL() << "an empty input was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("empty input"), std::string::npos) << e.what();
  }
}

// A file's logits do not depend on the files the model answered before it (which filled rows of
// the token-reduction table): bit for bit, every order of three inputs against each alone.
TEST_F(ShippedModel, LogitsDoNotDependOnEarlierInputs) {
  const LiteModel probe = LiteModel::load(file("a.bfm"));
  const ByteWindow& w = probe.spec().byte_window;
  std::vector<std::vector<uint8_t>> inputs = {read_byte_window("/usr/bin/ls", w), random_bytes(2048, 3),
                                              random_bytes(1500, 4)};
  // Bytes that share (position, value) pairs with the others, in other amounts per position.
  for (size_t i = 0; i < inputs[1].size(); i += 3) inputs[1][i] = inputs[0][i % inputs[0].size()];
  std::vector<std::vector<float>> alone;
  for (const auto& bytes : inputs) alone.push_back(LiteModel::load(file("a.bfm")).logits(bytes));
  std::vector<size_t> order = {0, 1, 2};
  do {
    const LiteModel m = LiteModel::load(file("a.bfm"));
    for (const size_t i : order) EXPECT_EQ(m.logits(inputs[i]), alone[i]) << "input " << i;
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST_F(ShippedModel, CliRefusesAModelOfImages) {
  // A run folder of CoreNet's image fixture model (ImageNet-style, CoreNet numerics).
  const std::string fixture = test::fixtures_dir() + "/corenet-tiny-k8-w32";
  const std::string run = *dir_ + "/image_run";
  fs::create_directories(run);
  fs::copy_file(fixture + "/config.yaml", run + "/config.yaml", fs::copy_options::overwrite_existing);
  fs::copy_file(fixture + "/model.pt", run + "/checkpoint_best.pt", fs::copy_options::overwrite_existing);
  const auto r = test::run_command(fmt::format("'{}' export '{}' -o '{}'", test::cli_path(), run, file("x.bfm")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("lite engine"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(file("x.bfm")));
}

// --- A small random ByteFormer of another shape, through the library only ------------------------

ByteFormerOptions small_options() {
  ByteFormerOptions o = ByteFormerOptions::preset("tiny");
  o.embed_dim = 24;
  o.num_heads = 3;
  o.ffn_dim = 40;
  o.num_layers = 3;
  o.conv_kernel_size = 8;
  o.max_num_tokens = 300;
  o.window_sizes = {8, 70, 5};  // 70: more queries than attention's block of 64
  o.window_shifts = {0, 3, 4};
  o.downsample = {true, false, true};
  o.n_classes = 5;
  o.numerics = Numerics::kMasked;
  return o;
}

LiteModelSpec spec_of(const ByteFormerOptions& o) {
  LiteModelSpec s;
  s.architecture = lite_architecture(o);  // what `byteformer export` writes
  for (int64_t c = 0; c < o.n_classes; ++c) s.labels.push_back(fmt::format("class{}", c));
  s.thresholds = {0.5, 0.625, 0.75, 0.875, 1.0};
  s.byte_window = ByteWindow{512, 256, true};
  s.source = "random weights";
  return s;
}

std::vector<LiteTensor> tensors_of(const ByteFormer& model) {
  std::vector<LiteTensor> out;
  for (const auto& [name, value] : model->state_dict()) {
    const torch::Tensor t = value.detach().to(torch::kFloat).contiguous();
    out.push_back({name, t.sizes().vec(), std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel())});
  }
  return out;
}

class SmallModel : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(3);
    model_ = ByteFormer(small_options());
    {
      // Biases and LayerNorm scales away from their initial 0 and 1, so that every term counts.
      torch::NoGradGuard no_grad;
      auto ends_with = [](const std::string& s, const std::string& tail) {
        return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
      };
      for (auto& [name, p] : model_->state_dict()) {
        if (ends_with(name, "bias")) p.uniform_(-0.2, 0.2);
        if (ends_with(name, ".0.weight") || ends_with(name, "norm.weight")) p.uniform_(0.5, 1.5);
      }
    }
    model_->eval();
    spec_ = spec_of(model_->options());
    tensors_ = tensors_of(model_);
    bytes_ = encode_lite_model(spec_, tensors_);
  }
  ByteFormer model_{nullptr};
  LiteModelSpec spec_;
  std::vector<LiteTensor> tensors_;
  std::vector<uint8_t> bytes_;
};

TEST_F(SmallModel, LogitsEqualLibTorch) {
  const LiteModel m = LiteModel::from_bytes(bytes_.data(), bytes_.size(), "small.bfm");
  const std::vector<uint8_t> noise = random_bytes(3000, 5);
  torch::NoGradGuard no_grad;
  Worst worst;
  for (int64_t n : {1, 3, 7, 8, 9, 12, 20, 28, 36, 100, 257, 1203, 1207}) {
    const auto in = torch::from_blob(const_cast<uint8_t*>(noise.data()), {1, n}, torch::kUInt8).to(torch::kLong);
    const torch::Tensor ref = model_->forward(in).contiguous();
    const std::vector<float> want(ref.data_ptr<float>(), ref.data_ptr<float>() + ref.numel());
    worst.add(expect_close(m.logits(noise.data(), static_cast<size_t>(n)), want, fmt::format("{} bytes", n)));
  }
}

TEST_F(SmallModel, ThreadsShareTheModel) {
  // Four threads on one fresh model (its table filled concurrently) give one thread's logits.
  const std::vector<uint8_t> noise = random_bytes(1207, 9);
  const LiteModel alone = LiteModel::from_bytes(bytes_.data(), bytes_.size(), "small.bfm");
  std::vector<std::vector<float>> want;
  for (size_t n = 1; n <= noise.size(); n += 97) want.push_back(alone.logits(noise.data(), n));
  const LiteModel shared = LiteModel::from_bytes(bytes_.data(), bytes_.size(), "small.bfm");
  std::vector<std::vector<std::vector<float>>> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      for (size_t n = 1; n <= noise.size(); n += 97) got[t].push_back(shared.logits(noise.data(), n));
    });
  for (auto& th : threads) th.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

TEST_F(SmallModel, RoundTripKeepsEveryField) {
  const std::string dir = test::make_temp_dir("lite_roundtrip");
  const std::string path = dir + "/m.bfm";
  write_lite_model(path, spec_, tensors_);
  EXPECT_EQ(test::read_bytes(path), bytes_);
  const LiteModel m = LiteModel::load(path);
  const LiteModelSpec& s = m.spec();
  const LiteArchitecture &a = s.architecture, &b = spec_.architecture;
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.embed_dim, b.embed_dim);
  EXPECT_EQ(a.num_heads, b.num_heads);
  EXPECT_EQ(a.ffn_dim, b.ffn_dim);
  EXPECT_EQ(a.num_layers, b.num_layers);
  EXPECT_EQ(a.conv_kernel_size, b.conv_kernel_size);
  EXPECT_EQ(a.conv_stride, b.conv_stride);
  EXPECT_EQ(a.max_num_tokens, b.max_num_tokens);
  EXPECT_EQ(a.window_sizes, b.window_sizes);
  EXPECT_EQ(a.window_shifts, b.window_shifts);
  EXPECT_EQ(a.downsample, b.downsample);
  EXPECT_EQ(a.layer_norm_eps, b.layer_norm_eps);
  EXPECT_EQ(a.n_classes, b.n_classes);
  EXPECT_EQ(s.labels, spec_.labels);
  EXPECT_EQ(s.thresholds, spec_.thresholds);
  EXPECT_EQ(s.byte_window.head, 512);
  EXPECT_EQ(s.byte_window.tail, 256);
  EXPECT_TRUE(s.byte_window.strip_whitespace);
  EXPECT_EQ(s.source, spec_.source);
  for (const auto& t : tensors_) EXPECT_EQ(m.tensor(t.name), t.data) << t.name;
  EXPECT_THROW(m.tensor("nope"), std::out_of_range);
  // Thresholds are optional (null).
  LiteModelSpec none = spec_;
  none.thresholds.clear();
  const auto plain = encode_lite_model(none, tensors_);
  EXPECT_TRUE(LiteModel::from_bytes(plain.data(), plain.size(), "p").spec().thresholds.empty());
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST_F(SmallModel, WriterRefusesWrongTensors) {
  auto t = tensors_;
  t.pop_back();
  EXPECT_THROW(encode_lite_model(spec_, t), std::invalid_argument);
  t = tensors_;
  t.front().shape = {1, 2};
  EXPECT_THROW(encode_lite_model(spec_, t), std::invalid_argument);
  t = tensors_;
  t.push_back({"extra", {1}, {0.f}});
  EXPECT_THROW(encode_lite_model(spec_, t), std::invalid_argument);
}

// --- Hostile files --------------------------------------------------------------------------

nlohmann::json header_of(const std::vector<uint8_t>& file) {
  uint64_t h = 0;
  std::memcpy(&h, file.data() + 8, 8);
  return nlohmann::json::parse(file.begin() + 16, file.begin() + 16 + static_cast<int64_t>(h));
}

// The file with its header replaced by `header` (the tensor data kept, moved to the new start).
std::vector<uint8_t> with_header(const std::vector<uint8_t>& file, const std::string& header) {
  uint64_t h = 0;
  std::memcpy(&h, file.data() + 8, 8);
  const uint64_t old_start = (16 + h + 63) / 64 * 64, new_start = (16 + header.size() + 63) / 64 * 64;
  std::vector<uint8_t> out(new_start, 0);
  std::memcpy(out.data(), file.data(), 8);
  const uint64_t len = header.size();
  std::memcpy(out.data() + 8, &len, 8);
  std::memcpy(out.data() + 16, header.data(), header.size());
  out.insert(out.end(), file.begin() + static_cast<int64_t>(old_start), file.end());
  return out;
}

void expect_error(const std::vector<uint8_t>& file, const std::string& needle) {
  try {
    LiteModel::from_bytes(file.data(), file.size(), "hostile.bfm");
    ADD_FAILURE() << "accepted; expected an error with \"" << needle << "\"";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("hostile.bfm: ", 0), 0u) << what;
    EXPECT_NE(what.find(needle), std::string::npos) << "expected \"" << needle << "\" in: " << what;
  }
}

TEST_F(SmallModel, HostileFilesAreClearErrors) {
  auto bad = bytes_;
  bad[0] = 'X';
  expect_error(bad, "byte 0: not a byteformer model file");
  expect_error(std::vector<uint8_t>(bytes_.begin(), bytes_.begin() + 10), "too short");
  expect_error(std::vector<uint8_t>(bytes_.begin(), bytes_.begin() + 100), "runs past the end of the file");
  bad = bytes_;
  const uint64_t huge = uint64_t{1} << 40;
  std::memcpy(bad.data() + 8, &huge, 8);
  expect_error(bad, "byte 8: header length 1099511627776");
  expect_error(with_header(bytes_, std::string(200, '[') + std::string(200, ']')), "nested deeper than 16");
  expect_error(with_header(bytes_, "{\"format\": "), "header is not JSON");
  expect_error(std::vector<uint8_t>(bytes_.begin(), bytes_.end() - 64), "runs past the end of the file");
}

TEST_F(SmallModel, HostileHeadersAreClearErrors) {
  const nlohmann::json good = header_of(bytes_);
  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json h = good;
    edit(h);
    return with_header(bytes_, h.dump());
  };
  // The rebuilt file itself loads.
  const auto same = edited([](nlohmann::json&) {});
  EXPECT_NO_THROW(LiteModel::from_bytes(same.data(), same.size(), "same.bfm"));

  expect_error(edited([](nlohmann::json& h) { h["tensors"].erase(h["tensors"].begin() + 6); }),
               "missing tensor 'transformer.0.pre_norm_mha.1.qkv_proj.bias'");
  expect_error(edited([](nlohmann::json& h) { h["tensors"][0]["shape"] = {257, 25}; }),
               "tensor 'embeddings.weight' has shape [257,25], expected [257, 24]");
  expect_error(edited([](nlohmann::json& h) { h["tensors"].push_back({{"name", "x.weight"}, {"shape", {1}}, {"offset", 0}}); }),
               "unexpected tensor 'x.weight'");
  expect_error(edited([](nlohmann::json& h) { h["tensors"][1]["offset"] = 1 << 30; }),
               "tensors[1].offset = 1073741824 (tensor 'token_reduction_net.weight'");
  expect_error(edited([](nlohmann::json& h) { h["tensors"][1]["offset"] = 4; }), "expected a multiple of 64");
  expect_error(edited([](nlohmann::json& h) { h["tensors"][1]["offset"] = -64; }), "tensors[1].offset = -64");
  expect_error(edited([](nlohmann::json& h) { h["labels"].erase(h["labels"].begin()); }),
               "labels has 4 names: expected one per class, 5");
  expect_error(edited([](nlohmann::json& h) { h["thresholds"].push_back(0.5); }), "thresholds: expected null or an array of 5");
  expect_error(edited([](nlohmann::json& h) { h["thresholds"][0] = 2.0; }), "thresholds[0] = 2.0");
  expect_error(edited([](nlohmann::json& h) { h["architecture"]["embed_dim"] = 5000; }),
               "architecture.embed_dim = 5000: expected 1 to 4096");
  expect_error(edited([](nlohmann::json& h) { h["architecture"]["num_layers"] = 1000; }),
               "architecture.num_layers = 1000: expected 1 to 64");
  expect_error(edited([](nlohmann::json& h) { h["architecture"]["max_num_tokens"] = uint64_t{1} << 63; }),
               "architecture.max_num_tokens = 9223372036854775808");
  expect_error(edited([](nlohmann::json& h) { h["architecture"]["num_heads"] = 5; }), "a divisor of embed_dim 24");
  expect_error(edited([](nlohmann::json& h) { h["architecture"]["window_sizes"] = {8, 6}; }),
               "architecture.window_sizes has 2 values: expected 3");
  expect_error(edited([](nlohmann::json& h) { h["architecture"].erase("ffn_dim"); }), "missing key architecture.ffn_dim");
  expect_error(edited([](nlohmann::json& h) { h["architecture"]["downsample"][0] = 1; }),
               "architecture.downsample[0] = 1: expected true or false");
  expect_error(edited([](nlohmann::json& h) { h["version"] = 2; }), "version = 2");
  expect_error(edited([](nlohmann::json& h) { h["byte_window"]["head"] = "x"; }), "byte_window.head = \"x\": expected an integer");
  expect_error(edited([](nlohmann::json& h) { h = nlohmann::json::array(); }), "expected a JSON object");
}

TEST_F(SmallModel, EveryTruncationAndByteFlipIsAnError) {
  // Never a crash: every prefix of the file, and files with one header byte changed, either
  // load or fail with std::runtime_error.
  for (size_t n = 0; n < bytes_.size(); n += n < 2048 ? 7 : 997) {
    EXPECT_THROW(LiteModel::from_bytes(bytes_.data(), n, "cut.bfm"), std::runtime_error) << n;
  }
  uint64_t h = 0;
  std::memcpy(&h, bytes_.data() + 8, 8);
  std::mt19937 gen(1);
  for (int i = 0; i < 300; ++i) {
    auto bad = bytes_;
    bad[16 + gen() % h] = static_cast<uint8_t>(gen());
    try {
      LiteModel::from_bytes(bad.data(), bad.size(), "flip.bfm");
    } catch (const std::runtime_error&) {
    }
  }
}

TEST(LiteModelLoad, MissingFileNamesThePath) {
  try {
    LiteModel::load("/nonexistent/model.bfm");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.bfm"), std::string::npos);
  }
  EXPECT_THROW(LiteModel::load("/"), std::runtime_error);
  // A fifo nobody writes is refused at once, not waited on.
  const std::string dir = test::make_temp_dir("lite_fifo");
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  try {
    LiteModel::load(dir + "/fifo");
    ADD_FAILURE() << "a fifo was read as a model";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace byteformer
