#include "byteformer/data/loader.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "byteformer/transforms/rng.h"

namespace byteformer {

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index));
}

Batch collate(std::vector<ProcessedSample> samples, std::vector<int64_t> indices, int64_t num_classes) {
  Batch b;
  b.indices = std::move(indices);
  const int64_t B = static_cast<int64_t>(samples.size());
  int64_t L = 0;
  bool soft = false;
  for (const auto& s : samples) {
    L = std::max<int64_t>(L, static_cast<int64_t>(s.bytes.size()));
    soft = soft || !s.soft_target.empty();
  }
  b.bytes = torch::full({B, L}, -1, torch::kInt64);  // (B, L)
  b.labels = torch::empty({B}, torch::kInt64);
  if (soft) b.soft_targets = torch::zeros({B, num_classes}, torch::kFloat32);
  auto* bytes = b.bytes.data_ptr<int64_t>();
  for (int64_t i = 0; i < B; ++i) {
    const auto& s = samples[static_cast<size_t>(i)];
    std::copy(s.bytes.begin(), s.bytes.end(), bytes + i * L);
    b.labels[i] = s.label;
    if (soft) {
      if (s.soft_target.empty()) {
        b.soft_targets[i][s.label] = 1.0f;
      } else {
        b.soft_targets[i].copy_(torch::tensor(s.soft_target));
      }
    }
  }
  return b;
}

DataLoader::DataLoader(std::shared_ptr<const BytePipeline> pipeline, LoaderOptions options)
    : pipeline_(std::move(pipeline)), options_(options) {
  if (!pipeline_) throw std::invalid_argument("DataLoader: null pipeline");
  if (options_.workers < 0) throw std::invalid_argument(fmt::format("dataset.workers {} must be >= 0", options_.workers));
  options_.prefetch = std::max<int64_t>(1, options_.prefetch);
}

DataLoader::~DataLoader() { stop(); }

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void DataLoader::start(std::vector<std::vector<int64_t>> batches, int64_t epoch, int64_t first_batch) {
  stop();
  batches_ = std::move(batches);
  epoch_ = epoch;
  next_claim_ = next_consume_ = std::clamp<int64_t>(first_batch, 0, num_batches());
  ready_.clear();
  failure_ = nullptr;
  stopping_ = false;
  for (int64_t i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { worker_loop(); });
}

Batch DataLoader::make_batch(int64_t position, bool parallel) const {
  const auto& ids = batches_[static_cast<size_t>(position)];
  const auto n = static_cast<int64_t>(ids.size());
  // Each sample has its own generator, so the samples can be made in any order and on any
  // thread: the batch is the same on one thread as on the intra-op pool.
  std::vector<std::optional<ProcessedSample>> made(static_cast<size_t>(n));
  std::vector<std::string> why(static_cast<size_t>(n));
  const auto make = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const auto k = static_cast<size_t>(i);
      torch::Generator gen = make_generator(sample_seed(options_.seed, epoch_, ids[k]));
      try {
        made[k] = (*pipeline_)(ids[k], gen);
      } catch (const std::exception& e) {
        // An undecodable file is reported and skipped, never fatal.
        why[k] = e.what();
      }
    }
  };
  if (parallel) {
    at::parallel_for(0, n, /*grain_size=*/8, make);
  } else {
    make(0, n);
  }
  std::vector<ProcessedSample> samples;
  std::vector<int64_t> kept;
  std::vector<std::string> errors;
  for (size_t k = 0; k < made.size(); ++k) {
    if (made[k]) {
      samples.push_back(std::move(*made[k]));
      kept.push_back(ids[k]);
    } else {
      errors.push_back(std::move(why[k]));
    }
  }
  Batch b = collate(std::move(samples), std::move(kept), pipeline_->num_classes());
  b.errors = std::move(errors);
  b.position = position;
  return b;
}

void DataLoader::worker_loop() {
  const int64_t window = options_.prefetch * std::max<int64_t>(1, options_.workers);
  while (true) {
    int64_t position;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || next_claim_ >= num_batches() || next_claim_ < next_consume_ + window; });
      if (stopping_ || next_claim_ >= num_batches()) return;
      position = next_claim_++;
    }
    try {
      Batch b = make_batch(position, /*parallel=*/false);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(position, std::move(b));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
    }
    cv_.notify_all();
  }
}

std::optional<Batch> DataLoader::next() {
  if (options_.workers == 0) {
    if (next_consume_ >= num_batches()) return std::nullopt;
    return make_batch(next_consume_++, /*parallel=*/true);
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_consume_ >= num_batches()) return std::nullopt;
  cv_.wait(lock, [&] { return failure_ || ready_.count(next_consume_) > 0; });
  if (failure_) std::rethrow_exception(failure_);
  auto node = ready_.extract(next_consume_);
  ++next_consume_;
  lock.unlock();
  cv_.notify_all();
  return std::move(node.mapped());
}

}  // namespace byteformer
