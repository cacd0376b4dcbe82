// `byteformer predict --precision int8` and `eval --precision int8` end to end through the real
// CLI on the fixture model (shared/fixtures/corenet-tiny-k8-w32).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "byteformer/model/precision.h"
#include "test_util.h"

namespace byteformer {
namespace {

const std::string kDir = test::fixtures_dir() + "/corenet-tiny-k8-w32";
const std::string kFile = kDir + "/inputs/img1_40px.jpg";

std::string predict(const std::string& args) {
  return test::cli_path() + " predict --threads 1 --config " + kDir + "/config.yaml --weights " + kDir +
         "/model.pt " + args;
}

nlohmann::json first_json(const test::CommandResult& r) {
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, line);
  return nlohmann::json::parse(line);
}

// One file in int8: the float32 answer's class, logits within 3% of the largest float32 logit
// (the model test's bound, Int8.FixtureModelKeepsItsTopOneInInt8). Where int8 cannot run, an error that says
// why (no oneDNN, no VNNI) and no answer.
TEST(PrecisionInt8Cli, PredictOneFileInInt8) {
  const auto fp32 = test::run_command(predict("--raw --json " + kFile));
  const auto int8 = test::run_command(predict("--raw --json --precision int8 " + kFile));
  ASSERT_EQ(fp32.exit_code, 0) << fp32.err;
  if (!int8_unavailable_reason().empty()) {
    EXPECT_NE(int8.exit_code, 0);
    EXPECT_NE(int8.err.find("int8 products need"), std::string::npos) << int8.err;
    return;
  }
  ASSERT_EQ(int8.exit_code, 0) << int8.err;
  const auto a = first_json(fp32), b = first_json(int8);
  EXPECT_EQ(a["top"][0]["label"], b["top"][0]["label"]);
  const auto& la = a["logits"];
  const auto& lb = b["logits"];
  ASSERT_EQ(la.size(), lb.size());
  double most = 0, span = 0;
  for (size_t i = 0; i < la.size(); ++i) {
    most = std::max(most, std::abs(la[i].get<double>() - lb[i].get<double>()));
    span = std::max(span, std::abs(la[i].get<double>()));
  }
  EXPECT_GT(most, 0.0);
  EXPECT_LT(most, 0.03 * span);
}

// identify with the shipped file-type model in int8: the float32 answers, scores within 0.02.
TEST(PrecisionInt8Cli, IdentifyInInt8AnswersAsFloat32) {
  const std::string files = "/bin/ls /usr/lib/python3.11/os.py " + kFile;
  const std::string identify = test::cli_path() + " identify --json --mode best-guess --model " + test::source_dir() +
                               "/models/file-types ";
  const auto fp32 = test::run_command(identify + files);
  const auto int8 = test::run_command(identify + "--precision int8 " + files);
  ASSERT_EQ(fp32.exit_code, 0) << fp32.err;
  if (!int8_unavailable_reason().empty()) {
    EXPECT_NE(int8.exit_code, 0);
    return;
  }
  ASSERT_EQ(int8.exit_code, 0) << int8.err;
  std::istringstream a(fp32.out), b(int8.out);
  int n = 0;
  for (std::string la, lb; std::getline(a, la) && std::getline(b, lb); ++n) {
    const auto ja = nlohmann::json::parse(la), jb = nlohmann::json::parse(lb);
    EXPECT_EQ(ja["label"], jb["label"]) << la << "\n" << lb;
    EXPECT_NEAR(ja["score"].get<double>(), jb["score"].get<double>(), 0.02) << la << "\n" << lb;
  }
  EXPECT_EQ(n, 3);
}

TEST(PrecisionInt8Cli, IsOneOfThePrecisionChoices) {
  const auto help = test::run_command(predict("--help"));
  EXPECT_NE(help.out.find("int8"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace byteformer
