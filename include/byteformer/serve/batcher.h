// Dynamic batching for the server (the request queue and batching loop kept apart from the
// HTTP handlers, as llama.cpp's server does): requests queue, one thread forms batches of up to
// max_batch_size. A batch waits for more (at most max_queue_delay_ms after its first request)
// while another request is on its way (an Arrival: its body read, its input being prepared) or
// under load (the last batch held more than one request or left some queued: the clients of a
// batch send their next requests together, still in the kernel's hands when the first is
// queued); otherwise it leaves at once, so a lone client never pays a delay nobody could fill.
// With masked numerics a row's answer does not depend on the rows batched with it; with corenet
// numerics the model itself keeps rows of other lengths apart (inference.h).
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "byteformer/classify/classifier.h"
#include "byteformer/serve/serve_metrics.h"

namespace byteformer {

struct BatcherOptions {
  int64_t max_batch_size = 8;
  double max_queue_delay_ms = 2.0;
  int64_t max_queue = 64;  // waiting requests; more are refused (QueueFull -> HTTP 503)
  bool start_paused = false;  // tests: fill the queue before the loop runs (start())
};

/// Thrown by submit() when max_queue requests already wait.
class QueueFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Batcher {
 public:
  /// `clf` and `metrics` (may be null) must outlive the batcher.
  Batcher(const Classifier& clf, BatcherOptions options, ServeMetrics* metrics);
  ~Batcher();  // stops the loop; requests still queued get an error answer
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  /// A request on its way to submit(): while one is held, an open batch waits for it (at most
  /// max_queue_delay_ms). Release it once the request's inputs are submitted (or it failed);
  /// the destructor releases it too.
  class Arrival {
   public:
    Arrival() = default;
    Arrival(Arrival&& other) noexcept : batcher_(other.batcher_) { other.batcher_ = nullptr; }
    Arrival& operator=(Arrival&& other) noexcept;
    Arrival(const Arrival&) = delete;
    Arrival& operator=(const Arrival&) = delete;
    ~Arrival() { release(); }
    void release();

   private:
    friend class Batcher;
    explicit Arrival(Batcher* batcher) : batcher_(batcher) {}
    Batcher* batcher_ = nullptr;
  };
  /// Marks a request as on its way (call it before preparing the request's input).
  Arrival arrive();
  /// Queues one prepared input (Classifier::prepare); its answer comes through the future.
  std::future<Classification> submit(ModelInput input, bool raw);
  /// Starts the loop of a batcher made with start_paused (no effect otherwise).
  void start();
  int64_t queue_depth() const;
  const BatcherOptions& options() const { return options_; }

 private:
  struct Item {
    ModelInput input;
    bool raw = false;
    std::chrono::steady_clock::time_point queued;
    std::promise<Classification> answer;
  };
  void loop();

  const Classifier& clf_;
  BatcherOptions options_;
  ServeMetrics* metrics_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  int64_t arriving_ = 0;  // Arrivals held
  bool stop_ = false;
  bool started_ = false;
  std::thread thread_;
};

}  // namespace byteformer
