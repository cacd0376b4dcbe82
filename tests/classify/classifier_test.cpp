// Classifier (include/byteformer/classify/classifier.h) against CoreNet's own numbers for the
// fixture model (shared/fixtures/corenet-tiny-k8-w32/expected.json: raw file bytes, logits
// within 1e-4), the evaluation pipeline's bytes, concurrent use, and run folders.
#include "byteformer/classify/classifier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "byteformer/data/loader.h"
#include "byteformer/transforms/rng.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

const std::string kDir = test::fixtures_dir() + "/corenet-tiny-k8-w32";

Classifier open_fixture(int64_t top_k = 3) {
  ClassifierOptions o;
  o.model.config_path = kDir + "/config.yaml";
  o.model.weights = kDir + "/model.pt";
  o.model.numerics = Numerics::kCoreNet;
  o.top_k = top_k;
  o.max_batch_size = 4;
  return Classifier::open(o);
}

nlohmann::json expected() { return nlohmann::json::parse(test::read_text(kDir + "/expected.json")); }

TEST(Classifier, RawBytesGiveCoreNetLogits) {
  const Classifier clf = open_fixture();
  for (const auto& f : expected()["files"]) {
    const std::string name = f["file"].get<std::string>();
    const auto c = clf.classify(test::read_bytes(kDir + "/inputs/" + name), name, /*raw=*/true);
    ASSERT_TRUE(c.ok()) << c.error;
    EXPECT_EQ(c.input, "raw");
    EXPECT_EQ(c.num_bytes, f["num_bytes"].get<int64_t>()) << name;
    ASSERT_EQ(c.logits.size(), f["logits"].size()) << name;
    for (size_t i = 0; i < c.logits.size(); ++i) EXPECT_NEAR(c.logits[i], f["logits"][i].get<double>(), 1e-4) << name;
    // Probabilities are the softmax of the logits; top is sorted and names its classes.
    double sum = 0.0, denom = 0.0;
    for (float l : c.logits) denom += std::exp(static_cast<double>(l));
    for (size_t i = 0; i < c.probs.size(); ++i) {
      EXPECT_NEAR(c.probs[i], std::exp(static_cast<double>(c.logits[i])) / denom, 1e-6);
      sum += c.probs[i];
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    ASSERT_EQ(c.top.size(), 3u);
    EXPECT_GE(c.top[0].prob, c.top[1].prob);
    EXPECT_FLOAT_EQ(static_cast<float>(c.top[0].prob), c.probs[static_cast<size_t>(c.top[0].index)]);
  }
}

TEST(Classifier, BatchEqualsOneAtATime) {
  const Classifier clf = open_fixture();
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<std::string> names;
  for (const auto& f : expected()["files"]) {
    names.push_back(f["file"].get<std::string>());
    buffers.push_back(test::read_bytes(kDir + "/inputs/" + names.back()));
  }
  const auto batch = clf.classify_batch(buffers, names, /*raw=*/true);
  ASSERT_EQ(batch.size(), buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    const auto alone = clf.classify(buffers[i], names[i], true);
    EXPECT_EQ(batch[i].name, names[i]);
    for (size_t j = 0; j < alone.logits.size(); ++j) EXPECT_NEAR(batch[i].logits[j], alone.logits[j], 1e-4);
  }
  EXPECT_THROW(clf.classify_batch(buffers, {"one"}, true), std::invalid_argument);
}

TEST(Classifier, PipelineFeedsWhatBytePipelinePrepares) {
  const Classifier clf = open_fixture();
  ASSERT_TRUE(clf.uses_pipeline(false));  // the fixture config decodes and re-encodes (pil_save JPEG)
  const auto png = test::read_bytes(kDir + "/inputs/img1_40px.png");
  // The bytes eval's loader would feed for sample 5: the pipeline with sample 5's generator.
  auto index = std::make_shared<DatasetIndex>();
  const BytePipeline pipeline(BytePipelineOptions::from_config(clf.config(), Modality::kImage, false), index);
  torch::Generator gen = make_generator(sample_seed(0, 0, 5));
  const ByteSeq want = pipeline.prepare(png, "x.png", gen);
  const ModelInput in = clf.prepare(png, "x.png", /*raw=*/false, /*position=*/5);
  ASSERT_TRUE(in.error.empty()) << in.error;
  EXPECT_EQ(in.bytes, want);
  EXPECT_EQ(in.file_bytes, static_cast<int64_t>(png.size()));
  // classify() with the pipeline equals classify() of the prepared bytes fed raw.
  const auto via_pipeline = clf.classify(png, "x.png", false, 5);
  const std::vector<uint8_t> fed(want.begin(), want.end());
  const auto via_raw = clf.classify(fed, "x.jpg", true);
  ASSERT_TRUE(via_pipeline.ok()) << via_pipeline.error;
  EXPECT_EQ(via_pipeline.num_bytes, static_cast<int64_t>(fed.size()));
  EXPECT_NE(via_pipeline.input, "raw");
  EXPECT_EQ(via_pipeline.logits, via_raw.logits);
}

// A config without a decoding step (pil_save off: the model reads file bytes as they are)
// still runs its privacy transforms on them, as the eval loader does; raw skips them.
TEST(Classifier, PrivacyTransformsRunWithoutADecodingStep) {
  ClassifierOptions o;
  o.model.config_path = kDir + "/config.yaml";
  o.model.weights = kDir + "/model.pt";
  o.model.overrides = {"image_augmentation.pil_save.enable=false", "image_augmentation.byte_permutation.enable=true"};
  const Classifier clf = Classifier::open(o);
  const std::vector<uint8_t> file = {0, 1, 2, 3, 250, 251, 252, 253, 9, 9, 9, 9, 0, 0, 0, 0};
  EXPECT_TRUE(clf.uses_pipeline(false));
  EXPECT_FALSE(clf.uses_pipeline(true));
  EXPECT_EQ(clf.max_file_bytes(false), clf.max_file_bytes(true));  // nothing is decoded
  const auto table = byte_permutation_table();
  const ModelInput in = clf.prepare(file, "f.bin", /*raw=*/false, 0);
  ASSERT_TRUE(in.error.empty()) << in.error;
  ASSERT_EQ(in.bytes.size(), file.size());
  for (size_t i = 0; i < file.size(); ++i) EXPECT_EQ(in.bytes[i], table[file[i]]) << i;
  const ModelInput raw = clf.prepare(file, "f.bin", /*raw=*/true, 0);
  EXPECT_EQ(raw.bytes, to_byte_seq(file));
  EXPECT_NE(clf.input_description(false).find("byte_permutation"), std::string::npos) << clf.input_description(false);
  EXPECT_EQ(clf.input_description(true), "raw");
}

TEST(Classifier, BadBytesAreAnAnswerNotAnException) {
  const Classifier clf = open_fixture();
  const auto c = clf.classify({1, 2, 3, 4, 5}, "junk.bin", /*raw=*/false);
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.error.find("junk.bin"), std::string::npos) << c.error;
  EXPECT_TRUE(c.logits.empty());
  // Raw, any byte string is valid input.
  EXPECT_TRUE(clf.classify({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, "b", true).ok());
}

TEST(Classifier, ConcurrentCallersGetTheirOwnAnswers) {
  const Classifier clf = open_fixture();
  std::vector<std::vector<uint8_t>> buffers;
  for (const char* f : {"img0_32px.jpg", "img1_40px.png", "img2_48px.tiff", "tone0.wav"})
    buffers.push_back(test::read_bytes(kDir + "/inputs/" + f));
  std::vector<std::vector<float>> want;
  for (const auto& b : buffers) want.push_back(clf.classify(b, "w", true).logits);
  std::vector<std::vector<std::vector<float>>> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep)
        for (size_t i = 0; i < buffers.size(); ++i) got[t].push_back(clf.classify(buffers[(i + t) % 4], "c", true).logits);
    });
  }
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < 4; ++t) {
    ASSERT_EQ(got[t].size(), 12u);
    for (size_t k = 0; k < got[t].size(); ++k) {
      const auto& w = want[(k % 4 + t) % 4];
      ASSERT_EQ(got[t][k].size(), w.size());
      for (size_t j = 0; j < w.size(); ++j) EXPECT_NEAR(got[t][k][j], w[j], 1e-5);
    }
  }
}

