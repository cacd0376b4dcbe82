// A run killed mid-epoch (SIGKILL) or stopped (SIGTERM) and restarted with auto_resume ends with
// the same weights as an uninterrupted run: compared bitwise (torch::equal on every tensor),
// since the run is single-threaded (--threads 1), every sample's randomness is a function of
// (seed, epoch, index), and the state file holds the optimiser, EMA, counters and RNG.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "byteformer/io/checkpoint.h"
#include "byteformer/io/run_folder.h"
#include "test_util.h"
#include "train/tiny_data.h"

extern char** environ;

namespace byteformer {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> train_args(const std::string& root, const std::string& label,
                                    const std::vector<std::string>& more = {}) {
  std::vector<std::string> args = {
      test::cli_path(), "train", "--threads", "1", "--config", test::source_dir() + "/configs/test/tiny_image.yaml",
      "--override", "dataset.root_train=" + root + "/train", "--override", "dataset.root_val=" + root + "/val",
      "--override", "common.results_loc=" + root + "/results", "--override", "common.run_label=" + label,
      "--override", "scheduler.max_epochs=3"};
  for (const auto& m : more) args.insert(args.end(), {"--override", m});
  return args;
}

std::string command_line(const std::vector<std::string>& args) {
  std::string cmd;
  for (const auto& a : args) cmd += "'" + a + "' ";
  return cmd;
}

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

int wait_exit(pid_t pid, bool* signaled = nullptr) {
  int status = 0;
  waitpid(pid, &status, 0);
  if (signaled) *signaled = WIFSIGNALED(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Waits until the run has saved a mid-epoch state (after its 3rd step), then signals it.
bool interrupt_mid_run(pid_t pid, const std::string& run_dir, int sig) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(run_dir + "/training_state_last.pt") && fs::exists(run_dir + "/metrics.jsonl")) {
      kill(pid, sig);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

void expect_same_weights(const std::string& a, const std::string& b) {
  const auto x = load_state_dict(a), y = load_state_dict(b);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].first, y[i].first);
    EXPECT_TRUE(torch::equal(x[i].second, y[i].second)) << x[i].first << " differs";
  }
}

void expect_no_broken_files(const std::string& run_dir) {
  for (const auto& e : fs::directory_iterator(run_dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("checkpoint_", 0) == 0 && e.path().extension() == ".pt")
      EXPECT_NO_THROW(load_state_dict(e.path().string())) << name;
  }
}

