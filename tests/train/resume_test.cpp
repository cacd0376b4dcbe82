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
#include <thread>

#include "byteformer/io/checkpoint.h"
#include "test_util.h"
#include "train/tiny_data.h"

extern char** environ;

namespace byteformer {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> train_args(const std::string& root, const std::string& label) {
  return {test::cli_path(), "train", "--threads", "1", "--config", test::source_dir() + "/configs/test/tiny_image.yaml",
          "--override", "dataset.root_train=" + root + "/train", "--override", "dataset.root_val=" + root + "/val",
          "--override", "common.results_loc=" + root + "/results", "--override", "common.run_label=" + label,
          "--override", "scheduler.max_epochs=3"};
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
    const auto r = test::run_command([&] {
      std::string cmd;
      for (const auto& a : train_args(root_, "reference")) cmd += "'" + a + "' ";
      return cmd;
    }());
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
TEST_F(Resume, SigtermSavesAndResumesToTheSameWeights) { interrupted_run_matches(SIGTERM); }

}  // namespace
}  // namespace byteformer
