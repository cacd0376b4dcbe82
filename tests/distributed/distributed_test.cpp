// Data-parallel training (src/train/distributed.cpp, src/train/launch.cpp): gradient
// averaging in one process with two ranks on threads, then the real CLI: two workers on loopback
// against one process, two "hosts" in network namespaces, a killed and a hung worker.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include "byteformer/io/checkpoint.h"
#include "byteformer/train/distributed.h"
#include "test_util.h"
#include "train/tiny_data.h"

namespace byteformer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

ByteFormerOptions tiny_model() {
  ByteFormerOptions o;
  o.embed_dim = 32;
  o.num_heads = 2;
  o.ffn_dim = 64;
  o.num_layers = 2;
  o.max_num_tokens = 1000;
  o.conv_kernel_size = 8;
  o.window_sizes = {16};
  o.window_shifts = {0, 8};
  o.downsample = {true, false};
  o.n_classes = 3;
  return o;
}

// Two ranks on two threads of this process: after average_gradients each rank holds the mean
// of the two ranks' gradients, as computed here from the same two batches. Both the bucketed
// path (after the backward) and the overlapped one (autograd hooks), with tiny buckets so there
// are many of them. Tolerance: the mean of two float32 values computed in another order, 1e-6.
void check_average(bool overlap) {
  const int port = free_port();
  torch::manual_seed(7);
  const auto inputs = torch::randint(0, 256, {2, 2, 64}, torch::kInt64);  // (rank, B, L)
  const auto labels = torch::tensor({0, 2}, torch::kInt64);
  // Reference: each rank's gradient, averaged.
  std::vector<std::vector<torch::Tensor>> per_rank(2);
  for (int r = 0; r < 2; ++r) {
    torch::manual_seed(1);
    ByteFormer m(tiny_model());
    torch::nn::functional::cross_entropy(m->forward(inputs[r]), labels).backward();
    for (const auto& p : m->parameters()) per_rank[r].push_back(p.grad().clone());
  }
  // Built here: the global generator is shared, threads seeding it at once would race.
  std::vector<ByteFormer> models;
  for (int r = 0; r < 2; ++r) {
    torch::manual_seed(r == 0 ? 1 : 99);  // rank 1 starts different: prepare() broadcasts rank 0's
    models.emplace_back(tiny_model());
  }
  std::vector<std::vector<torch::Tensor>> got(2);
  std::vector<std::string> errors(2);
  std::vector<DistributedStats> stats(2);
  auto worker = [&](int r) {
    try {
      DistributedEnv env;
      env.rank = r;
      env.world_size = 2;
      env.master_port = port;
      DistributedOptions opt;
      opt.timeout = std::chrono::seconds(30);
      opt.bucket_mb = 0.01;  // ~10 KB: many buckets
      DistributedContext dist(env, opt);
      ByteFormer m = models[r];
      dist.prepare(m, overlap);
      m->zero_grad();
      torch::nn::functional::cross_entropy(m->forward(inputs[r]), labels).backward();
      dist.average_gradients(m);
      for (const auto& p : m->parameters()) got[r].push_back(p.grad().clone());
      EpochMetrics metrics;
      metrics.samples = 3 + r;
      metrics.loss_sum = 0.5;
      metrics.top1 = r;
      dist.reduce_metrics(metrics);
      EXPECT_EQ(metrics.samples, 7);
      EXPECT_EQ(metrics.top1, 1);
      EXPECT_DOUBLE_EQ(metrics.loss_sum, 1.0);
      dist.barrier();
      stats[r] = dist.stats();
    } catch (const std::exception& e) {
      errors[r] = e.what();
    }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  ASSERT_EQ(got[0].size(), per_rank[0].size());
  for (size_t i = 0; i < got[0].size(); ++i) {
    const auto expected = (per_rank[0][i] + per_rank[1][i]) / 2;
    EXPECT_TRUE(torch::equal(got[0][i], got[1][i])) << "parameter " << i << " differs between ranks";
    EXPECT_TRUE(torch::allclose(got[0][i], expected, /*rtol=*/1e-5, /*atol=*/1e-6)) << "parameter " << i;
  }
  EXPECT_GT(stats[0].buckets, 3);
  EXPECT_EQ(stats[0].steps, 1);
  if (overlap)
    EXPECT_GT(stats[0].buckets_overlapped, 0);
  else
    EXPECT_EQ(stats[0].buckets_overlapped, 0);
}

TEST(DistributedContext, AveragesGradientsInBuckets) { check_average(/*overlap=*/false); }
TEST(DistributedContext, AveragesGradientsFromAutogradHooks) { check_average(/*overlap=*/true); }

TEST(DistributedEnv, ReadsTorchrunVariables) {
  unsetenv("WORLD_SIZE");
  EXPECT_FALSE(DistributedEnv::from_environment().has_value());
  setenv("WORLD_SIZE", "4", 1);
  setenv("RANK", "3", 1);
  setenv("LOCAL_RANK", "1", 1);
  setenv("MASTER_ADDR", "10.0.0.5", 1);
  setenv("MASTER_PORT", "1234", 1);
  auto e = DistributedEnv::from_environment();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->rank, 3);
  EXPECT_EQ(e->world_size, 4);
  EXPECT_EQ(e->local_rank, 1);
  EXPECT_EQ(e->master_addr, "10.0.0.5");
  EXPECT_EQ(e->master_port, 1234);
  setenv("RANK", "4", 1);
  try {
    DistributedEnv::from_environment();
    ADD_FAILURE() << "RANK=4 of 4 accepted";
  } catch (const std::invalid_argument& ex) {
    EXPECT_NE(std::string(ex.what()).find("RANK=4"), std::string::npos) << ex.what();
  }
  for (const char* v : {"WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(v);
  EXPECT_EQ(local_address_towards("127.0.0.1", 29500), "127.0.0.1");
}

// ---- through the real CLI ----

std::string cli() { return test::cli_path(); }
std::string tiny_config() { return test::source_dir() + "/configs/test/tiny_image.yaml"; }

/// A tiny run: 16 training images, one epoch, EMA on; `extra` adds overrides.
std::string train_command(const std::string& data, const std::string& results, int batch, const std::string& extra) {
  return cli() + " train --threads 1 --config " + tiny_config() + " --override dataset.root_train=" + data +
         "/train --override dataset.root_val=" + data + "/val --override common.results_loc=" + results +
         " --override dataset.train_batch_size0=" + std::to_string(batch) +
         " --override common.accum_freq=1 --override dataset.workers=1 --override scheduler.max_epochs=2 " + extra;
}

StateDict load(const std::string& path) { return load_state_dict(path); }

/// Largest |a - b| over all tensors of two state dicts with the same keys.
double max_abs_diff(const StateDict& a, const StateDict& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    worst = std::max(worst, (a[i].second.to(torch::kFloat64) - b[i].second.to(torch::kFloat64)).abs().max().item<double>());
  }
  return worst;
}

class DistributedCli : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = test::make_temp_dir("dist_data");
    test::make_tiny_images(data_, /*train_per_class=*/8, /*val_per_class=*/2, /*broken=*/false);
  }
  void TearDown() override { fs::remove_all(data_); }
  std::string data_;
};

