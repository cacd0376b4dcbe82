// A data-parallel worker's environment: torchrun's variables (RANK, WORLD_SIZE, ...) and
// byteformer's BYTEFORMER_DIST_* switches, read once by the CLI; the address this host reaches
// the master from.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace byteformer {

/// The variables torchrun (and `byteformer train --nproc-per-node`) set for each worker.
struct DistributedEnv {
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
  int64_t local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// torchrun's agent hosts the rendezvous store (TORCHELASTIC_USE_AGENT_STORE=True): join it
  /// as a client, in the namespace of this restart attempt (TORCHELASTIC_RESTART_COUNT).
  bool agent_store = false;
  std::string restart_count = "0";

  /// Reads RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT and
  /// torchrun's TORCHELASTIC_USE_AGENT_STORE / TORCHELASTIC_RESTART_COUNT; nullopt when
  /// WORLD_SIZE is unset (a plain single-process run). Throws naming the variable when one is
  /// malformed or out of range.
  static std::optional<DistributedEnv> from_environment();
};

struct DistributedOptions {
  /// Bound on every collective, on the rendezvous and on a silent peer (no heartbeat).
  /// BYTEFORMER_DIST_TIMEOUT (seconds) overrides it in from_environment().
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  /// Gradient bucket size (PyTorch DDP's bucket_cap_mb).
  double bucket_mb = 25.0;
  std::chrono::milliseconds heartbeat_interval{500};
  /// "auto" (NCCL for CUDA parameters when compiled in, else Gloo), "gloo" or "nccl".
  std::string backend = "auto";
  /// Gloo's network interface (GLOO_SOCKET_IFNAME, as PyTorch); "": the one that reaches MASTER_ADDR.
  std::string gloo_interface;
  /// Launch gradient buckets from autograd hooks during backward (BYTEFORMER_DIST_OVERLAP=0: after
  /// it); used where common.accum_freq is 1.
  bool overlap = true;

  /// Defaults, with BYTEFORMER_DIST_TIMEOUT / BYTEFORMER_DIST_BUCKET_MB / BYTEFORMER_DIST_BACKEND /
  /// GLOO_SOCKET_IFNAME / BYTEFORMER_DIST_OVERLAP applied when set. The one place these are read:
  /// the CLI calls it once per process.
  static DistributedOptions from_environment();
};

/// Local address this host uses to reach `master_addr` (the address Gloo binds to).
std::string local_address_towards(const std::string& master_addr, int port);

}  // namespace byteformer
