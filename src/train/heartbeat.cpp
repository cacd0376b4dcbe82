#include "train/heartbeat.h"

#ifdef BYTEFORMER_HAVE_GLOO
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace byteformer::dist {

void Heartbeat::loop() {
  bool warned = false;
  auto tick = Clock::now();
  while (!stop.load()) {
    // This process itself was stalled (SIGSTOP, swapping): peers' silence is not theirs.
    if (Clock::now() - tick > 4 * interval) {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& t : moved) t = Clock::now();
    }
    tick = Clock::now();
    try {
      store->add(fmt::format("hb/{}", rank), 1);
      for (int64_t r = 0; r < world; ++r) {
        if (r == rank) continue;
        const int64_t v = store->add(fmt::format("hb/{}", r), 0);
        std::lock_guard<std::mutex> lock(mu);
        if (v != count[r]) count[r] = v, moved[r] = Clock::now();
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mu);
      if (!store_lost) store_lost = true, store_lost_at = Clock::now(), store_error = first_line(e.what());
    }
    // The backstop: collectives time out after `timeout` and the main thread reports it; if a
    // peer stays silent half as long again (this rank is stuck outside a collective, say),
    // stop the process, as PyTorch's NCCL watchdog does, so the job never hangs silently.
    const std::string why = silent_peers(timeout + timeout / 2);
    if (!why.empty() && !warned && !stop.load()) {
      warned = true;
      std::fprintf(stderr, "error: rank %lld: watchdog: %s; stopping\n", static_cast<long long>(rank), why.c_str());
      std::fflush(stderr);
      std::_Exit(EXIT_FAILURE);
    }
    std::this_thread::sleep_for(interval);
  }
}

std::string Heartbeat::silent_peers(std::chrono::milliseconds limit, bool store_now) {
  std::lock_guard<std::mutex> lock(mu);
  const double lim = std::chrono::duration<double>(limit).count();
  if (store_lost && (store_now || seconds_since(store_lost_at) > lim))
    return fmt::format("{} at {} stopped answering ({})",
                       agent_store ? "torchrun's rendezvous store" : "rank 0 is gone: the rendezvous store it hosts",
                       where, store_error);
  std::string out;
  for (int64_t r = 0; r < world; ++r) {
    if (r == rank) continue;
    const double age = seconds_since(moved[r]);
    if (age > lim)
      out += fmt::format("{}rank {} sent no heartbeat for {:.1f} s (dead, stopped or cut off)", out.empty() ? "" : "; ",
                         r, age);
  }
  return out;
}

}  // namespace byteformer::dist
#endif
