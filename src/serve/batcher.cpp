#include "byteformer/serve/batcher.h"

#include <fmt/format.h>

#include <vector>

namespace byteformer {

Batcher::Batcher(const Classifier& clf, BatcherOptions options, ServeMetrics* metrics)
    : clf_(clf), options_(options), metrics_(metrics) {
  if (options_.max_batch_size < 1 || options_.max_queue < 1 || options_.max_queue_delay_ms < 0)
    throw std::invalid_argument(fmt::format("batcher: max batch size {} and max queue {} must be >= 1, delay {} >= 0",
                                            options_.max_batch_size, options_.max_queue, options_.max_queue_delay_ms));
  if (!options_.start_paused) start();
}

Batcher::~Batcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& item : queue_) {
    Classification c;
    c.name = item.input.name;
    c.error = fmt::format("{}: the server is shutting down", item.input.name);
    item.answer.set_value(std::move(c));
  }
}

void Batcher::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { loop(); });
}

int64_t Batcher::queue_depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(queue_.size());
}

Batcher::Arrival Batcher::arrive() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++arriving_;
  return Arrival(this);
}

Batcher::Arrival& Batcher::Arrival::operator=(Arrival&& other) noexcept {
  if (this != &other) {
    release();
    batcher_ = other.batcher_;
    other.batcher_ = nullptr;
  }
  return *this;
}

void Batcher::Arrival::release() {
  if (!batcher_) return;
  {
    std::lock_guard<std::mutex> lock(batcher_->mutex_);
    --batcher_->arriving_;
  }
  batcher_->wake_.notify_all();  // an open batch may have been waiting for this request
  batcher_ = nullptr;
}

std::future<Classification> Batcher::submit(ModelInput input, bool raw) {
  Item item;
  item.input = std::move(input);
  item.raw = raw;
  item.queued = std::chrono::steady_clock::now();
  auto future = item.answer.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (static_cast<int64_t>(queue_.size()) >= options_.max_queue)
      throw QueueFull(fmt::format("{} requests are waiting (--max-queue {})", queue_.size(), options_.max_queue));
    queue_.push_back(std::move(item));
    if (metrics_) metrics_->set_queue_depth(static_cast<int64_t>(queue_.size()));
  }
  wake_.notify_one();
  return future;
}

void Batcher::loop() {
  using clock = std::chrono::steady_clock;
  const auto delay = std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double, std::milli>(options_.max_queue_delay_ms));
  // Under load (the last batch held more than one request, or left some queued) a batch waits
  // the delay for the requests that are still in their clients' and the kernel's hands: the
  // answers of a batch go out together, and their clients' next requests come back together.
  bool loaded = false;
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      // The first request opens the batch; while more are on their way (or under load), wait
      // for them until the batch is full or the delay is up.
      const auto deadline = queue_.front().queued + delay;
      wake_.wait_until(lock, deadline, [&] {
        return stop_ || (arriving_ == 0 && !loaded) ||
               static_cast<int64_t>(queue_.size()) >= options_.max_batch_size;
      });
      if (stop_) return;
      while (!queue_.empty() && static_cast<int64_t>(batch.size()) < options_.max_batch_size) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      loaded = batch.size() > 1 || !queue_.empty();
      if (metrics_) metrics_->set_queue_depth(static_cast<int64_t>(queue_.size()));
    }
    const auto begin = clock::now();
    std::vector<ModelInput> inputs;
    inputs.reserve(batch.size());
    for (auto& item : batch) {
      if (metrics_) metrics_->queued(std::chrono::duration<double>(begin - item.queued).count());
      inputs.push_back(std::move(item.input));
    }
    std::vector<Classification> answers;
    try {
      answers = clf_.classify_prepared(inputs, /*raw=*/false);
    } catch (const std::exception& e) {  // the model failed for the batch: every request hears why
      answers.assign(inputs.size(), Classification{});
      for (size_t i = 0; i < inputs.size(); ++i) {
        answers[i].name = inputs[i].name;
        answers[i].error = fmt::format("{}: {}", inputs[i].name, e.what());
      }
    }
    if (metrics_)
      metrics_->batch(static_cast<int64_t>(batch.size()), std::chrono::duration<double>(clock::now() - begin).count());
    for (size_t i = 0; i < batch.size(); ++i) {
      if (answers[i].ok()) answers[i].input = clf_.input_description(batch[i].raw);
      batch[i].answer.set_value(std::move(answers[i]));
    }
  }
}

}  // namespace byteformer
