#include "byteformer/train/launch.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iterator>
#include <map>
#include <stdexcept>
#include <thread>
#include <vector>

#include "byteformer/io/file.h"

extern char** environ;

namespace byteformer {

namespace {

std::atomic<int> g_launcher_signal{0};  // the handler can only reach process-wide state

extern "C" void on_launcher_signal(int sig) { g_launcher_signal.store(sig); }

/// This process's own argv, as the kernel holds it: the workers rerun exactly this command.
std::vector<std::string> own_command_line() {
  const std::vector<uint8_t> bytes = read_file("/proc/self/cmdline", /*max_bytes=*/4 << 20);
  const std::string raw(bytes.begin(), bytes.end());
  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i < raw.size(); ++i)
    if (raw[i] == '\0') args.push_back(raw.substr(start, i - start)), start = i + 1;
  return args;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return fmt::format("was killed by signal {} ({})", sig, strsignal(sig));
  }
  return fmt::format("exited with code {}", WEXITSTATUS(status));
}

int exit_code_of(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

}  // namespace

int launch_workers(const LaunchOptions& o, std::ostream& log) {
  if (o.nproc_per_node < 1) throw std::invalid_argument(fmt::format("--nproc-per-node {}: must be >= 1", o.nproc_per_node));
  if (o.nnodes < 1) throw std::invalid_argument(fmt::format("--nnodes {}: must be >= 1", o.nnodes));
  if (o.node_rank < 0 || o.node_rank >= o.nnodes)
    throw std::invalid_argument(fmt::format("--node-rank {}: expected 0 <= rank < --nnodes {}", o.node_rank, o.nnodes));
  if (o.master_port < 1 || o.master_port > 65535)
    throw std::invalid_argument(fmt::format("--master-port {}: expected 1..65535", o.master_port));
  const int world = o.nproc_per_node * o.nnodes;
  const std::vector<std::string> args = o.command.empty() ? own_command_line() : o.command;
  const std::string program = o.command.empty() ? "/proc/self/exe" : o.command.front();

  // Everything the children need is built before fork(): after it only async-signal-safe calls.
  static const char* kOwned[] = {"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK",
                                 "MASTER_ADDR", "MASTER_PORT", "BYTEFORMER_DIST_TIMEOUT"};
  std::vector<std::string> base_env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    bool owned = false;
    for (const char* k : kOwned) owned = owned || key == k;
    if (!owned) base_env.push_back(kv);
  }
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  log << fmt::format("launch: node {}/{}: {} worker(s) of world size {}, master {}:{}\n", o.node_rank, o.nnodes,
                     o.nproc_per_node, world, o.master_addr, o.master_port)
      << std::flush;

  std::signal(SIGINT, on_launcher_signal);
  std::signal(SIGTERM, on_launcher_signal);
  g_launcher_signal.store(0);
  const pid_t launcher = getpid();
  std::map<pid_t, int> running;  // pid -> global rank
  for (int local = 0; local < o.nproc_per_node; ++local) {
    const int rank = o.node_rank * o.nproc_per_node + local;
    std::vector<std::string> env = base_env;
    env.push_back(fmt::format("RANK={}", rank));
    env.push_back(fmt::format("LOCAL_RANK={}", local));
    env.push_back(fmt::format("WORLD_SIZE={}", world));
    env.push_back(fmt::format("LOCAL_WORLD_SIZE={}", o.nproc_per_node));
    env.push_back(fmt::format("GROUP_RANK={}", o.node_rank));
    env.push_back("MASTER_ADDR=" + o.master_addr);
    env.push_back(fmt::format("MASTER_PORT={}", o.master_port));
    if (o.timeout_s > 0) env.push_back(fmt::format("BYTEFORMER_DIST_TIMEOUT={}", o.timeout_s));
    std::vector<char*> envp;
    for (auto& kv : env) envp.push_back(kv.data());
    envp.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(fmt::format("launch: fork failed for rank {}: {}", rank, strerror(errno)));
    if (pid == 0) {
      // Own process group: a Ctrl-C reaches the launcher only, which forwards it once (a
      // second SIGINT would end a worker before it saves). Die with the launcher.
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != launcher) _exit(127);
      execve(program.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    running[pid] = rank;
    log << fmt::format("launch: rank {} pid {}\n", rank, pid) << std::flush;
  }

  int result = 0;
  int forwarded = 0;
  std::chrono::steady_clock::time_point kill_at{};
  bool stopping = false;
  auto stop_others = [&](int sig) {
    for (const auto& [pid, rank] : running) kill(pid, sig);
  };
  while (!running.empty()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0 && running.count(pid)) {
      const int rank = running[pid];
      running.erase(pid);
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && result == 0) {
        result = exit_code_of(status);
        log << fmt::format("launch: rank {} (pid {}) {}; stopping the other {} worker(s) of this node\n", rank, pid,
                           describe_status(status), running.size())
            << std::flush;
        stop_others(SIGTERM);
        stop_others(SIGCONT);  // a stopped (hung) worker handles the SIGTERM too
        stopping = true;
        kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(o.grace_s);
      } else if (!ok) {
        log << fmt::format("launch: rank {} (pid {}) {}\n", rank, pid, describe_status(status)) << std::flush;
      }
      continue;
    }
    if (pid < 0 && errno == ECHILD) break;
    const int sig = g_launcher_signal.exchange(0);
    if (sig != 0) {
      // First signal: pass it on (the workers save and stop at the same step); second: kill.
      if (++forwarded == 1) {
        log << fmt::format("launch: got signal {}; asking the workers to save and stop\n", sig) << std::flush;
        stop_others(sig);
        if (result == 0) result = 128 + sig;
      } else {
        stop_others(SIGKILL);
      }
    }
    if (stopping && std::chrono::steady_clock::now() > kill_at) {
      for (const auto& [p, rank] : running)
        log << fmt::format("launch: rank {} (pid {}) did not stop within {} s; killing it\n", rank, p, o.grace_s);
      stop_others(SIGKILL);
      stopping = false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return result;
}

}  // namespace byteformer
