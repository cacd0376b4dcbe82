// The training functions' GELU kernels (src/model/cpu/gelu.h) against float64 erf and its
// derivative, over the range of pre-activations and at the edges (0, tails where Phi underflows).
#include "model/cpu/gelu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace byteformer {
namespace {

std::vector<float> test_points() {
  std::vector<float> h;
  for (int i = -24000; i <= 24000; ++i) h.push_back(static_cast<float>(i) * 5e-4f);  // [-12, 12]
  for (float v : {0.f, -0.f, 1e-30f, -1e-30f, 1e-7f, -1e-7f, -13.f, -20.f, -40.f, 40.f, -1e4f, 1e4f}) h.push_back(v);
  return h;
}

double gelu64(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }

TEST(Gelu, ForwardMatchesFloat64Erf) {
  const auto h = test_points();
  std::vector<float> g(h.size());
  gelu_forward(g.data(), h.data(), static_cast<int64_t>(h.size()));
  double worst = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    // Abramowitz-Stegun 7.1.26: Phi within 7.5e-8; then a few float roundings of g.
    const double want = gelu64(h[i]), err = std::abs(g[i] - want);
    worst = std::max(worst, err / (1.0 + std::abs(h[i])));
    EXPECT_LE(err, 1.5e-7 * std::abs(h[i]) + 4e-7 * std::abs(want) + 1e-30) << "h = " << h[i];
  }
  EXPECT_GT(worst, 0.0);  // the approximation is not float64's erf: the comparison is real
  // The tails exactly: Phi(-40) underflows to a g of -0 or a denormal, Phi(40) is 1.
  EXPECT_EQ(g[h.size() - 1], 1e4f);
  EXPECT_LE(std::abs(g[h.size() - 2]), 1e-30f);
}

TEST(Gelu, BackwardFromOutputMatchesFloat64Derivative) {
  const auto h = test_points();
  const int64_t n = static_cast<int64_t>(h.size());
  std::vector<float> g(h.size()), dg(h.size(), 1.f);
  gelu_forward(g.data(), h.data(), n);
  for (int64_t i = 0; i < n; ++i) dg[i] = 0.5f + static_cast<float>(i % 7);  // an upstream gradient
  auto upstream = dg;
  gelu_backward_from_output(dg.data(), h.data(), g.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    const double x = h[i];
    const double want = upstream[i] * (0.5 * std::erfc(-x / std::sqrt(2.0)) +
                                       x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI));
    EXPECT_LE(std::abs(dg[i] - want), 1e-6 * std::abs(upstream[i]) * (1.0 + std::abs(x))) << "h = " << x;
  }
}

}  // namespace
}  // namespace byteformer
