// The worker launcher (byteformer/train/launch.h) with /bin/sh workers: the environment each
// worker gets, a failed worker stopping the others, SIGKILL after the grace period.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "byteformer/train/launch.h"
#include "test_util.h"

namespace byteformer {
namespace {

LaunchOptions sh_workers(int n, const std::string& script) {
  LaunchOptions o;
  o.nproc_per_node = n;
  o.grace_s = 10;
  o.command = {"/bin/sh", "-c", script};
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(Launch, EachWorkerGetsItsRanksAndTheMasterAndNotTheParentsOwn) {
  const std::string dir = test::make_temp_dir("launch_env");
  LaunchOptions o = sh_workers(3, "echo $RANK $LOCAL_RANK $WORLD_SIZE $LOCAL_WORLD_SIZE $GROUP_RANK "
                                  "$MASTER_ADDR $MASTER_PORT \"[$BYTEFORMER_DIST_TIMEOUT]\" > " +
                                      dir + "/rank_$RANK");
  o.nnodes = 2;
  o.node_rank = 1;
  o.master_addr = "10.0.0.7";
  o.master_port = 29511;
  // The launcher's own rank variables (say, from an outer torchrun) must not leak into workers.
  ::setenv("BYTEFORMER_DIST_TIMEOUT", "999", 1);
  std::ostringstream log;
  const int rc = launch_workers(o, log);
  ::unsetenv("BYTEFORMER_DIST_TIMEOUT");
  ASSERT_EQ(rc, 0) << log.str();
  for (int local = 0; local < 3; ++local) {
    const int rank = 3 + local;
    EXPECT_EQ(test::read_text(dir + "/rank_" + std::to_string(rank)),
              std::to_string(rank) + " " + std::to_string(local) + " 6 3 1 10.0.0.7 29511 []\n");
  }
  EXPECT_NE(log.str().find("launch: node 1/2: 3 worker(s) of world size 6, master 10.0.0.7:29511"),
            std::string::npos)
      << log.str();
  std::filesystem::remove_all(dir);

  o.timeout_s = 42;
  o.nnodes = 1;
  o.node_rank = 0;
  o.nproc_per_node = 1;
  const std::string dir2 = test::make_temp_dir("launch_timeout");
  o.command = {"/bin/sh", "-c", "echo $BYTEFORMER_DIST_TIMEOUT > " + dir2 + "/t"};
  ASSERT_EQ(launch_workers(o, log), 0);
  EXPECT_EQ(test::read_text(dir2 + "/t"), "42\n");
  std::filesystem::remove_all(dir2);
}

TEST(Launch, AFailedWorkerStopsTheOthersAndItsCodeIsReturned) {
  const auto t0 = std::chrono::steady_clock::now();
  std::ostringstream log;
  const int rc = launch_workers(sh_workers(3, "if [ $RANK = 1 ]; then exit 3; fi; exec sleep 60"), log);
  EXPECT_EQ(rc, 3);
  // The sleepers were stopped by the SIGTERM, not waited for (60 s each).
  EXPECT_LT(seconds_since(t0), 45.0);
  EXPECT_NE(log.str().find("rank 1 (pid "), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("exited with code 3; stopping the other 2 worker(s) of this node"), std::string::npos)
      << log.str();
}

TEST(Launch, AWorkerThatIgnoresSigtermIsKilledAfterTheGracePeriod) {
  // Rank 0 fails only once rank 1 ignores SIGTERM (its file says so; at most 20 s of waiting):
  // on a loaded machine the stop could otherwise reach rank 1 before its shell ran the trap.
  const std::string ready = test::make_temp_dir("launch_grace") + "/trapped";
  LaunchOptions o = sh_workers(2, "if [ $RANK = 0 ]; then i=0; while [ ! -f " + ready +
                                      " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; exit 5; fi; "
                                      "trap '' TERM; touch " + ready + "; exec sleep 60");
  o.grace_s = 1;
  const auto t0 = std::chrono::steady_clock::now();
  std::ostringstream log;
  EXPECT_EQ(launch_workers(o, log), 5);
  EXPECT_LT(seconds_since(t0), 45.0);
  EXPECT_NE(log.str().find("launch: rank 1 (pid "), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("did not stop within 1 s; killing it"), std::string::npos) << log.str();
}

TEST(Launch, AProgramThatCannotRunIsExitCode127) {
  LaunchOptions o;
  o.command = {"/nonexistent/worker"};
  std::ostringstream log;
  EXPECT_EQ(launch_workers(o, log), 127);
  EXPECT_NE(log.str().find("rank 0 (pid "), std::string::npos) << log.str();
}

TEST(Launch, BadOptionsNameTheFlag) {
  const auto message_of = [](const LaunchOptions& o) {
    std::ostringstream log;
    try {
      launch_workers(o, log);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  LaunchOptions o = sh_workers(0, "true");
  EXPECT_EQ(message_of(o), "--nproc-per-node 0: must be >= 1");
  o.nproc_per_node = 1;
  o.nnodes = 2;
  o.node_rank = 2;
  EXPECT_EQ(message_of(o), "--node-rank 2: expected 0 <= rank < --nnodes 2");
  o.node_rank = 0;
  o.master_port = 70000;
  EXPECT_EQ(message_of(o), "--master-port 70000: expected 1..65535");
}

}  // namespace
}  // namespace byteformer
