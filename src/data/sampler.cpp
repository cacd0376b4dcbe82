#include "byteformer/data/sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "byteformer/transforms/rng.h"

namespace byteformer {

int64_t shard_size(int64_t num_samples, int64_t world_size) { return (num_samples + world_size - 1) / world_size; }

std::vector<std::vector<int64_t>> make_epoch_batches(int64_t n, const SamplerOptions& o, int64_t epoch) {
  if (o.batch_size <= 0) throw std::invalid_argument(fmt::format("sampler: batch size {} must be > 0", o.batch_size));
  if (o.world_size <= 0 || o.rank < 0 || o.rank >= o.world_size)
    throw std::invalid_argument(fmt::format("sampler: rank {} of world size {}", o.rank, o.world_size));
  if (o.bucket_by_length && static_cast<int64_t>(o.lengths.size()) != n)
    throw std::invalid_argument(fmt::format("sampler: {} lengths for {} samples", o.lengths.size(), n));
  if (n <= 0) return {};

  // Same order on every rank: a generator seeded by (seed, epoch) only.
  torch::Generator gen = make_generator(o.seed * 6364136223846793005ULL + static_cast<uint64_t>(epoch) + 1);
  std::vector<int64_t> order(static_cast<size_t>(n));
  if (o.shuffle) {
    const auto perm = rand_perm(gen, n);
    std::copy(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n, order.begin());
  } else {
    std::iota(order.begin(), order.end(), 0);
  }
  const int64_t per_rank = shard_size(n, o.world_size);
  const int64_t padded = per_rank * o.world_size;
  for (int64_t i = n; i < padded; ++i) order.push_back(order[static_cast<size_t>(i - n)]);
  std::vector<int64_t> shard;
  shard.reserve(static_cast<size_t>(per_rank));
  for (int64_t i = o.rank; i < padded; i += o.world_size) shard.push_back(order[static_cast<size_t>(i)]);

  if (o.bucket_by_length) {
    const size_t chunk = static_cast<size_t>(o.batch_size * std::max<int64_t>(1, o.bucket_batches));
    for (size_t b = 0; b < shard.size(); b += chunk) {
      const auto end = shard.begin() + static_cast<std::ptrdiff_t>(std::min(shard.size(), b + chunk));
      std::stable_sort(shard.begin() + static_cast<std::ptrdiff_t>(b), end, [&](int64_t x, int64_t y) {
        return o.lengths[static_cast<size_t>(x)] < o.lengths[static_cast<size_t>(y)];
      });
    }
  }
  std::vector<std::vector<int64_t>> batches;
  for (size_t b = 0; b < shard.size(); b += static_cast<size_t>(o.batch_size)) {
    const size_t end = std::min(shard.size(), b + static_cast<size_t>(o.batch_size));
    if (o.drop_last && end - b < static_cast<size_t>(o.batch_size)) break;
    batches.emplace_back(shard.begin() + static_cast<std::ptrdiff_t>(b), shard.begin() + static_cast<std::ptrdiff_t>(end));
  }
  if (o.bucket_by_length && o.shuffle && batches.size() > 1) {
    const auto perm = rand_perm(gen, static_cast<int64_t>(batches.size()));
    std::vector<std::vector<int64_t>> shuffled;
    for (int64_t k = 0; k < perm.numel(); ++k) shuffled.push_back(std::move(batches[perm.data_ptr<int64_t>()[k]]));
    batches = std::move(shuffled);
  }
  return batches;
}

}  // namespace byteformer
