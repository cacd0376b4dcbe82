// `--precision int8` (predict, eval, identify) and `--precision auto` (predict; eval refuses it),
// and `byteformer --version`'s precisions, end to end through the real CLI on the fixture model
// (shared/fixtures/corenet-tiny-k8-w32).
#include <fmt/format.h>
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

std::string with_model(const std::string& command, const std::string& args) {
  return test::cli_path() + " " + command + " --threads 1 --config " + kDir + "/config.yaml --weights " + kDir +
         "/model.pt " + args;
}

std::string predict(const std::string& args) { return with_model("predict", args); }

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

// predict --precision auto on a real file: the stderr line names what this machine's build and
// CPU picked (choose_auto_precision), and the answer's top-1 is float32's.
TEST(PrecisionAutoCli, PredictPicksAndKeepsTheTopOne) {
  const AutoPrecision want = choose_auto_precision(detect_precision_features());
  ASSERT_TRUE(want.precision.has_value());
  const auto fp32 = test::run_command(with_model("predict", "--raw --json " + kFile));
  const auto automatic = test::run_command(with_model("predict", "--raw --json --precision auto " + kFile));
  ASSERT_EQ(fp32.exit_code, 0) << fp32.err;
  ASSERT_EQ(automatic.exit_code, 0) << automatic.err;
  const std::string line = fmt::format("precision auto: {} ({})\n", to_string(*want.precision), want.reason);
  const size_t at = automatic.err.find(line);
  EXPECT_NE(at, std::string::npos) << automatic.err;
  EXPECT_EQ(automatic.err.find("precision auto:", at + 1), std::string::npos) << "printed twice: " << automatic.err;
  EXPECT_EQ(first_json(automatic)["top"][0]["label"], first_json(fp32)["top"][0]["label"]);
}

// eval's numbers stay exact unless told: auto is refused, saying what eval takes.
TEST(PrecisionAutoCli, EvalRefusesAuto) {
  const auto r = test::run_command(with_model("eval", "--precision auto"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--precision: auto is for predict, serve and identify; eval runs fp32 unless told, for exact "
                       "numbers: expected fp32, bf16 or int8"),
            std::string::npos)
      << r.err;
}

TEST(PrecisionAutoCli, AMisspelledPrecisionNamesTheChoices) {
  const auto r = test::run_command(with_model("predict", "--precision fp16 " + kFile));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--precision: expected fp32 (float32), bf16 (bfloat16), int8 or auto, got 'fp16'"),
            std::string::npos)
      << r.err;
}

// --version: what this build and CPU run, and what auto picks (precision_summary of this machine).
TEST(PrecisionAutoCli, VersionShowsThePrecisions) {
  const auto r = test::run_command(test::cli_path() + " --version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string summary = precision_summary(detect_precision_features());
  EXPECT_NE(r.out.find(summary), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("precisions: fp32, bf16 ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nprecision auto: "), std::string::npos) << r.out;
  const bool int8 = int8_unavailable_reason().empty();
  EXPECT_EQ(r.out.find(", int8 (oneDNN ") != std::string::npos, int8) << r.out;
  EXPECT_EQ(r.out.find("; int8: no (") != std::string::npos, !int8) << r.out;
  // oneDNN switched off: int8 does not run, and --version says why.
  const auto off = test::run_command("BYTEFORMER_ONEDNN=0 " + test::cli_path() + " --version");
  ASSERT_EQ(off.exit_code, 0) << off.err;
  if (r.out.find("oneDNN fast paths: built") != std::string::npos)
    EXPECT_NE(off.out.find("int8: no (oneDNN switched off: BYTEFORMER_ONEDNN=0)"), std::string::npos) << off.out;
}

}  // namespace
}  // namespace byteformer
