// Which samples form each batch of an epoch: a seeded shuffle, sharded by rank for data-parallel
// training, optionally grouped by length. A pure function of (options, epoch), so a resumed run
// (or another rank) rebuilds exactly the same batches.
#pragma once
#include <cstdint>
#include <vector>

namespace byteformer {

struct SamplerOptions {
  int64_t batch_size = 1;
  bool shuffle = true;
  /// Drop the last incomplete batch (training keeps it, as CoreNet's batch sampler does).
  bool drop_last = false;
  uint64_t seed = 0;
  /// Data-parallel shard: rank `rank` of `world_size` gets every world_size-th sample of the
  /// shuffled order, padded (by repeating the first samples) so all ranks get the same count.
  int64_t rank = 0;
  int64_t world_size = 1;
  /// Length bucketing: sort each chunk of `bucket_batches` batches by `lengths` (e.g. file size)
  /// so batches hold similar lengths (less padding for JPEG/MP3), then shuffle the batch order.
  bool bucket_by_length = false;
  int64_t bucket_batches = 32;
  std::vector<int64_t> lengths;  // one per sample when bucketing
};

/// Batches of sample indices for `epoch`; every sample of the shard appears exactly once.
std::vector<std::vector<int64_t>> make_epoch_batches(int64_t num_samples, const SamplerOptions& options,
                                                     int64_t epoch);

/// Samples in one rank's shard (num_samples / world_size, rounded up).
int64_t shard_size(int64_t num_samples, int64_t world_size);

}  // namespace byteformer
