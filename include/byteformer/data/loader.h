// Batches of model input made by `dataset.workers` threads ahead of the trainer (prefetch).
// Each sample gets its own generator seeded by (seed, epoch, sample index), so the bytes do not
// depend on the number of threads or on where a resumed run starts. With no worker threads
// (`dataset.workers: 0`) each batch is made when asked for, its samples spread over the
// caller's intra-op threads: on a machine with few cores that keeps a loader thread from
// taking a core away from the training step's threads.
//
//   DataLoader loader(pipeline, {/*workers=*/4, /*prefetch=*/2, /*seed=*/0});
//   loader.start(make_epoch_batches(n, sampler_options, epoch), epoch);
//   while (auto batch = loader.next()) model->forward(batch->bytes);
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "byteformer/data/byte_pipeline.h"

namespace byteformer {

struct Batch {
  torch::Tensor bytes;         // (B, L) int64, values 0..255, -1 = padding
  torch::Tensor labels;        // (B) int64 (for mixed samples, the larger share)
  torch::Tensor soft_targets;  // (B, K) float32 when some sample was mixed, else undefined
  std::vector<int64_t> indices;
  /// "path: reason" of every sample that could not be read or decoded (skipped).
  std::vector<std::string> errors;
  int64_t position = 0;  // batch number within the epoch
  int64_t size() const { return static_cast<int64_t>(indices.size()); }
};

struct LoaderOptions {
  int64_t workers = 0;   // dataset.workers; 0 = in the calling thread, on its intra-op pool
  int64_t prefetch = 2;  // batches made ahead per worker (dataset.prefetch_factor)
  uint64_t seed = 0;     // common.seed
};

/// The generator seed of one sample in one epoch.
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index);

/// Pads processed samples with -1 to the longest one.
Batch collate(std::vector<ProcessedSample> samples, std::vector<int64_t> indices, int64_t num_classes);

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const BytePipeline> pipeline, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  /// Begins an epoch at batch `first_batch` (a resumed run skips what it already trained on).
  void start(std::vector<std::vector<int64_t>> batches, int64_t epoch, int64_t first_batch = 0);
  /// The next batch in order; nullopt after the last. A batch whose samples all failed comes
  /// back with size() 0 and its errors. Rethrows an unexpected worker failure.
  std::optional<Batch> next();
  void stop();

  int64_t num_batches() const { return static_cast<int64_t>(batches_.size()); }
  const BytePipeline& pipeline() const { return *pipeline_; }

 private:
  /// `parallel`: the samples on the intra-op thread pool (workers = 0, between training steps).
  Batch make_batch(int64_t position, bool parallel) const;
  void worker_loop();

  std::shared_ptr<const BytePipeline> pipeline_;
  LoaderOptions options_;
  std::vector<std::vector<int64_t>> batches_;
  int64_t epoch_ = 0;
  int64_t next_claim_ = 0;
  int64_t next_consume_ = 0;
  bool stopping_ = false;
  std::exception_ptr failure_;
  std::map<int64_t, Batch> ready_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
};

}  // namespace byteformer