TEST(Classifier, RefusesAMissingModel) {
  ClassifierOptions o;
  o.model.config_path = kDir + "/config.yaml";  // no weights, and the config names none
  EXPECT_THROW(Classifier::open(o), std::invalid_argument);
  o.model.weights = kDir + "/model.pt";
  o.top_k = 0;
  EXPECT_THROW(Classifier::open(o), std::invalid_argument);
}

// A run folder as `byteformer train` leaves it, with the fixture's config and weights.
std::string make_run(const std::string& tag, const std::string& metrics, bool best, bool ema) {
  const std::string dir = test::make_temp_dir(tag);
  fs::copy_file(kDir + "/config.yaml", dir + "/config.yaml");
  if (best) fs::copy_file(kDir + "/model.pt", dir + "/checkpoint_best.pt");
  if (ema) fs::copy_file(kDir + "/model.pt", dir + "/checkpoint_ema_best.pt");
  std::ofstream(dir + "/metrics.jsonl") << metrics;
  return dir;
}

TEST(RunFolder, PicksTheBetterOfBestAndEma) {
  const std::string ema_wins = make_run("run_ema", "{\"val_top1\": 50.0, \"ema_val_top1\": 40.0}\n"
                                                   "{\"val_top1\": 60.0, \"ema_val_top1\": 61.5}\n",
                                        true, true);
  RunFolder r = find_run_folder(ema_wins);
  EXPECT_TRUE(r.ema);
  EXPECT_EQ(r.weights, ema_wins + "/checkpoint_ema_best.pt");
  EXPECT_DOUBLE_EQ(r.val_top1, 61.5);
  EXPECT_EQ(r.config, ema_wins + "/config.yaml");

  // A tie keeps the plain weights; a partial last line (a run killed mid-write) is ignored.
  const std::string best_wins =
      make_run("run_best", "{\"val_top1\": 70.0, \"ema_val_top1\": 70.0}\n{\"val_to", true, true);
  r = find_run_folder(best_wins);
  EXPECT_FALSE(r.ema);
  EXPECT_EQ(r.weights, best_wins + "/checkpoint_best.pt");
  EXPECT_DOUBLE_EQ(r.val_top1, 70.0);

  // The classifier opens it: the same numbers as config + weights.
  ClassifierOptions o;
  o.run_dir = best_wins;
  o.model.numerics = Numerics::kCoreNet;
  const Classifier clf = Classifier::open(o);
  EXPECT_EQ(clf.weights_path(), best_wins + "/checkpoint_best.pt");
  const auto jpg = test::read_bytes(kDir + "/inputs/img0_32px.jpg");
  EXPECT_EQ(clf.classify(jpg, "a", true).logits, open_fixture().classify(jpg, "a", true).logits);
  o.model.config_path = kDir + "/config.yaml";
  EXPECT_THROW(Classifier::open(o), std::invalid_argument);  // --model with --config
}

std::string error_of(const std::string& dir) {
  try {
    find_run_folder(dir);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(RunFolder, ErrorsNameTheFolderAndWhatIsMissing) {
  EXPECT_NE(error_of("/nonexistent/run").find("/nonexistent/run: not a directory"), std::string::npos);
  const std::string no_ckpt = make_run("run_none", "", false, false);
  EXPECT_NE(error_of(no_ckpt).find("no checkpoint_best.pt"), std::string::npos) << error_of(no_ckpt);
  const std::string no_config = test::make_temp_dir("run_noconfig");
  EXPECT_NE(error_of(no_config).find("no config.yaml"), std::string::npos) << error_of(no_config);
  const std::string bad = make_run("run_bad", "{\"val_top1\": 1}\nnot json\n{\"val_top1\": 2}\n", true, false);
  EXPECT_NE(error_of(bad).find("metrics.jsonl:2: not JSON"), std::string::npos) << error_of(bad);
}

}  // namespace
}  // namespace byteformer
