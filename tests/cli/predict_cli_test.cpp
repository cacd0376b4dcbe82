// The real CLI on the real fixture files (`byteformer predict` / `info`).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace byteformer {
namespace {

const std::string kDir = test::fixtures_dir() + "/corenet-tiny-k8-w32";

std::string predict_cmd(const std::string& extra) {
  return test::cli_path() + " predict --raw --threads 1 --config " + kDir + "/config.yaml --weights " + kDir +
         "/model.pt " + extra;
}

void check_against_expected(const std::string& batch_flag) {
  const auto expected = nlohmann::json::parse(test::read_text(kDir + "/expected.json"));
  std::string files;
  for (const auto& f : expected["files"]) files += " " + kDir + "/inputs/" + f["file"].get<std::string>();
  const auto r = test::run_command(predict_cmd("--numerics corenet --json " + batch_flag + files));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  size_t i = 0;
  while (std::getline(lines, line)) {
    ASSERT_LT(i, expected["files"].size());
    const auto got = nlohmann::json::parse(line);
    const auto& want = expected["files"][i];
    EXPECT_EQ(got["file"].get<std::string>(), kDir + "/inputs/" + want["file"].get<std::string>());
    EXPECT_EQ(got["num_bytes"], want["num_bytes"]);
    ASSERT_EQ(got["logits"].size(), want["logits"].size());
    for (size_t c = 0; c < want["logits"].size(); ++c)  // 1e-4 absolute, the bound
      EXPECT_NEAR(got["logits"][c].get<double>(), want["logits"][c].get<double>(), 1e-4) << line;
    ASSERT_EQ(got["top"].size(), 5u);
    double prev = 1.0;
    for (const auto& t : got["top"]) {
      EXPECT_LE(t["prob"].get<double>(), prev);
      prev = t["prob"].get<double>();
      EXPECT_EQ(t["label"].get<std::string>(), std::to_string(t["index"].get<int>()));
    }
    ++i;
  }
  EXPECT_EQ(i, expected["files"].size());
}

TEST(PredictCli, MatchesCoreNetOneFileABatch) { check_against_expected("--batch-size 1"); }
TEST(PredictCli, MatchesCoreNetAllFilesInOneBatch) { check_against_expected("--batch-size 10"); }

TEST(PredictCli, CoreNetSpellingAndLabelsFile) {
  const auto dir = test::make_temp_dir("labels");
  std::string labels;
  for (int i = 0; i < 10; ++i) labels += "class_" + std::to_string(i) + "\n";
  test::write_bytes(dir + "/labels.txt", std::vector<uint8_t>(labels.begin(), labels.end()));
  const auto r = test::run_command(test::cli_path() + " predict --raw --threads 1 --common.config-file " + kDir +
                                   "/config.yaml --model.classification.pretrained " + kDir +
                                   "/model.pt --labels " + dir + "/labels.txt --top-k 2 " + kDir +
                                   "/inputs/img0_32px.tiff");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // CoreNet's top class for this file is index 1 (expected.json: logit 2.688).
  EXPECT_NE(r.out.find("img0_32px.tiff (3212 bytes):  class_1 "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("using --numerics corenet"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

TEST(PredictCli, ErrorsNameTheFile) {
  const auto dir = test::make_temp_dir("bad");
  test::write_bytes(dir + "/short.bin", {1, 2, 3});
  auto r = test::run_command(predict_cmd(dir + "/short.bin"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: " + dir + "/short.bin: input has 3 bytes, fewer than conv_kernel_size 8"),
            std::string::npos)
      << r.err;
  // max_num_tokens 2048 with k=8: (L - 8) / 4 + 1 > 2048 from L = 8200.
  test::write_bytes(dir + "/long.bin", std::vector<uint8_t>(8200, 7));
  r = test::run_command(predict_cmd(dir + "/long.bin"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("long.bin: input of 8200 bytes gives 2049 tokens after the Conv1d, more than max_num_tokens 2048"), std::string::npos)
      << r.err;
  r = test::run_command(predict_cmd(dir + "/missing.bin"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.bin: cannot open"), std::string::npos) << r.err;
  // A checkpoint that is not one.
  r = test::run_command(test::cli_path() + " predict --config " + kDir + "/config.yaml --weights " + dir +
                        "/long.bin " + kDir + "/inputs/img0_32px.jpg");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("long.bin: not a valid torch.save archive"), std::string::npos) << r.err;
  // A config that describes another model: the missing/mismatched key is named.
  r = test::run_command(predict_cmd("--override model.classification.byteformer.conv_kernel_size=4 " + kDir +
                                    "/inputs/img0_32px.jpg"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("token_reduction_net.weight"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

TEST(InfoCli, CountsParametersTokensAndFlops) {
  const auto r = test::run_command(test::cli_path() + " info --json --input-bytes 4000 --config " + kDir +
                                   "/config.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["parameters"], 6522826);
  const auto& stages = j["stages"];
  // 4000 bytes, k=8 stride 4: (4000-8)/4+1 = 999 tokens; merges halve, rounding up.
  EXPECT_EQ(stages[1]["name"], "conv1d");
  EXPECT_EQ(stages[1]["tokens"], 999);
  EXPECT_DOUBLE_EQ(stages[1]["flops"].get<double>(), 2.0 * 999 * 192 * 192 * 8);
  EXPECT_EQ(stages[3]["name"], "downsample_0");
  EXPECT_EQ(stages[3]["tokens"], 500);
  EXPECT_EQ(stages[5]["tokens"], 250);
  EXPECT_GT(j["flops"].get<double>(), stages[1]["flops"].get<double>());
}

TEST(InfoCli, UnknownKeyAndBadValueAreNamed) {
  auto r = test::run_command(test::cli_path() + " info --config " + kDir +
                             "/config.yaml --override model.classification.byteformer.windw_sizes=[3]");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("windw_sizes"), std::string::npos) << r.err;
  r = test::run_command(test::cli_path() + " info --config " + kDir +
                        "/config.yaml --common.override-kwargs model.classification.byteformer.max_num_tokens=lots");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("max_num_tokens' = lots"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace byteformer
