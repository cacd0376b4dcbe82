// The training step's hand-written pieces at the Fashion-MNIST quickstart model's shapes (C = 64,
// k = 168, batch 256 of 29 tokens, windows of 32 slots, heads of 16), best of 5 timings:
//  - the small-window attention kernels (small_window_attention.h), one layer's 256 windows x 4
//    heads on one thread, forward and backward, GFLOP/s of their products;
//  - the fused token reduction in training: its table and the tokens' row sums, forward and
//    backward, with the table by byte value (reduction_table_by_value, as the model trains now)
//    and by kernel position (LibTorch's product, then the table laid out by position: the model
//    before commit b84fd8b), on the threads asked for.
//
//   build/bench/bench_kernels [--threads T]
#include <chrono>
#include <functional>
#include <vector>

#include <fmt/format.h>

#include "bench_setup.h"
#include "model/cpu/reduction_table.h"
#include "model/cpu/table_bag_sum.h"
#include "model/cpu/small_window_attention.h"

namespace {

using Clock = std::chrono::steady_clock;

// Best of 5 timings of one call, in ms (after a warm-up call), each after an untimed `setup`.
double best_ms(const std::function<void()>& call, const std::function<void()>& setup = [] {}) {
  setup();
  call();
  double best = 1e30;
  for (int t = 0; t < 5; ++t) {
    setup();
    const auto start = Clock::now();
    call();
    best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  return best;
}

void small_window_rows() {
  using byteformer::SmallWindowHead;
  const int64_t w = 32, d = 16, C = 64, ld = 3 * C, heads = 4, windows = 256;
  auto qkv = torch::randn({windows * w, ld});   // (tokens, 3C), as the sublayer's qkv rows
  auto dout = torch::randn({windows * w, C});   // the attention output's gradient
  auto probs = torch::empty({windows * heads, w, w}), out = torch::empty({windows * w, C});
  auto dqkv = torch::empty({windows * w, ld});
  std::vector<char> valid(w, 1);
  for (int64_t j = 29; j < w; ++j) valid[j] = 0;  // 29 tokens in 32 slots
  auto head_of = [&](int64_t g, int64_t h) {
    const float* base = qkv.data_ptr<float>() + g * w * ld + h * d;
    return SmallWindowHead{base, base + C, base + 2 * C, ld, reinterpret_cast<const bool*>(valid.data()), w, d,
                           0.25f};
  };
  const double fwd = best_ms([&] {
    for (int64_t g = 0; g < windows; ++g)
      for (int64_t h = 0; h < heads; ++h)
        byteformer::small_window_forward(head_of(g, h), probs.data_ptr<float>() + (g * heads + h) * w * w,
                                         out.data_ptr<float>() + g * w * C + h * d, C);
  });
  const double bwd = best_ms([&] {
    for (int64_t g = 0; g < windows; ++g)
      for (int64_t h = 0; h < heads; ++h) {
        float* dq = dqkv.data_ptr<float>() + g * w * ld + h * d;
        byteformer::small_window_backward(head_of(g, h), probs.data_ptr<float>() + (g * heads + h) * w * w,
                                          dout.data_ptr<float>() + g * w * C + h * d, C, dq, dq + C, dq + 2 * C, ld);
      }
  });
  const double flops = static_cast<double>(windows * heads) * 2 * (2.0 * w * w * d);  // q k^T and P v
  fmt::print("small-window attention, one layer (256 windows x 4 heads, w 32, d 16), one thread:\n");
  fmt::print("  forward  {:7.3f} ms  {:6.1f} GFLOP/s\n", fwd, flops / fwd / 1e6);
  fmt::print("  backward {:7.3f} ms  {:6.1f} GFLOP/s\n", bwd, 2 * flops / bwd / 1e6);
}

void token_reduction_rows() {
  using byteformer::TableLayout;
  const int64_t V = 257, C = 64, k = 168, s = 84, B = 256, N = 29, L = (N - 1) * s + k;
  auto e = torch::randn({V, C}).requires_grad_(true);
  auto w = (torch::randn({C, C, k}) * 0.01).requires_grad_(true);
  // Bytes as in the quickstart's TIFFs: about half zero (black background), the rest spread.
  auto x = torch::randint(0, 256, {B, L}, torch::kLong);
  x.masked_fill_(torch::rand({B, L}) < 0.5, 0);
  const auto bags = (x.unfold(1, k, s) + torch::arange(k, torch::kLong) * V).reshape({B * N * k});
  const auto g = torch::randn({B * N, C});
  auto tokens = [&](TableLayout layout) {
    if (layout == TableLayout::kByValue)
      return byteformer::table_bag_sum(byteformer::reduction_table_by_value(e, w), bags, k, layout);
    auto mask = torch::ones({V, 1});
    mask[V - 1] = 0;
    const auto table = torch::mm(e * mask, w.permute({1, 2, 0}).reshape({C, k * C}))  // (V, k*C)
                           .view({V, k, C})
                           .permute({1, 0, 2})
                           .reshape({k * V, C});  // (k*V, C) by position
    return byteformer::table_bag_sum(table, bags, k, layout);
  };
  fmt::print("token reduction in training (k 168, C 64, 256 x 29 tokens), {} threads:\n", torch::get_num_threads());
  for (const auto layout : {TableLayout::kByPosition, TableLayout::kByValue}) {
    torch::Tensor out;
    const double fwd = best_ms([&] { out = tokens(layout); });
    const double bwd = best_ms([&] { out.backward(g); },
                               [&] {
                                 e.mutable_grad() = torch::Tensor();
                                 w.mutable_grad() = torch::Tensor();
                                 out = tokens(layout);
                               });
    fmt::print("  table by {:<8}  forward {:6.2f} ms  backward {:6.2f} ms\n",
               layout == TableLayout::kByValue ? "value" : "position", fwd, bwd);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = byteformer::bench::setup(argc, argv, "The training step's hand-written kernels at the quickstart model's shapes");
  torch::manual_seed(0);
  byteformer::set_compute_threads(1);
  {
    torch::NoGradGuard no_grad;
    small_window_rows();
  }
  byteformer::set_compute_threads(threads);
  token_reduction_rows();
  return 0;
}
