// table_bag_sum (src/model/table_bag_sum.cpp): the fused token reduction's row sums and their
// gradient against embedding_bag's own backward and a literal loop.
#include "model/cpu/table_bag_sum.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace byteformer {
namespace {

// Row ids as the fused reduction builds them: token m's j-th row in block j of a (k*V, C) table.
torch::Tensor make_bags(int64_t M, int64_t k, int64_t V, uint64_t seed) {
  torch::manual_seed(seed);
  auto x = torch::randint(0, V, {M, k}, torch::kLong);
  return (x + torch::arange(k, torch::kLong) * V).reshape({M * k});
}

constexpr TableLayout kLayouts[] = {TableLayout::kByPosition, TableLayout::kByValue};

// A table laid out by position, (k*V, C), in `layout`: by value, row v*k + j is row j*V + v.
torch::Tensor in_layout(const torch::Tensor& by_position, int64_t k, TableLayout layout) {
  if (layout == TableLayout::kByPosition) return by_position;
  const int64_t V = by_position.size(0) / k, C = by_position.size(1);
  return by_position.view({k, V, C}).permute({1, 0, 2}).reshape({k * V, C});
}

torch::Tensor reference_grad(const torch::Tensor& table, const torch::Tensor& bags, int64_t k, const torch::Tensor& g) {
  auto t = table.detach().clone().requires_grad_(true);
  auto starts = torch::arange(0, bags.numel(), k, bags.options());
  auto out = std::get<0>(torch::embedding_bag(t, bags, starts, false, 0));
  out.backward(g);
  return t.grad();
}

// Both layouts: by value, the backward's tasks sum into buffers of their own and copy each row
// to its place, every k-th row of the table (a row left out would be garbage: torch::empty).
TEST(TableBagSum, ForwardAndTableGradientMatchEmbeddingBag) {
  for (const auto layout : kLayouts) {
    for (const auto dtype : {torch::kFloat, torch::kDouble}) {
      for (const int64_t k : {1, 4, 5, 84}) {
        const int64_t V = 257, C = 24, M = 333;
        const auto bags = make_bags(M, k, V, static_cast<uint64_t>(k));
        const auto by_position = torch::randn({k * V, C}, dtype);
        auto table = in_layout(by_position, k, layout).requires_grad_(true);
        auto out = table_bag_sum(table, bags, k, layout);  // (M, C)
        ASSERT_EQ(out.sizes(), (std::vector<int64_t>{M, C}));
        // The forward against a literal sum of rows.
        auto literal = by_position.index_select(0, bags).view({M, k, C}).sum(1);
        const double tol = dtype == torch::kFloat ? 1e-5 : 1e-12;  // sums of k rows in another order
        EXPECT_TRUE(torch::allclose(out.detach(), literal, tol, tol)) << k;
        auto g = torch::randn({M, C}, dtype);
        out.backward(g);
        // Each table row's gradient is a sum of the same output rows as embedding_bag's (in token
        // order here): equal to rounding.
        const auto expected = in_layout(reference_grad(by_position, bags, k, g), k, layout);
        EXPECT_TRUE(torch::allclose(table.grad(), expected, tol, tol)) << k;
      }
    }
  }
}

// The float32 forward (blocked by runs of tokens and groups of table blocks, the last group short
// where k = 84) adds each token's rows in the order embedding_bag does: the same sums bit for bit,
// on one thread and on two.
TEST(TableBagSum, Float32ForwardIsEmbeddingBagsSumBitForBit) {
  for (const int64_t k : {1, 5, 84, 168}) {
    for (const int64_t C : {24, 64}) {
      const int64_t V = 257, M = 1333;  // three runs, the last one short
      const auto bags = make_bags(M, k, V, static_cast<uint64_t>(k + C));
      const auto table = torch::randn({k * V, C});
      const auto starts = torch::arange(0, bags.numel(), k, bags.options());
      const auto ref = std::get<0>(torch::embedding_bag(table, bags, starts, false, 0));
      for (const auto layout : kLayouts) {
        const auto laid_out = in_layout(table, k, layout);
        for (const int threads : {1, 2}) {
          test::ScopedThreads scoped(threads);
          torch::NoGradGuard no_grad;
          EXPECT_TRUE(torch::equal(table_bag_sum(laid_out, bags, k, layout), ref))
              << "k " << k << " C " << C << " threads " << threads << " by value " << (layout == TableLayout::kByValue);
        }
      }
    }
  }
}

TEST(TableBagSum, GradientDoesNotDependOnTheThreadCount) {
  for (const auto layout : kLayouts) {
    const int64_t k = 16, V = 257, C = 32, M = 2000;
    const auto bags = make_bags(M, k, V, 7);
    auto table = torch::randn({k * V, C}).requires_grad_(true);
    auto g = torch::randn({M, C});
    auto grad_with = [&](int threads) {
      test::ScopedThreads scoped(threads);
      table.mutable_grad() = torch::Tensor();
      table_bag_sum(table, bags, k, layout).backward(g);
      return table.grad().clone();
    };
    EXPECT_TRUE(torch::equal(grad_with(1), grad_with(2)));  // bitwise
  }
}

TEST(TableBagSum, WithoutGradientOrOutsideCpuFloatItIsEmbeddingBag) {
  const int64_t k = 3, V = 5, C = 4;
  const auto bags = make_bags(10, k, V, 3);
  auto table = torch::randn({k * V, C});
  {
    torch::NoGradGuard no_grad;
    EXPECT_FALSE(table_bag_sum(table, bags, k, TableLayout::kByPosition).requires_grad());
  }
  EXPECT_THROW(table_bag_sum(table, bags.slice(0, 0, 7), k, TableLayout::kByPosition), c10::Error);  // 7 ids are not bags of 3
}

}  // namespace
}  // namespace byteformer
