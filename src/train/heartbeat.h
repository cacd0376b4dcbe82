// The data-parallel job's heartbeat and watchdog: every rank bumps a counter of its own in the
// rendezvous store and watches the others' counters, so a dead, stopped or cut-off rank is named
// (in the error of a failed collective) and a rank stuck outside any collective ends itself
// rather than hang the job.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "train/c10d.h"

#ifdef BYTEFORMER_HAVE_GLOO
namespace byteformer::dist {

/// Heartbeats through the TCPStore (a counter per rank, so hosts need no common clock), on a
/// connection of its own; remembers when each peer's counter last moved. Shared with its thread,
/// which is detached at the end so that a store that stopped answering cannot block the exit.
struct Heartbeat {
  int64_t rank = 0, world = 1;
  std::string where;  // MASTER_ADDR:MASTER_PORT
  bool agent_store = false;  // torchrun's agent hosts the store, not rank 0
  std::chrono::milliseconds interval{500}, timeout{300000};
  c10::intrusive_ptr<c10d::Store> store;
  std::mutex mu;
  std::vector<int64_t> count;
  std::vector<Clock::time_point> moved;
  bool store_lost = false;
  Clock::time_point store_lost_at;
  std::string store_error;
  std::atomic<bool> stop{false};

  /// Beats every `interval` until `stop`; ends the process (the watchdog) when a peer stays
  /// silent for 1.5 x `timeout`.
  void loop();

  /// Names the peers silent for longer than `limit` ("" when none); a lost store counts at once
  /// with `store_now`.
  std::string silent_peers(std::chrono::milliseconds limit, bool store_now = false);
};

}  // namespace byteformer::dist
#endif