// Two workers on loopback with batch 2 each against one process with batch 4: same samples per
// step (the sampler deals the shuffled order out rank by rank), same per-sample augmentation
// seeds, so the same weights up to float32 rounding: the one-process gradient is a mean over 4
// samples, the two-process one the mean of two means over 2 samples, summed in another order
// (~1e-7 relative), which AdamW's 8 steps carry through: we allow 2e-6 absolute on weights of
// size ~0.1-1, ten times the 2e-7 observed (printed by the test).
TEST_F(DistributedCli, TwoProcessesMatchOneProcess) {
  const std::string one = data_ + "/one", two = data_ + "/two";
  const auto r1 = test::run_command(train_command(data_, one, 4, ""));
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  const auto r2 = test::run_command(train_command(data_, two, 2, "--nproc-per-node 2 --master-port " +
                                                                     std::to_string(free_port()) + " --dist-timeout 60"));
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_NE(r2.err.find("global batch 4 = train_batch_size0 2 x 2 ranks x accum_freq 1"), std::string::npos) << r2.err;
  EXPECT_NE(r2.err.find("gloo over 2 ranks, 8 steps"), std::string::npos) << r2.err;
  EXPECT_NE(r2.out.find("best top1"), std::string::npos) << r2.out;  // rank 0 alone reports
  EXPECT_EQ(r2.out.find("best top1"), r2.out.rfind("best top1")) << r2.out;
  for (const char* f : {"checkpoint_last.pt", "checkpoint_ema_last.pt"}) {
    const double d = max_abs_diff(load(one + "/tiny_image/" + f), load(two + "/tiny_image/" + f));
    std::cout << "[ max |w1 - w2| " << f << " = " << d << " ]\n";
    EXPECT_LT(d, 2e-6) << f;
  }
  // Validation metrics were reduced over both ranks' shards: all 4 validation images counted.
  EXPECT_NE(r2.err.find("epoch 2/2"), std::string::npos);
}

