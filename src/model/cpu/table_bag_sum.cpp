#include "model/cpu/table_bag_sum.h"

#include "model/cpu/cpu_parallel.h"
#include "lanes.h"

namespace byteformer {

namespace {

// The backward's work units: kBagBlocks table blocks per task (8 blocks of 257 rows of C = 64
// floats: 526 KB, inside L2) and runs of kBagTokens tokens (a 64 KB run of the gradient).
constexpr int64_t kBagBlocks = 8;
constexpr int64_t kBagTokens = 256;

// The forward's work units: each task gathers a run of tokens block by block, a few table blocks
// at a time, so a block's rows are read from L2 for the whole run instead of from L3 token by
// token: about 512 KB of table blocks (eight of 257 rows at C = 64) and 512 KB of the run's output
// (2,048 tokens at C = 64). On the quickstart model's forward (k = 168, 7,168 tokens, one thread):
// 6.2-7.0 ms against embedding_bag's 11.5-12.8 ms (one-off probe).
constexpr int64_t kGatherTableBytes = 512 * 1024;
constexpr int64_t kGatherOutputBytes = 512 * 1024;

// Where T[j][v] is, for id = j*V + v: row id (by position) or row v*k + j = id*k - j*(V*k - 1)
// (by value), as a multiply-add: id*row_scale - j*row_shift, (1, 0) or (k, V*k - 1).
struct RowMap {
  int64_t row_scale, row_shift;
  int64_t operator()(int64_t id, int64_t j) const { return id * row_scale - j * row_shift; }
};

RowMap row_map(TableLayout layout, int64_t k, int64_t V) {
  return layout == TableLayout::kByValue ? RowMap{k, V * k - 1} : RowMap{1, 0};
}

// out row m += table rows map(ids[m * k + j], j) for j in [j0, j1), then m in [m0, m1): the rows
// of each token in j order, as embedding_bag adds them, so the sums are the same bit for bit. A
// known C keeps the token's sum in registers for the block (ByteFormer-Ti's 192, the quickstart's
// 64).
template <int64_t C>
__attribute__((always_inline)) inline void gather_rows_fixed(float* __restrict out, const float* __restrict table,
                                                             const int64_t* ids, RowMap map, int64_t k, int64_t j0,
                                                             int64_t j1, int64_t m0, int64_t m1) {
  constexpr int64_t R = C / kLanes;
  for (int64_t m = m0; m < m1; ++m) {
    float* o = out + m * C;
    Lanes acc[R];
    for (int64_t r = 0; r < R; ++r) acc[r] = load_lanes(o + r * kLanes);
    const int64_t* id = ids + m * k;
    for (int64_t j = j0; j < j1; ++j) {
      const float* row = table + map(id[j], j) * C;
      for (int64_t r = 0; r < R; ++r) acc[r] += load_lanes(row + r * kLanes);
    }
    for (int64_t r = 0; r < R; ++r) store_lanes(o + r * kLanes, acc[r]);
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void gather_rows_f32(
    float* __restrict out, const float* __restrict table, const int64_t* ids, RowMap map, int64_t k, int64_t j0,
    int64_t j1, int64_t m0, int64_t m1, int64_t C) {
  if (C == 64) return gather_rows_fixed<64>(out, table, ids, map, k, j0, j1, m0, m1);
  if (C == 192) return gather_rows_fixed<192>(out, table, ids, map, k, j0, j1, m0, m1);
  for (int64_t m = m0; m < m1; ++m) {
    float* o = out + m * C;
    for (int64_t j = j0; j < j1; ++j) {
      const float* row = table + map(ids[m * k + j], j) * C;
      for (int64_t c = 0; c < C; ++c) o[c] += row[c];
    }
  }
}

// The table's row of each id (embedding_bag's input where the table is by value).
torch::Tensor table_rows(const torch::Tensor& bags, int64_t k, int64_t V, TableLayout layout) {
  if (layout == TableLayout::kByPosition) return bags;
  const auto j = torch::arange(k, bags.options());  // (k)
  return ((bags.view({-1, k}) - j * V) * k + j).reshape({-1});
}

torch::Tensor bag_sum_forward(const torch::Tensor& table, const torch::Tensor& bags, int64_t k, TableLayout layout) {
  if (!(table.device().is_cpu() && table.scalar_type() == torch::kFloat32 && bags.device().is_cpu() &&
        bags.scalar_type() == torch::kInt64)) {
    const auto starts = torch::arange(0, bags.numel(), k, bags.options());
    return std::get<0>(torch::embedding_bag(table, table_rows(bags, k, table.size(0) / k, layout), starts,
                                            /*scale_grad_by_freq=*/false, /*mode=*/0 /* sum */));
  }
  const auto t = table.contiguous();
  const auto b = bags.contiguous();
  const int64_t M = b.numel() / k, C = t.size(1);
  auto out = torch::zeros({M, C}, t.options());  // (M, C)
  const float* rows = t.data_ptr<float>();
  const int64_t* ids = b.data_ptr<int64_t>();
  float* dst = out.data_ptr<float>();
  const int64_t V = t.size(0) / k;
  const auto map = row_map(layout, k, V);
  const int64_t blocks = std::max<int64_t>(1, kGatherTableBytes / std::max<int64_t>(1, V * C * 4));
  // Tasks: runs of at most kGatherOutputBytes of output, as many as a multiple of the thread count.
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  int64_t tasks = std::max<int64_t>(1, (M * C * 4 + kGatherOutputBytes - 1) / kGatherOutputBytes);
  tasks = (tasks + threads - 1) / threads * threads;
  const int64_t run = std::max<int64_t>(1, (M + tasks - 1) / tasks);
  parallel_tasks((M + run - 1) / run, [&](int64_t task) {
    const int64_t m0 = task * run, m1 = std::min(M, m0 + run);
    for (int64_t j0 = 0; j0 < k; j0 += blocks) gather_rows_f32(dst, rows, ids, map, k, j0, std::min(k, j0 + blocks), m0, m1, C);
  });
  return out;
}

// dst row ids[m * k + j] - row0 += src row m (C values), for j in [j0, j1), then m in [m0, m1).
// Always inlined: in scatter_rows_f32 it is compiled for that function's targets.
template <typename T>
__attribute__((always_inline)) inline void scatter_rows(T* __restrict dst, const T* __restrict src, const int64_t* ids,
                                                        int64_t row0, int64_t k, int64_t j0, int64_t j1, int64_t m0,
                                                        int64_t m1, int64_t C) {
  for (int64_t j = j0; j < j1; ++j)
    for (int64_t m = m0; m < m1; ++m) {
      T* row = dst + (ids[m * k + j] - row0) * C;
      const T* from = src + m * C;
      for (int64_t c = 0; c < C; ++c) row[c] += from[c];
    }
}

// The same for float32 (training's precision), also compiled for AVX-512 and AVX2 and chosen
// when the program loads (the build targets baseline x86-64, whose 4-float vectors made this
// loop the largest part of the quickstart model's token-reduction backward).
__attribute__((target_clones("avx512f", "avx2", "default"))) void scatter_rows_f32(
    float* __restrict dst, const float* __restrict src, const int64_t* ids, int64_t row0, int64_t k, int64_t j0,
    int64_t j1, int64_t m0, int64_t m1, int64_t C) {
  scatter_rows<float>(dst, src, ids, row0, k, j0, j1, m0, m1, C);
}

void scatter_rows(float* dst, const float* src, const int64_t* ids, int64_t row0, int64_t k, int64_t j0, int64_t j1,
                  int64_t m0, int64_t m1, int64_t C) {
  scatter_rows_f32(dst, src, ids, row0, k, j0, j1, m0, m1, C);
}

// Rows by position (a task's sums: block j - j0 of V rows) to their places by value (row v*k + j).
template <typename T>
__attribute__((always_inline)) inline void spread_rows(T* __restrict dst, const T* __restrict sums, int64_t V, int64_t k,
                                                       int64_t j0, int64_t j1, int64_t C) {
  for (int64_t v = 0; v < V; ++v)
    for (int64_t j = j0; j < j1; ++j) {
      const T* from = sums + ((j - j0) * V + v) * C;
      T* to = dst + (v * k + j) * C;
      for (int64_t c = 0; c < C; ++c) to[c] = from[c];
    }
}

// float32 compiled for AVX-512 and AVX2 too: rows of 64 floats are four register copies there,
// where a library copy per row cost a call each (2,056 rows a task).
__attribute__((target_clones("avx512f", "avx2", "default"))) void spread_rows_f32(float* __restrict dst,
                                                                                  const float* __restrict sums,
                                                                                  int64_t V, int64_t k, int64_t j0,
                                                                                  int64_t j1, int64_t C) {
  spread_rows<float>(dst, sums, V, k, j0, j1, C);
}

void spread_rows(float* dst, const float* sums, int64_t V, int64_t k, int64_t j0, int64_t j1, int64_t C) {
  spread_rows_f32(dst, sums, V, k, j0, j1, C);
}

class TableBagSum : public torch::autograd::Function<TableBagSum> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& table,
                               const torch::Tensor& bags, int64_t k, TableLayout layout) {
    ctx->save_for_backward({bags});
    ctx->saved_data["k"] = k;
    ctx->saved_data["rows"] = table.size(0);
    ctx->saved_data["by_value"] = layout == TableLayout::kByValue;
    return bag_sum_forward(table, bags, k, layout);  // (M, C)
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto bags = ctx->get_saved_variables()[0].contiguous();
    const int64_t k = ctx->saved_data["k"].toInt();
    const int64_t rows = ctx->saved_data["rows"].toInt();
    const bool by_value = ctx->saved_data["by_value"].toBool();
    const auto g = grads[0].contiguous();  // (M, C)
    const int64_t M = g.size(0), C = g.size(1);
    auto dtable = torch::empty({rows, C}, g.options());  // (k*V, C); each task zeroes its blocks
    const int64_t V = rows / k;                           // rows per table block
    const int64_t* ids = bags.data_ptr<int64_t>();
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "table_bag_sum_backward", [&] {
      const scalar_t* src = g.data_ptr<scalar_t>();
      scalar_t* dst = dtable.data_ptr<scalar_t>();
      // Blocks [j0, j1) of the table belong to this task alone, and each of their rows sums its
      // tokens in token order (so the gradient does not depend on the thread count). Tokens go
      // in runs of kBagTokens, each run's gradient rows read once for all the task's blocks
      // (one pass over the whole gradient per block read it k times from memory).
      parallel_tasks((k + kBagBlocks - 1) / kBagBlocks, [&](int64_t t) {
        const int64_t j0 = t * kBagBlocks, j1 = std::min(k, j0 + kBagBlocks);
        // By value, block j's rows are every k-th row of the table, a 257-row block spread over
        // all of it: the task sums into its own buffer by position (its blocks contiguous, as
        // the by-position table's), then copies each row to its place. Scattering into the
        // spread rows directly cost 1.3x (perf, the quickstart step).
        const int64_t n = (j1 - j0) * V * C;
        std::vector<scalar_t> own(by_value ? n : 0);  // zeroed
        scalar_t* sums = by_value ? own.data() : dst + j0 * V * C;
        if (!by_value) std::fill(sums, sums + n, scalar_t(0));
        for (int64_t m0 = 0; m0 < M; m0 += kBagTokens) {
          const int64_t m1 = std::min(M, m0 + kBagTokens);
          scatter_rows(sums, src, ids, /*row0=*/j0 * V, k, j0, j1, m0, m1, C);
        }
        if (by_value) spread_rows(dst, sums, V, k, j0, j1, C);
      });
    });
    return {dtable, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor table_bag_sum(const torch::Tensor& table, const torch::Tensor& bags, int64_t k, TableLayout layout) {
  TORCH_CHECK(table.dim() == 2 && bags.dim() == 1 && k > 0 && bags.numel() % k == 0 && table.size(0) % k == 0,
              "table_bag_sum: expected a (k * V, C) table and k * M row ids, got ", table.sizes(), ", ", bags.sizes(),
              ", k = ", k);
  if (!torch::GradMode::is_enabled() || !table.requires_grad() || !cpu_float_outside_autocast(table))
    return bag_sum_forward(table, bags, k, layout);
  return TableBagSum::apply(table, bags, k, layout);
}

}  // namespace byteformer
