#include "model/cpu/window_attention.h"

#include <cmath>
#include <limits>

#include "model/cpu/cpu_parallel.h"
#include "model/cpu/fast_linear.h"
#include "window_slots.h"

namespace byteformer {

namespace {

struct Shapes {
  int64_t w, C, H, d;
  double scale;
};

// Per head of n windows of w slots: scores = q k^T / sqrt(d), masked (key_valid (n, w) when
// defined), softmax, then out (n, w, C) = scores v. rows: (n*w, 3C), rows consecutive (a view
// of qkv rows or a buffer).
void attend_heads(const Shapes& k, const torch::Tensor& rows, const torch::Tensor& key_valid, torch::Tensor& out) {
  const int64_t n = out.size(0), w = k.w, C = k.C, d = k.d;
  auto r = rows.view({n, w, 3 * C});
  auto scores = torch::empty({n, w, w}, rows.options());
  for (int64_t h = 0; h < k.H; ++h) {
    const auto q = r.slice(2, h * d, (h + 1) * d);                                // (n, w, d), row stride 3C
    const auto kt = r.slice(2, C + h * d, C + (h + 1) * d).transpose(1, 2);      // (n, d, w), column stride 3C
    const auto v = r.slice(2, 2 * C + h * d, 2 * C + (h + 1) * d);               // (n, w, d)
    // scores = (q k^T) / sqrt(d): MultiHeadAttention scales q first, the same up to rounding.
    batched_matmul_into(scores, q, kt, k.scale);  // (n, w, w)
    if (key_valid.defined())
      scores.masked_fill_(key_valid.logical_not().unsqueeze(1), -std::numeric_limits<double>::infinity());
    // Softmax in place, per row, in the tokens' float32 or float64 (this path's dtypes).
    at::_softmax_out(scores, scores, /*dim=*/-1, /*half_to_float=*/false);
    auto o = out.slice(2, h * d, (h + 1) * d);  // (n, w, d), row stride C
    batched_matmul_into(o, scores, v, 1.0);
  }
}

// Where windows [g0, g1) read and write their tokens: `first` when their n*w slots are the
// consecutive rows first, first + 1, ... of (B*N, C) (every window but the wrapped or padded
// ones), else -1 (gather and scatter through `rows`, with `on_row` where not `whole`).
struct WindowRun {
  int64_t g0, g1, first = -1;
  bool whole = true;
  torch::Tensor rows, on_row;  // (n*w) slots' rows; (n*w) bool, defined when not whole
};

WindowRun window_run(const SlotLayout& s, const std::vector<uint8_t>& all_on_row, int64_t w, int64_t g0, int64_t g1) {
  WindowRun run{g0, g1};
  run.rows = s.row.slice(0, g0 * w, g1 * w);
  for (int64_t g = g0; g < g1; ++g) run.whole = run.whole && all_on_row[g];
  const int64_t* idx = run.rows.data_ptr<int64_t>();
  bool consecutive = run.whole;
  for (int64_t j = 1; consecutive && j < (g1 - g0) * w; ++j) consecutive = idx[j] == idx[0] + j;
  if (consecutive) run.first = idx[0];
  if (!run.whole) run.on_row = s.on_row.slice(0, g0 * w, g1 * w);
  return run;
}

// Attention of windows [g0, g1): reads their rows of qkv (in place when they are consecutive
// tokens, else gathered, window padding from pad_qkv), attends per head, writes each token's
// output row to heads (B*N, C).
void attend_windows(const Shapes& k, const torch::Tensor& qkv, const torch::Tensor& pad_qkv, const SlotLayout& s,
                    const std::vector<uint8_t>& all_on_row, torch::Tensor& heads,
                    int64_t g0, int64_t g1) {
  const int64_t n = g1 - g0, w = k.w, C = k.C;
  const auto run = window_run(s, all_on_row, w, g0, g1);
  const auto key_valid = s.key_valid.defined() ? s.key_valid.slice(0, g0, g1) : torch::Tensor();
  if (run.first >= 0) {
    // q, k, v read in place and outputs written in place: no gather or scatter.
    auto out = heads.slice(0, run.first, run.first + n * w).view({n, w, C});
    attend_heads(k, qkv.slice(0, run.first, run.first + n * w), key_valid, out);
    return;
  }
  auto rows = qkv.index_select(0, run.rows);  // (n*w, 3C)
  // CoreNet numerics: window padding is the norm of a zero token; masked: never a valid key,
  // its output is dropped, so any finite row does.
  if (!run.whole && pad_qkv.defined()) rows.index_put_({run.on_row.logical_not()}, pad_qkv);
  auto out = torch::empty({n, w, C}, qkv.options());
  attend_heads(k, rows, key_valid, out);
  auto flat = out.view({n * w, C});
  if (run.whole) {
    heads.index_copy_(0, run.rows, flat);
  } else {
    auto sel = run.on_row.nonzero().squeeze(1);
    heads.index_copy_(0, run.rows.index_select(0, sel), flat.index_select(0, sel));
  }
}

// The windows of a layer in tasks: runs of consecutive live windows (all of them under CoreNet
// numerics; under masked numerics those with a valid key), cut into chunks of a few windows
// (each head's scores stay in cache). `live` gets the (G) bool mask under masked numerics.
std::vector<std::pair<int64_t, int64_t>> window_tasks(const SlotLayout& s, int64_t window, torch::Tensor* live) {
  const int64_t G = s.windows;
  std::vector<int64_t> live_windows;
  if (s.key_valid.defined()) {
    // A window without a valid key: its tokens get zeros (MultiHeadAttention's rule), so it is
    // not computed at all.
    *live = s.key_valid.any(1);
    auto any_c = live->to(torch::kUInt8).contiguous();
    for (int64_t g = 0; g < G; ++g)
      if (any_c.data_ptr<uint8_t>()[g]) live_windows.push_back(g);
  } else {
    live_windows.resize(G);
    for (int64_t g = 0; g < G; ++g) live_windows[g] = g;
  }
  const int64_t chunk = windows_per_task(window);
  std::vector<std::pair<int64_t, int64_t>> tasks;
  for (size_t i = 0; i < live_windows.size();) {
    size_t j = i + 1;
    while (j < live_windows.size() && live_windows[j] == live_windows[j - 1] + 1 &&
           static_cast<int64_t>(j - i) < chunk)
      ++j;
    tasks.emplace_back(live_windows[i], live_windows[j - 1] + 1);
    i = j;
  }
  return tasks;
}

// Per window: are all its slots tokens of the row (no padding to patch, no output to drop)?
std::vector<uint8_t> whole_windows(const SlotLayout& s, int64_t window) {
  auto whole_t = s.on_row.view({s.windows, window}).all(1).to(torch::kUInt8).contiguous();
  return std::vector<uint8_t>(whole_t.data_ptr<uint8_t>(), whole_t.data_ptr<uint8_t>() + s.windows);
}

}  // namespace

torch::Tensor windowed_attention_inference(MultiHeadAttentionImpl& attn, const torch::Tensor& h,
                                           const torch::Tensor& valid_len, const torch::Tensor& pad_token,
                                           int64_t window, int64_t shift) {
  TORCH_CHECK(h.dim() == 3, "windowed_attention_inference: expected (B, N, C), got ", h.sizes());
  return windowed_attention_from_qkv(attn, attn.project_qkv(h), valid_len, pad_token, window, shift);
}

torch::Tensor windowed_attention_from_qkv(MultiHeadAttentionImpl& attn, const torch::Tensor& qkv_in,
                                          const torch::Tensor& valid_len, const torch::Tensor& pad_token,
                                          int64_t window, int64_t shift) {
  TORCH_CHECK(qkv_in.dim() == 3 && qkv_in.size(2) % 3 == 0,
              "windowed_attention_from_qkv: expected (B, N, 3C), got ", qkv_in.sizes());
  TORCH_CHECK(valid_len.defined() || pad_token.defined(),
              "windowed_attention_inference: CoreNet numerics need the pad token");
  const int64_t B = qkv_in.size(0), N = qkv_in.size(1), C = qkv_in.size(2) / 3, H = attn.num_heads();
  const Shapes k{window, C, H, C / H, 1.0 / std::sqrt(static_cast<double>(C / H))};
  const auto s = slot_layout(B, N, window, shift, valid_len);
  const int64_t G = s.windows;
  auto qkv = qkv_in.reshape({B * N, 3 * C}).contiguous();
  torch::Tensor pad_qkv;  // CoreNet numerics: qkv of the window padding token
  if (!valid_len.defined()) pad_qkv = attn.project_qkv(pad_token.reshape({1, C})).reshape({3 * C});

  const auto whole = whole_windows(s, window);
  torch::Tensor live;
  const auto tasks = window_tasks(s, window, &live);
  const bool some_dead = live.defined() && !live.all().item<bool>();
  auto heads = some_dead ? torch::zeros({B * N, C}, qkv.options()) : torch::empty({B * N, C}, qkv.options());
  parallel_tasks(static_cast<int64_t>(tasks.size()), [&](int64_t t) {
    attend_windows(k, qkv, pad_qkv, s, whole, heads, tasks[t].first, tasks[t].second);
  });
  auto out = torch::empty({B * N, C}, qkv.options());  // (B*N, C)
  // int8 inference: the int8 copy of the weight (ProductWeight), else the weight itself.
  linear_into(out, heads, attn.out_product->get(attn.out_proj->weight, /*bf16=*/false), attn.out_proj->bias,
              LinearEpilogue::kStore);
  if (some_dead) {
    // Tokens of windows without a valid key: zeros, not out_proj's bias.
    auto token_live = live.view({G, 1}).expand({G, window}).reshape({-1});
    auto dead_rows = s.row.masked_select(token_live.logical_not().logical_and(s.on_row));
    out.index_fill_(0, dead_rows, 0.0);
  }
  return out.view({B, N, C});
}

void add_windowed_attention_inference(MultiHeadAttentionImpl& attn, const torch::Tensor& norm_weight,
                                      const torch::Tensor& norm_bias, double eps, torch::Tensor& y,
                                      const torch::Tensor& valid_len, const torch::Tensor& pad_token, int64_t window,
                                      int64_t shift, bool bf16) {
  TORCH_CHECK(!torch::GradMode::is_enabled() && y.dim() == 3 && y.is_contiguous() &&
                  (!bf16 || y.scalar_type() == torch::kFloat),
              "add_windowed_attention_inference: expected a contiguous (B, N, C) tensor, no autograd, got ", y.sizes());
  TORCH_CHECK(valid_len.defined() || pad_token.defined(),
              "add_windowed_attention_inference: CoreNet numerics need the pad token");
  const int64_t B = y.size(0), N = y.size(1), C = y.size(2), H = attn.num_heads();
  const Shapes k{window, C, H, C / H, 1.0 / std::sqrt(static_cast<double>(C / H))};
  const auto s = slot_layout(B, N, window, shift, valid_len);
  auto rows = y.view({B * N, C});
  const auto w_qkv = attn.qkv_product->get(attn.qkv_proj->weight, bf16);
  const auto w_out = attn.out_product->get(attn.out_proj->weight, bf16);
  const auto& b_qkv = attn.qkv_proj->bias;
  const auto& b_out = attn.out_proj->bias;
  torch::Tensor pad_qkv;  // CoreNet numerics: qkv of the window padding token
  if (!valid_len.defined()) {
    pad_qkv = torch::empty({1, 3 * C}, y.options());
    linear_into(pad_qkv, pad_token.reshape({1, C}).to(y.scalar_type()), w_qkv, b_qkv, LinearEpilogue::kStore);
    pad_qkv = pad_qkv.reshape({3 * C});
  }
  const auto whole = whole_windows(s, window);
  torch::Tensor live;  // windows without a valid key are not run: their tokens get nothing added
  const auto tasks = window_tasks(s, window, &live);
  const std::vector<int64_t> norm_shape{C};
  // Every token is in exactly one window, so the tasks read and write disjoint rows of y.
  parallel_tasks(static_cast<int64_t>(tasks.size()), [&](int64_t t) {
    const auto run = window_run(s, whole, window, tasks[t].first, tasks[t].second);
    const int64_t n = run.g1 - run.g0;
    torch::Tensor x;  // (n*w, C): the windows' tokens; window padding as zero rows
    if (run.first >= 0) {
      x = rows.slice(0, run.first, run.first + n * window);
    } else if (run.whole) {
      x = rows.index_select(0, run.rows);
    } else {
      // Only the slots on the row are read (a padding slot's clamped row belongs to another task).
      x = torch::zeros({n * window, C}, y.options());
      const auto sel = run.on_row.nonzero().squeeze(1);
      x.index_copy_(0, sel, rows.index_select(0, run.rows.index_select(0, sel)));
    }
    const auto h = at::layer_norm(x, norm_shape, norm_weight, norm_bias, eps);
    auto qkv = torch::empty({n * window, 3 * C}, y.options());
    linear_into(qkv, h, w_qkv, b_qkv, LinearEpilogue::kStore);
    if (!run.whole && pad_qkv.defined()) qkv.index_put_({run.on_row.logical_not()}, pad_qkv);
    auto heads = torch::empty({n, window, C}, y.options());
    attend_heads(k, qkv, s.key_valid.defined() ? s.key_valid.slice(0, run.g0, run.g1) : torch::Tensor(), heads);
    const auto flat = heads.view({n * window, C});
    if (run.first >= 0) {
      auto dst = rows.slice(0, run.first, run.first + n * window);
      linear_into(dst, flat, w_out, b_out, LinearEpilogue::kAccumulate);  // the residual added in the product
      return;
    }
    auto out = torch::empty({n * window, C}, y.options());
    linear_into(out, flat, w_out, b_out, LinearEpilogue::kStore);
    if (run.whole) {
      rows.index_add_(0, run.rows, out);
    } else {
      const auto sel = run.on_row.nonzero().squeeze(1);
      rows.index_add_(0, run.rows.index_select(0, sel), out.index_select(0, sel));
    }
  });
}

}  // namespace byteformer