class Resume : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::make_temp_dir("resume");
    test::make_tiny_images(root_, 12, 2, /*broken=*/false);
    const auto r = test::run_command(command_line(train_args(root_, "reference")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void TearDown() override { fs::remove_all(root_); }

  void interrupted_run_matches(int sig) {
    const std::string label = sig == SIGKILL ? "killed" : "stopped";
    const std::string run_dir = root_ + "/results/" + label;
    const std::string log = root_ + "/" + label + ".log";
    const pid_t pid = spawn(train_args(root_, label), log);
    ASSERT_TRUE(interrupt_mid_run(pid, run_dir, sig));
    bool signaled = false;
    const int code = wait_exit(pid, &signaled);
    if (sig == SIGKILL) {
      EXPECT_TRUE(signaled) << "the run finished before it could be killed";
    } else {
      EXPECT_EQ(code, 128 + SIGTERM) << test::read_text(log);
      EXPECT_NE(test::read_text(log).find("stopped by signal"), std::string::npos) << test::read_text(log);
    }
    expect_no_broken_files(run_dir);
    const pid_t again = spawn(train_args(root_, label), log);
    ASSERT_EQ(wait_exit(again), 0) << test::read_text(log);
    const std::string text = test::read_text(log);
    EXPECT_NE(text.find("resumed from"), std::string::npos);
    if (sig == SIGTERM) {
      // One numbering: the resume names the place the stop named ("epoch 2 batch 3 (step 4)").
      const auto stop = text.find("stopped by signal");
      ASSERT_NE(stop, std::string::npos) << text;
      const auto at = text.find(" at ", stop) + 4;
      const std::string where = text.substr(at, text.find(';', at) - at);
      EXPECT_NE(text.find(" at " + where + "\n", text.find("resumed from")), std::string::npos)
          << "stopped at '" << where << "', but: " << text;
    }
    const std::string ref = root_ + "/results/reference/";
    expect_same_weights(ref + "checkpoint_last.pt", run_dir + "/checkpoint_last.pt");
    expect_same_weights(ref + "checkpoint_ema_last.pt", run_dir + "/checkpoint_ema_last.pt");
    expect_no_broken_files(run_dir);
  }

  std::string root_;
};

TEST_F(Resume, KilledRunEndsWithTheSameWeights) { interrupted_run_matches(SIGKILL); }

// One batch and one step an epoch (batch 24 of 24 images, no accumulation): a SIGTERM after the first epoch's line lands on
// the last batch of an epoch (the stop is taken after an optimiser step), so the resumed run has no batch left to train in it. Its metrics
// lines are still the uninterrupted run's: the learning rate (once 0.0) and the training
// numbers to the last digit; the epoch's time includes the stopped run's part.
TEST_F(Resume, AStopAfterAnEpochsLastBatchResumesWithTheSameMetrics) {
  // Eight short epochs: the signal, sent once the first epoch's line is written, lands well
  // before the run could finish.
  const std::vector<std::string> one_batch = {"dataset.train_batch_size0=24", "common.accum_freq=1",
                                             "scheduler.max_epochs=8"};
  ASSERT_EQ(test::run_command(command_line(train_args(root_, "ref_one_batch", one_batch))).exit_code, 0);
  const std::string run_dir = root_ + "/results/boundary";
  const std::string log = root_ + "/boundary.log";
  const pid_t pid = spawn(train_args(root_, "boundary", one_batch), log);
  ASSERT_TRUE(interrupt_mid_run(pid, run_dir, SIGTERM));
  ASSERT_EQ(wait_exit(pid), 128 + SIGTERM) << test::read_text(log);
  ASSERT_EQ(wait_exit(spawn(train_args(root_, "boundary", one_batch), log)), 0) << test::read_text(log);
  const auto by_epoch = [](const std::string& path) {
    std::map<int64_t, nlohmann::json> lines;  // a repeated epoch keeps its last line
    for (const auto& j : read_json_lines(path)) lines[j["epoch"].get<int64_t>()] = j;
    return lines;
  };
  const auto want = by_epoch(root_ + "/results/ref_one_batch/metrics.jsonl");
  const auto got = by_epoch(run_dir + "/metrics.jsonl");
  ASSERT_EQ(got.size(), want.size()) << test::read_text(run_dir + "/metrics.jsonl");
  for (const auto& [epoch, w] : want) {
    const nlohmann::json& g = got.at(epoch);
    for (const char* key : {"iterations", "lr", "train_loss", "train_top1", "train_samples", "val_loss", "val_top1"})
      EXPECT_EQ(g[key], w[key]) << "epoch " << epoch << " " << key;
    EXPECT_GT(g["lr"].get<double>(), 0.0) << "epoch " << epoch;
    // samples/s is the epoch's samples over its time: both runs' parts of the time.
    EXPECT_NEAR(g["train_samples_per_s"].get<double>() * g["train_seconds"].get<double>(),
                g["train_samples"].get<double>(), 1e-6 * g["train_samples"].get<double>());
  }
  expect_same_weights(root_ + "/results/ref_one_batch/checkpoint_last.pt", run_dir + "/checkpoint_last.pt");
}
TEST_F(Resume, SigtermSavesAndResumesToTheSameWeights) { interrupted_run_matches(SIGTERM); }

}  // namespace
}  // namespace byteformer
