// `byteformer predict --model RUN_DIR`, --threshold, the flags' messages and --version, through
// the real CLI on the fixture model (shared/fixtures/corenet-tiny-k8-w32).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

const std::string kDir = test::fixtures_dir() + "/corenet-tiny-k8-w32";
const std::string kFile = kDir + "/inputs/img1_40px.jpg";

std::string cli(const std::string& args) { return test::cli_path() + " " + args; }
std::string with_config(const std::string& args) {
  return cli("predict --threads 1 --config " + kDir + "/config.yaml --weights " + kDir + "/model.pt " + args);
}

nlohmann::json one_json(const test::CommandResult& r) {
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, line);
  return nlohmann::json::parse(line);
}

TEST(PredictModelCli, RunFolderGivesTheSameAnswerAsConfigAndWeights) {
  const std::string run = test::make_temp_dir("predict_run");
  fs::copy_file(kDir + "/config.yaml", run + "/config.yaml");
  fs::copy_file(kDir + "/model.pt", run + "/checkpoint_best.pt");
  fs::copy_file(kDir + "/model.pt", run + "/checkpoint_ema_best.pt");
  std::ofstream(run + "/metrics.jsonl") << "{\"val_top1\": 10.0, \"ema_val_top1\": 12.0}\n";
  const auto a = test::run_command(cli("predict --threads 1 --raw --json --model " + run + " " + kFile));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(a.err.find("predict: weights " + run + "/checkpoint_ema_best.pt"), std::string::npos) << a.err;
  const auto b = test::run_command(with_config("--raw --json " + kFile));
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(one_json(a)["logits"], one_json(b)["logits"]);

  // --model excludes --config; neither is an error naming both.
  const auto both = test::run_command(cli("predict --model " + run + " --config " + kDir + "/config.yaml " + kFile));
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
  const auto none = test::run_command(cli("predict " + kFile));
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("--config (or --model RUN_DIR)"), std::string::npos) << none.err;
  const auto not_run = test::run_command(cli("predict --model " + kDir + "/inputs " + kFile));
  EXPECT_NE(not_run.exit_code, 0);
  EXPECT_NE(not_run.err.find("no config.yaml"), std::string::npos) << not_run.err;
}

TEST(PredictModelCli, ThresholdSaysUnknownBelowIt) {
  const auto sure = test::run_command(with_config("--raw --json " + kFile));
  ASSERT_EQ(sure.exit_code, 0) << sure.err;
  const auto j = one_json(sure);
  EXPECT_EQ(j["label"], j["top"][0]["label"]);
  const auto unsure = test::run_command(with_config("--raw --json --threshold 1 " + kFile));
  ASSERT_EQ(unsure.exit_code, 0) << unsure.err;
  EXPECT_EQ(one_json(unsure)["label"], "unknown");
  EXPECT_EQ(one_json(unsure)["top"], j["top"]);  // the classes are still given
  const auto text = test::run_command(with_config("--raw --threshold 1 " + kFile));
  EXPECT_NE(text.out.find("unknown (top probability below 1)"), std::string::npos) << text.out;
  const auto bad = test::run_command(with_config("--threshold 1.5 " + kFile));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--threshold"), std::string::npos) << bad.err;
}

TEST(PredictModelCli, ZeroTopKAndBatchSizeGetReadableMessages) {
  for (const char* flag : {"--top-k", "--batch-size"}) {
    const auto r = test::run_command(with_config(std::string(flag) + " 0 " + kFile));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("expected a positive integer, got 0"), std::string::npos) << flag << ": " << r.err;
    EXPECT_EQ(r.err.find("1797"), std::string::npos) << r.err;
  }
}

double largest_difference(const nlohmann::json& a, const nlohmann::json& b) {
  EXPECT_EQ(a.size(), b.size());
  double most = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    most = std::max(most, std::abs(a[i].get<double>() - b[i].get<double>()));
  return most;
}

// The fixture's config sets common.mixed_precision (as CoreNet's recipes do). On the CPU that
// leaves inference in float32 (CoreNet's autocast is CUDA's); --precision bf16, or its older
// spelling --mixed-precision, runs bf16 autocast.
TEST(PredictModelCli, PrecisionIsFloat32OnTheCpuUnlessBf16IsAsked) {
  const auto plain = test::run_command(with_config("--raw --json " + kFile));
  const auto fp32 = test::run_command(with_config("--raw --json --precision fp32 " + kFile));
  const auto bf16 = test::run_command(with_config("--raw --json --precision bf16 " + kFile));
  const auto mixed = test::run_command(with_config("--raw --json --mixed-precision " + kFile));
  for (const auto* r : {&plain, &fp32, &bf16, &mixed}) ASSERT_EQ(r->exit_code, 0) << r->err;
  const auto logits = [](const test::CommandResult& r) { return one_json(r)["logits"]; };
  EXPECT_EQ(logits(plain), logits(fp32));
  EXPECT_EQ(logits(bf16), logits(mixed));
  const double most = largest_difference(logits(fp32), logits(bf16));
  EXPECT_GT(most, 0.0);   // bf16 products round differently ...
  EXPECT_LT(most, 0.25);  // ... but stay close (bf16 keeps 8 bits of mantissa)

  const auto bad = test::run_command(with_config("--precision fp16 " + kFile));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--precision"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("fp16"), std::string::npos) << bad.err;
  const auto both = test::run_command(with_config("--precision fp32 --mixed-precision " + kFile));
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
}

TEST(PredictModelCli, NoProgressBarWhenStderrIsNotATerminal) {
  const auto r = test::run_command(with_config("--raw " + kDir + "/inputs/*"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("files/s"), std::string::npos) << r.err;
}

TEST(PredictModelCli, VersionNamesLibTorchBlasOneDnnAndCuda) {
  const auto r = test::run_command(cli("--version"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("byteformer 0."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("LibTorch "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("BLAS: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("blas"), std::string::npos) << r.out;  // the library loaded, by path
  EXPECT_NE(r.out.find("oneDNN fast paths: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CUDA: "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace byteformer
