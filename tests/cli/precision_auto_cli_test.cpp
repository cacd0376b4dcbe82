// `--precision auto` and `byteformer --version`'s precisions, end to end through the real CLI on
// the fixture model (shared/fixtures/corenet-tiny-k8-w32).
#include <gtest/gtest.h>

#include <fmt/format.h>

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

nlohmann::json first_json(const test::CommandResult& r) {
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, line);
  return nlohmann::json::parse(line);
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
