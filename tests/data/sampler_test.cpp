#include "byteformer/data/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace byteformer {
namespace {

std::vector<int64_t> flatten(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

TEST(Sampler, EveryIndexOnceAndDeterministic) {
  SamplerOptions o;
  o.batch_size = 4;
  o.seed = 7;
  const auto a = make_epoch_batches(10, o, 3);
  EXPECT_EQ(a, make_epoch_batches(10, o, 3));
  EXPECT_NE(flatten(a), flatten(make_epoch_batches(10, o, 4)));  // a new order each epoch
  auto all = flatten(a);
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a.back().size(), 2u);  // incomplete last batch kept
  o.drop_last = true;
  EXPECT_EQ(make_epoch_batches(10, o, 3).size(), 2u);
}

TEST(Sampler, RanksGetDisjointEqualShardsOfOneOrder) {
  SamplerOptions o;
  o.batch_size = 2;
  o.seed = 1;
  o.world_size = 3;
  std::multiset<int64_t> seen;
  for (int64_t r = 0; r < 3; ++r) {
    o.rank = r;
    const auto shard = flatten(make_epoch_batches(10, o, 0));
    EXPECT_EQ(static_cast<int64_t>(shard.size()), shard_size(10, 3));
    seen.insert(shard.begin(), shard.end());
  }
  EXPECT_EQ(seen.size(), 12u);  // 10 samples padded to 12
  for (int64_t i = 0; i < 10; ++i) EXPECT_GE(seen.count(i), 1u);
}

TEST(Sampler, LengthBucketingKeepsEpochCompleteAndGroupsLengths) {
  SamplerOptions o;
  o.batch_size = 4;
  o.seed = 3;
  o.bucket_by_length = true;
  o.bucket_batches = 100;
  for (int64_t i = 0; i < 16; ++i) o.lengths.push_back((i * 7919) % 101);
  const auto batches = make_epoch_batches(16, o, 0);
  EXPECT_EQ(batches, make_epoch_batches(16, o, 0));
  auto all = flatten(batches);
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 16; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
  // One chunk sorted by length: batches do not overlap in length range.
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (const auto& b : batches) {
    int64_t lo = 1000, hi = -1;
    for (auto i : b) lo = std::min(lo, o.lengths[i]), hi = std::max(hi, o.lengths[i]);
    ranges.emplace_back(lo, hi);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) EXPECT_LE(ranges[i - 1].second, ranges[i].first);
}

TEST(Sampler, RejectsBadOptions) {
  SamplerOptions o;
  o.batch_size = 0;
  EXPECT_THROW(make_epoch_batches(4, o, 0), std::invalid_argument);
  o.batch_size = 1;
  o.rank = 2;
  o.world_size = 2;
  EXPECT_THROW(make_epoch_batches(4, o, 0), std::invalid_argument);
}

}  // namespace
}  // namespace byteformer
