// `byteformer train --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P]`:
// starts this node's N workers the way torchrun does (each is this same binary, run again with
// RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT in its environment),
// watches them, and when one fails stops the others and names the failed rank.
#pragma once
#include <ostream>
#include <string>
#include <vector>

namespace byteformer {

struct LaunchOptions {
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// Seconds; passed to the workers as BYTEFORMER_DIST_TIMEOUT (0: their default).
  int timeout_s = 0;
  /// How long the other workers get to stop by themselves (SIGTERM) before SIGKILL.
  int grace_s = 10;
  /// The worker's program and arguments (argv[0] a path); empty: this process's own command
  /// line, run again as /proc/self/exe (what `byteformer train` does).
  std::vector<std::string> command;
};

/// Runs the workers to completion. Returns 0 when all succeeded, otherwise the first failed
/// worker's exit code (128 + signal for a signal). Progress and failures go to `log`.
int launch_workers(const LaunchOptions& options, std::ostream& log);

}  // namespace byteformer