// torchrun from the tests' Python torch launches `byteformer train` as its two workers (RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT from its agent), with the weights of our own launcher.
// Debian's torch 1.13 torchrun fails on Python 3.11 (its elastic agent), so this runs against
// the pip build's torch 2.x (scripts/test.sh --torch pip) and says why it skips elsewhere.
TEST_F(DistributedCli, TorchrunLaunchesTwoWorkers) {
  const std::string py = BYTEFORMER_TEST_PYTHON;
  const auto version = test::run_command(py + " -c 'import torch; print(torch.__version__)'");
  if (version.exit_code != 0 || version.out.empty() || version.out[0] < '2')
    GTEST_SKIP() << py << "'s torch is " << (version.out.empty() ? "missing" : version.out)
                 << ": its torchrun does not run on this Python (Debian's 1.13 on 3.11); the pip build's tests run this";
  const std::string ours = data_ + "/ours", theirs = data_ + "/torchrun";
  const auto r1 = test::run_command(
      train_command(data_, ours, 2, "--nproc-per-node 2 --master-port " + std::to_string(free_port())));
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  const auto r2 = test::run_command(py + " -m torch.distributed.run --no-python --nnodes 1 --nproc-per-node 2 " +
                                    "--master-addr 127.0.0.1 --master-port " + std::to_string(free_port()) + " " +
                                    train_command(data_, theirs, 2, "--dist-timeout 60"));
  ASSERT_EQ(r2.exit_code, 0) << r2.out << r2.err;
  EXPECT_NE(r2.err.find("gloo over 2 ranks, 8 steps"), std::string::npos) << r2.err;
  const double d = max_abs_diff(load(ours + "/tiny_image/checkpoint_last.pt"),
                                load(theirs + "/tiny_image/checkpoint_last.pt"));
  EXPECT_LT(d, 2e-6);  // the same ranks, shards and seeds: the same run
}

