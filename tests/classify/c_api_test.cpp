// The C API (include/byteformer/byteformer_c.h) from a plain C program (c_api_program.c):
// its logits equal the C++ Classifier's, which match CoreNet's fixture numbers, and its errors
// name the caller's paths and arguments, not the CLI's flags.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "byteformer/classify/classifier.h"
#include "byteformer/model/precision.h"
#include "test_util.h"

namespace byteformer {
namespace {

const std::string kDir = test::fixtures_dir() + "/corenet-tiny-k8-w32";

test::CommandResult run_program(const std::string& file, int raw, const std::string& config = kDir + "/config.yaml",
                                const std::string& device = "", const std::string& weights = kDir + "/model.pt",
                                const std::string& precision = "") {
  return test::run_command(std::string(BYTEFORMER_C_API_PROGRAM) + " '" + config + "' '" + weights + "' '" + file +
                           "' " + std::to_string(raw) + (device.empty() ? "" : " '" + device + "'") +
                           (precision.empty() ? "" : " '" + precision + "'"));
}

// The program's "precision P" line ("" when none), and the class index of its rank 0 (-1).
std::string precision_of(const test::CommandResult& r) {
  const size_t at = r.out.find("\nprecision ");
  if (at == std::string::npos) return "";
  const size_t from = at + std::string("\nprecision ").size();
  return r.out.substr(from, r.out.find('\n', from) - from);
}

int64_t top_index(const test::CommandResult& r) {
  const size_t at = r.out.find("\nrank 0 ");
  return at == std::string::npos ? -1 : std::stoll(r.out.substr(at + std::string("\nrank 0 ").size()));
}

// The message of a failed open ("open_error MESSAGE"), or "" when it opened.
std::string open_error(const test::CommandResult& r) {
  const std::string tag = "open_error ";
  const size_t at = r.out.find(tag);
  if (at == std::string::npos) return "";
  return r.out.substr(at + tag.size(), r.out.find('\n', at) - at - tag.size());
}

TEST(CApi, CProgramGetsTheClassifiersAnswer) {
  const std::string file = kDir + "/inputs/img2_48px.png";
  for (int raw : {1, 0}) {
    const auto r = run_program(file, raw);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    ClassifierOptions o;
    o.model.config_path = kDir + "/config.yaml";
    o.model.weights = kDir + "/model.pt";
    const Classifier clf = Classifier::open(o);
    const auto want = clf.classify(test::read_bytes(file), file, raw != 0);
    ASSERT_TRUE(want.ok()) << want.error;
    std::istringstream in(r.out);
    std::string line;
    std::map<int64_t, double> logits;
    int64_t bytes = -1, top_index = -1;
    bool saw_version = false;
    while (std::getline(in, line)) {
      std::istringstream l(line);
      std::string key;
      l >> key;
      if (key == "version") saw_version = line.find("byteformer ") != std::string::npos;
      if (key == "bytes") l >> bytes;
      if (key == "logit") {
        int64_t i = 0;
        double v = 0;
        l >> i >> v;
        logits[i] = v;
      }
      if (key == "rank") {
        int64_t k = 0, idx = 0;
        l >> k >> idx;
        if (k == 0) top_index = idx;
      }
    }
    EXPECT_TRUE(saw_version) << r.out;
    EXPECT_NE(r.out.find("classes " + std::to_string(want.logits.size())), std::string::npos) << r.out;
    EXPECT_EQ(bytes, want.num_bytes);
    ASSERT_EQ(logits.size(), want.logits.size()) << r.out;
    for (size_t i = 0; i < want.logits.size(); ++i) EXPECT_NEAR(logits[static_cast<int64_t>(i)], want.logits[i], 1e-5);
    EXPECT_EQ(top_index, want.top[0].index);
  }
}

TEST(CApi, UndecodableBytesAreAResultWithAnError) {
  const std::string dir = test::make_temp_dir("capi");
  test::write_bytes(dir + "/junk.png", {1, 2, 3});
  const auto r = run_program(dir + "/junk.png", 0);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error " + dir + "/junk.png"), std::string::npos) << r.out;
}

TEST(CApi, OpenFailureIsAMessage) {
  const auto r = run_program(kDir + "/inputs/img0_32px.jpg", 1, "/nonexistent.yaml");
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.out.find("open_error "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/nonexistent.yaml"), std::string::npos) << r.out;
}

// A C caller passed paths and arguments, not the CLI's flags: the messages name those.
TEST(CApi, OpenErrorsNamePathsAndArgumentsNotFlags) {
  const std::string dir = test::make_temp_dir("capi_open");
  const auto not_run = test::run_command(std::string(BYTEFORMER_C_API_PROGRAM) + " open_run '" + dir + "'");
  EXPECT_EQ(not_run.exit_code, 2) << not_run.out << not_run.err;
  EXPECT_EQ(open_error(not_run).rfind("run folder " + dir + ": no config.yaml", 0), 0u) << not_run.out;
  const auto missing = test::run_command(std::string(BYTEFORMER_C_API_PROGRAM) + " open_run /nonexistent/run");
  EXPECT_EQ(open_error(missing).rfind("run folder /nonexistent/run: not a directory", 0), 0u) << missing.out;
  const auto empty = test::run_command(std::string(BYTEFORMER_C_API_PROGRAM) + " open_run ''");
  EXPECT_EQ(open_error(empty), "byteformer_open_run: run_dir is empty") << empty.out;

  const std::string file = kDir + "/inputs/img2_48px.png";
  const auto no_weights = run_program(file, 1, kDir + "/config.yaml", "", /*weights=*/"");
  EXPECT_EQ(no_weights.exit_code, 2) << no_weights.out;
  EXPECT_EQ(open_error(no_weights).rfind("no weights: pass a weights file as weights_path or set "
                                         "model.classification.pretrained in " + kDir + "/config.yaml", 0),
            0u)
      << no_weights.out;
  const auto no_config = run_program(file, 1, /*config=*/"");
  EXPECT_EQ(open_error(no_config), "byteformer_open: config_path is empty") << no_config.out;
  const auto no_gpu = run_program(file, 1, kDir + "/config.yaml", "cuda");
  for (const auto* r : {&not_run, &missing, &empty, &no_weights, &no_config, &no_gpu})
    for (const char* flag : {"--model", "--config", "--weights", "--device"})
      EXPECT_EQ(r->out.find(flag), std::string::npos) << flag << " in " << r->out;
  std::filesystem::remove_all(dir);
}

TEST(CApi, OpenOnADevice) {
  const std::string file = kDir + "/inputs/img2_48px.png";
  const auto cpu = run_program(file, 1, kDir + "/config.yaml", "cpu");
  ASSERT_EQ(cpu.exit_code, 0) << cpu.out << cpu.err;
  const auto plain = run_program(file, 1);
  EXPECT_EQ(cpu.out, plain.out);  // byteformer_open is byteformer_open_on(..., "cpu")
  const auto bad = run_program(file, 1, kDir + "/config.yaml", "tpu");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("open_error device tpu: expected cpu, cuda, cuda:N or auto"), std::string::npos) << bad.out;
  if (torch::cuda::device_count() == 0) {
    const auto cuda = run_program(file, 1, kDir + "/config.yaml", "cuda");
    EXPECT_EQ(cuda.exit_code, 2) << cuda.out;
    EXPECT_NE(cuda.out.find("open_error device cuda: no CUDA device here"), std::string::npos) << cuda.out;
  }
}

// byteformer_open_with's precision: fp32 is byteformer_open's answer; auto runs what
// choose_auto_precision picks on this machine and keeps the top-1; int8 keeps it too where it runs
// and is an open error saying why where it does not; a misspelled precision is an open error
// naming it and the spellings accepted.
TEST(CApi, OpenWithAPrecision) {
  const std::string file = kDir + "/inputs/img2_48px.png", config = kDir + "/config.yaml",
                    weights = kDir + "/model.pt";
  const auto plain = run_program(file, 1);
  ASSERT_EQ(plain.exit_code, 0) << plain.out << plain.err;
  EXPECT_EQ(precision_of(plain), "fp32") << plain.out;
  const auto fp32 = run_program(file, 1, config, "cpu", weights, "fp32");
  EXPECT_EQ(fp32.out, plain.out);

  const auto automatic = run_program(file, 1, config, "cpu", weights, "auto");
  ASSERT_EQ(automatic.exit_code, 0) << automatic.out << automatic.err;
  const AutoPrecision want = choose_auto_precision(detect_precision_features());
  ASSERT_TRUE(want.precision.has_value());
  EXPECT_EQ(precision_of(automatic), to_string(*want.precision)) << want.reason;
  EXPECT_EQ(top_index(automatic), top_index(plain)) << automatic.out;

  const auto int8 = run_program(file, 1, config, "cpu", weights, "int8");
  if (int8_unavailable_reason().empty()) {
    ASSERT_EQ(int8.exit_code, 0) << int8.out << int8.err;
    EXPECT_EQ(precision_of(int8), "int8");
    EXPECT_EQ(top_index(int8), top_index(plain)) << int8.out;
  } else {
    EXPECT_EQ(int8.exit_code, 2) << int8.out;
    EXPECT_NE(open_error(int8).find("int8 products need"), std::string::npos) << int8.out;
  }

  const auto bad = run_program(file, 1, config, "cpu", weights, "fp16");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_EQ(open_error(bad), "precision 'fp16': expected fp32 (float32), bf16 (bfloat16), int8 or auto") << bad.out;
}

}  // namespace
}  // namespace byteformer
