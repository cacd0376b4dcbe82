// io/run_folder.h: the run folder's files, the choice of weights, and the one rule for reading
// metrics.jsonl (a killed run's cut-short last line is ignored, any other bad line is an error).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "byteformer/io/run_folder.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

template <typename E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

TEST(RunFolder, JsonLinesIgnoreOnlyALastLineCutShort) {
  const std::string dir = test::make_temp_dir("jsonl");
  const std::string path = dir + "/metrics.jsonl";
  // What a run killed during an append leaves: the last line without its newline.
  write(path, "{\"epoch\": 1, \"val_top1\": 50}\n\n{\"epoch\": 2, \"val_top1\": 60}\n{\"epoch\": 3, \"val_t");
  const auto lines = read_json_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["epoch"], 2);
  // A complete last line that is not JSON is damage, not a cut-short append.
  write(path, "{\"epoch\": 1}\nnot json\n");
  EXPECT_NE(error_of<std::runtime_error>([&] { read_json_lines(path); }).find("metrics.jsonl:2: not JSON"),
            std::string::npos);
  write(path, "{\"epoch\": 1}\nnot json\n{\"epoch\": 2}\n");
  EXPECT_NE(error_of<std::runtime_error>([&] { read_json_lines(path); }).find("metrics.jsonl:2: not JSON"),
            std::string::npos);
  write(path, "[1, 2]\n");
  EXPECT_NE(error_of<std::runtime_error>([&] { read_json_lines(path); }).find("metrics.jsonl:1: not a JSON object"),
            std::string::npos);
  // Appending after a clean file gives one more record.
  write(path, "{\"epoch\": 1}\n");
  append_json_line(path, {{"epoch", 2}});
  EXPECT_EQ(read_json_lines(path).size(), 2u);
  fs::remove_all(dir);
}

TEST(RunFolder, FindsTheBetterWeightsOfAKilledRun) {
  const std::string dir = test::make_temp_dir("run_killed");
  const RunFiles files(dir);
  write(files.config(), "common:\n  run_label: x\n");
  write(files.best(), "weights");
  write(files.ema_best(), "weights");
  write(files.metrics(), "{\"val_top1\": 60.0, \"ema_val_top1\": 61.5}\n{\"val_top1\": 90.0, \"ema_v");
  const RunFolder run = find_run_folder(dir);
  EXPECT_TRUE(run.ema);
  EXPECT_EQ(run.weights, files.ema_best());
  EXPECT_DOUBLE_EQ(run.val_top1, 61.5);
  EXPECT_EQ(run.config, files.config());
  fs::remove(files.ema_best());
  EXPECT_EQ(find_run_folder(dir).weights, files.best());
  fs::remove(files.best());
  EXPECT_NE(error_of<std::invalid_argument>([&] { find_run_folder(dir); }).find("no checkpoint_best.pt"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(RunFolder, EvalSamplesRoundTrip) {
  const std::string dir = test::make_temp_dir("eval_samples");
  const std::vector<EvalSample> samples = {{"a.png", "Coat", "Shirt", 0.75, 0.125}, {"b \"q\".png", "Bag", "Bag", 1.0, 1.0}};
  write_eval_samples(dir + "/p.jsonl", samples);
  const auto back = read_eval_samples(dir + "/p.jsonl");
  ASSERT_EQ(back.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back[i].file, samples[i].file);
    EXPECT_EQ(back[i].label, samples[i].label);
    EXPECT_EQ(back[i].predicted, samples[i].predicted);
    EXPECT_EQ(back[i].prob, samples[i].prob);
    EXPECT_EQ(back[i].label_prob, samples[i].label_prob);
  }
  write(dir + "/bad.jsonl", "{\"file\": \"a\", \"label\": \"x\"}\n");
  EXPECT_NE(error_of<std::runtime_error>([&] { read_eval_samples(dir + "/bad.jsonl"); }).find("bad.jsonl:1: expected an eval --predictions record"),
            std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace byteformer