// Two hosts: network namespaces joined by a veth pair, 10.77.0.1 and 10.77.0.2; one worker on
// each, Gloo over that link, the rendezvous on host 1. The namespaces go away even on failure.
class Netns {
 public:
  Netns() {
    tag_ = "bf" + std::to_string(getpid() % 100000);
    a_ = tag_ + "a";
    b_ = tag_ + "b";
  }
  ~Netns() {
    std::system(("ip netns del " + a_ + " 2>/dev/null; ip netns del " + b_ + " 2>/dev/null").c_str());
  }
  /// "" when made, else why not.
  std::string make() {
    const auto probe = test::run_command("ip netns add " + a_);
    if (probe.exit_code != 0) return "cannot create a network namespace (`ip netns add`: " + probe.err + ")";
    const std::string va = tag_ + "va", vb = tag_ + "vb";
    const auto r = test::run_command(
        "set -e; ip netns add " + b_ + "; ip link add " + va + " type veth peer name " + vb + "; ip link set " + va +
        " netns " + a_ + "; ip link set " + vb + " netns " + b_ + "; ip -n " + a_ + " addr add 10.77.0.1/24 dev " + va +
        "; ip -n " + b_ + " addr add 10.77.0.2/24 dev " + vb + "; for n in " + a_ + " " + b_ +
        "; do ip -n $n link set lo up; done; ip -n " + a_ + " link set " + va + " up; ip -n " + b_ + " link set " + vb +
        " up");
    if (r.exit_code != 0) return "cannot set up the veth pair: " + r.err;
    return "";
  }
  std::string in_a(const std::string& cmd) const { return "ip netns exec " + a_ + " " + cmd; }
  std::string in_b(const std::string& cmd) const { return "ip netns exec " + b_ + " " + cmd; }

 private:
  std::string tag_, a_, b_;
};

TEST_F(DistributedCli, TwoHostsInNetworkNamespaces) {
  Netns ns;
  if (const std::string why = ns.make(); !why.empty()) GTEST_SKIP() << "SKIPPED two-host test: " << why;
  const std::string out = data_ + "/hosts", ref = data_ + "/ref";
  const std::string node = " --nproc-per-node 1 --nnodes 2 --master-addr 10.77.0.1 --master-port 29511 --dist-timeout 60";
  const std::string a = ns.in_a(train_command(data_, out, 2, node + " --node-rank 0"));
  const std::string b = ns.in_b(train_command(data_, out, 2, node + " --node-rank 1"));
  const auto r = test::run_command("(timeout 120 " + a + " >" + data_ + "/a.log 2>&1; echo $? >" + data_ +
                                   "/a.rc) & (timeout 120 " + b + " >" + data_ + "/b.log 2>&1; echo $? >" + data_ +
                                   "/b.rc); wait");
  const std::string log_a = test::read_text(data_ + "/a.log"), log_b = test::read_text(data_ + "/b.log");
  ASSERT_EQ(test::read_text(data_ + "/a.rc"), "0\n") << log_a << log_b;
  ASSERT_EQ(test::read_text(data_ + "/b.rc"), "0\n") << log_a << log_b;
  EXPECT_NE(log_a.find("gloo over 2 ranks, 8 steps"), std::string::npos) << log_a;
  // Same weights as one process with the global batch (see TwoProcessesMatchOneProcess).
  const auto r1 = test::run_command(train_command(data_, ref, 4, ""));
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_LT(max_abs_diff(load(ref + "/tiny_image/checkpoint_last.pt"), load(out + "/tiny_image/checkpoint_last.pt")),
            2e-6);
}

