// End to end through the real CLI: generate tiny image and audio datasets, `train` a tiny model
// for a few steps, `eval` (in our spelling and CoreNet's), `predict`.
#include <gtest/gtest.h>

#include <set>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"
#include "train/tiny_data.h"

namespace byteformer {
namespace {

std::string cli() { return test::cli_path(); }
std::string config(const std::string& name) { return test::source_dir() + "/configs/test/" + name; }

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(test::read_text(path));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(EndToEnd, TrainEvalPredictImages) {
  const std::string root = test::make_temp_dir("e2e_img");
  test::make_tiny_images(root, 16, 4, /*broken=*/true);
  const std::string overrides = " --override dataset.root_train=" + root + "/train --override dataset.root_val=" +
                                root + "/val --override common.results_loc=" + root + "/results";
  const auto train = test::run_command(cli() + " train --threads 1 --config " + config("tiny_image.yaml") + overrides);
  ASSERT_EQ(train.exit_code, 0) << train.out << train.err;
  EXPECT_NE(train.out.find("best top1"), std::string::npos) << train.out;
  EXPECT_NE(train.err.find("zz_broken.png"), std::string::npos) << train.err;  // reported with its path
  EXPECT_NE(train.err.find("skipped 1"), std::string::npos) << train.err;      // and counted
  EXPECT_NE(train.err.find("samples/s"), std::string::npos);

  const std::string run = root + "/results/tiny_image";
  const auto metrics = read_jsonl(run + "/metrics.jsonl");
  ASSERT_EQ(metrics.size(), 4u);
  EXPECT_LT(metrics.back()["train_loss"].get<double>(), metrics.front()["train_loss"].get<double>());
  for (const char* f : {"checkpoint_last.pt", "checkpoint_best.pt", "checkpoint_ema_best.pt", "checkpoint_ema_last.pt",
                        "training_state_last.pt", "checkpoint_best.pt.json", "config.yaml"})
    EXPECT_TRUE(std::filesystem::exists(run + "/" + f)) << f;

  // CoreNet's spelling of eval.
  const std::string csv = root + "/confusion.csv";
  const auto eval = test::run_command(cli() + " eval --threads 1 --json --common.config-file " + config("tiny_image.yaml") +
                                      " --model.classification.pretrained " + run + "/checkpoint_best.pt" +
                                      " --confusion-csv " + csv + " --common.override-kwargs dataset.root_val=" + root +
                                      "/val");
  ASSERT_EQ(eval.exit_code, 0) << eval.out << eval.err;
  const auto j = nlohmann::json::parse(eval.out);
  EXPECT_EQ(j["samples"].get<int64_t>(), 8);
  EXPECT_GE(j["top5"].get<double>(), j["top1"].get<double>());
  EXPECT_TRUE(j.contains("loss") && j.contains("samples_per_s"));
  EXPECT_NE(test::read_text(csv).find("true\\predicted,blue,red"), std::string::npos);

  // The best checkpoint's eval equals the top1 the trainer recorded for it.
  double best = -1;
  for (const auto& m : metrics) best = std::max(best, m["val_top1"].get<double>());
  EXPECT_NEAR(j["top1"].get<double>(), best, 1e-6);

  // Our spelling, plain text.
  const auto eval2 = test::run_command(cli() + " eval --threads 1 --config " + config("tiny_image.yaml") + " --weights " +
                                       run + "/checkpoint_last.pt --override dataset.root_val=" + root + "/val");
  ASSERT_EQ(eval2.exit_code, 0) << eval2.err;
  EXPECT_NE(eval2.out.find("top1"), std::string::npos);

  // --model RUN_DIR: the run's own config (its overrides included) and, of best and EMA-best,
  // the one with the higher validation top-1; it evaluates to that recorded top-1.
  const auto eval_run = test::run_command(cli() + " eval --threads 1 --json --model " + run);
  ASSERT_EQ(eval_run.exit_code, 0) << eval_run.err;
  const auto jr = nlohmann::json::parse(eval_run.out);
  double ema_best = -1;
  for (const auto& m : metrics)
    if (m.contains("ema_val_top1")) ema_best = std::max(ema_best, m["ema_val_top1"].get<double>());
  const bool ema_chosen = ema_best > best;
  EXPECT_EQ(jr["weights"], run + (ema_chosen ? "/checkpoint_ema_best.pt" : "/checkpoint_best.pt"));
  EXPECT_NEAR(jr["top1"].get<double>(), ema_chosen ? ema_best : best, 1e-6);
  EXPECT_EQ(jr["samples"].get<int64_t>(), 8);

  // --mixed-precision: the same evaluation under bf16 autocast, close to float32 but not equal.
  const auto eval_bf16 = test::run_command(cli() + " eval --threads 1 --json --mixed-precision --config " +
                                           config("tiny_image.yaml") + " --weights " + run +
                                           "/checkpoint_best.pt --override dataset.root_val=" + root + "/val");
  ASSERT_EQ(eval_bf16.exit_code, 0) << eval_bf16.err;
  const auto jb = nlohmann::json::parse(eval_bf16.out);
  EXPECT_EQ(jb["samples"].get<int64_t>(), 8);
  EXPECT_NE(jb["loss"].get<double>(), j["loss"].get<double>());
  EXPECT_NEAR(jb["loss"].get<double>(), j["loss"].get<double>(), 0.05 * j["loss"].get<double>());

  // predict reads the labels from the weights' sidecar: the answer's label column holds the
  // class names (the file's path names a class too, so the label itself is checked).
  const auto predict = test::run_command(cli() + " predict --threads 1 --json --config " + config("tiny_image.yaml") +
                                         " --weights " + run + "/checkpoint_best.pt " + root + "/val/red/00.png");
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  const auto jp = nlohmann::json::parse(predict.out);
  ASSERT_EQ(jp["top"].size(), 2u) << predict.out;
  std::set<std::string> labels;
  for (const auto& t : jp["top"]) labels.insert(t["label"].get<std::string>());
  EXPECT_EQ(labels, (std::set<std::string>{"blue", "red"})) << predict.out;
  std::filesystem::remove_all(root);
}

TEST(EndToEnd, TrainAndEvalSpeechCommands) {
  const std::string root = test::make_temp_dir("e2e_audio");
  test::make_tiny_speech_commands(root, 8);
  const std::string overrides = " --override dataset.root_train=" + root + " --override dataset.root_val=" + root +
                                " --override common.results_loc=" + root + "/results";
  const auto train = test::run_command(cli() + " train --threads 1 --config " + config("tiny_audio.yaml") + overrides);
  ASSERT_EQ(train.exit_code, 0) << train.out << train.err;
  EXPECT_EQ(read_jsonl(root + "/results/tiny_audio/metrics.jsonl").size(), 2u);
  const auto eval = test::run_command(cli() + " eval --threads 1 --json --split test --config " +
                                      config("tiny_audio.yaml") + overrides + " --weights " + root +
                                      "/results/tiny_audio/checkpoint_last.pt");
  ASSERT_EQ(eval.exit_code, 0) << eval.out << eval.err;
  EXPECT_EQ(nlohmann::json::parse(eval.out)["samples"].get<int64_t>(), 4);  // yes, no, unknown, silence
  std::filesystem::remove_all(root);
}

TEST(EndToEnd, UnknownKeyAndBadValueNameKeyValueFile) {
  const auto bad = test::run_command(cli() + " train --dry-run --config " + config("tiny_image.yaml") +
                                     " --override common.no_such_key=3");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("common.no_such_key"), std::string::npos) << bad.err;
  const auto bad2 = test::run_command(cli() + " train --dry-run --config " + config("tiny_image.yaml") +
                                      " --override optim.weight_decay=lots");
  EXPECT_NE(bad2.exit_code, 0);
  EXPECT_NE(bad2.err.find("optim.weight_decay"), std::string::npos) << bad2.err;
  EXPECT_NE(bad2.err.find("lots"), std::string::npos) << bad2.err;
}

}  // namespace
}  // namespace byteformer