/// Starts `command` in the background (stdout/stderr to files); returns its pid.
pid_t spawn(const std::string& command, const std::string& out, const std::string& err) {
  const std::string full = "exec " + command + " >" + out + " 2>" + err;
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

/// Waits until `pred` holds or `seconds` pass.
template <class F>
bool wait_for(F pred, double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

/// The pid the launcher printed for `rank` ("launch: rank R pid P"), or -1.
pid_t worker_pid(const std::string& log, int rank) {
  std::smatch m;
  const std::regex re("launch: rank " + std::to_string(rank) + " pid ([0-9]+)");
  return std::regex_search(log, m, re) ? static_cast<pid_t>(std::stol(m[1])) : -1;
}

struct Outcome {
  int exit_code = -1;
  double seconds = 0;
  std::string err;
};

/// Launches 2 workers for many epochs, waits for the first saved step, sends `sig` to rank 1,
/// and waits (at most `limit` s) for the launcher to end.
Outcome run_and_signal(const std::string& data, const std::string& results, int sig, int timeout_s, double limit) {
  const std::string err_path = data + "/launch.err";
  const pid_t launcher = spawn(train_command(data, results, 2,
                                             "--override scheduler.max_epochs=200 --nproc-per-node 2 --master-port " +
                                                 std::to_string(free_port()) + " --dist-timeout " +
                                                 std::to_string(timeout_s)),
                               data + "/launch.out", err_path);
  Outcome o;
  const bool started = wait_for([&] { return fs::exists(results + "/tiny_image/training_state_last.pt"); }, 60);
  const pid_t victim = worker_pid(test::read_text(err_path), 1);
  if (!started || victim <= 0) {
    kill(launcher, SIGKILL);
    waitpid(launcher, nullptr, 0);
    o.err = "did not start: " + test::read_text(err_path);
    return o;
  }
  const auto t0 = Clock::now();
  kill(victim, sig);
  int status = 0;
  const bool ended = wait_for([&] { return waitpid(launcher, &status, WNOHANG) == launcher; }, limit);
  o.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!ended) {
    kill(launcher, SIGKILL);  // its workers die with it (PR_SET_PDEATHSIG)
    kill(victim, SIGKILL);
    waitpid(launcher, &status, 0);
  } else {
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  o.err = test::read_text(err_path);
  // What a user sees: the launcher's and the workers' error lines.
  std::istringstream lines(o.err);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("launch:", 0) == 0 || line.find("error") != std::string::npos) std::cout << "  | " << line << "\n";
  return o;
}

// A worker killed mid-run: the launcher names it, stops the other, and the job ends at once
// (well inside the 30 s timeout); a second run resumes from rank 0's saved state.
TEST_F(DistributedCli, KilledWorkerStopsTheJobAndRunResumes) {
  const std::string results = data_ + "/killed";
  const Outcome o = run_and_signal(data_, results, SIGKILL, /*timeout_s=*/30, /*limit=*/30);
  ASSERT_NE(o.exit_code, -1) << "the job did not stop within 30 s\n" << o.err;
  EXPECT_NE(o.exit_code, 0);
  EXPECT_LT(o.seconds, 20) << o.err;
  EXPECT_NE(o.err.find("launch: rank 1 (pid"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("was killed by signal 9"), std::string::npos) << o.err;
  // The surviving rank names the dead one too (what torchrun users see).
  EXPECT_NE(o.err.find("error: rank 0: "), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("rank 1 sent no heartbeat"), std::string::npos) << o.err;
  std::cout << "[ stopped " << o.seconds << " s after the kill ]\n";

  const auto again = test::run_command(train_command(data_, results, 2,
                                                     "--override scheduler.max_epochs=1 --nproc-per-node 2 "
                                                     "--master-port " + std::to_string(free_port())));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("resumed from"), std::string::npos) << again.err;
}

// A worker that hangs (SIGSTOP: alive, silent): the other rank's all-reduce times out after
// --dist-timeout 5 s and names it; the launcher then stops the job.
TEST_F(DistributedCli, HungWorkerStopsTheJobWithinTheTimeout) {
  const Outcome o = run_and_signal(data_, data_ + "/hung", SIGSTOP, /*timeout_s=*/5, /*limit=*/40);
  ASSERT_NE(o.exit_code, -1) << "the job did not stop within 40 s\n" << o.err;
  EXPECT_NE(o.exit_code, 0);
  EXPECT_NE(o.err.find("rank 1 sent no heartbeat"), std::string::npos) << o.err;
  EXPECT_LT(o.seconds, 25) << o.err;
  std::cout << "[ stopped " << o.seconds << " s after the hang ]\n";
}

}  // namespace
}  // namespace byteformer
