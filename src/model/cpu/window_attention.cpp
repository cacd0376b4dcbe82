#include "byteformer/model/cpu/window_attention.h"

#include <cmath>
#include <limits>

#include "byteformer/model/cpu/cpu_parallel.h"
#include "byteformer/model/cpu/fast_linear.h"

namespace byteformer {

namespace {

// Where each window slot's token lives. Slot s = g * w + i of window g (row b = g / Wn).
struct SlotLayout {
  torch::Tensor row;        // (G*w) int64: b * N + p, clamped into the row for slots off it
  torch::Tensor on_row;     // (G*w) bool: 0 <= p < N (the slot is one of the N tokens)
  torch::Tensor key_valid;  // (G, w) bool (masked numerics), else undefined
  int64_t windows = 0;      // G
};

SlotLayout slot_layout(int64_t B, int64_t N, int64_t w, int64_t shift, const torch::Tensor& valid_len) {
  const bool masked = valid_len.defined();
  auto opts = torch::TensorOptions().dtype(torch::kLong);
  int64_t padded = 0;
  torch::Tensor p;  // (Np) position of slot j*w+i within the row, before the validity checks
  if (!masked) {
    // corenet_window: zero-pad to a multiple of w, roll left by `shift`.
    padded = N + (w - N % w) % w;
    p = torch::remainder(torch::arange(padded, opts) + shift, padded);
  } else {
    // masked_window: `left` slots in front so that windows start at the shift.
    const int64_t left = (w - shift % w) % w;
    padded = left + N + (w - (left + N) % w) % w;
    p = torch::arange(padded, opts) - left;
  }
  SlotLayout s;
  s.windows = B * padded / w;
  auto on_row = (p >= 0).logical_and(p < N);                                          // (Np)
  auto base = (torch::arange(B, opts) * N).unsqueeze(1);                              // (B, 1)
  s.row = (base + p.clamp(0, N - 1).unsqueeze(0)).reshape({-1});                      // (B*Np)
  s.on_row = on_row.unsqueeze(0).expand({B, padded}).reshape({-1});
  if (masked) {
    auto valid = on_row.unsqueeze(0).logical_and(p.unsqueeze(0) < valid_len.to(torch::kLong).unsqueeze(1));
    s.key_valid = valid.reshape({s.windows, w});
  }
  return s;
}

struct Shapes {
  int64_t w, C, H, d;
  double scale;
};

// Attention of windows [g0, g1): reads their rows of qkv (in place when they are consecutive
// tokens, else gathered, window padding from pad_qkv), attends per head, writes each token's
// output row to heads (B*N, C).
void attend_windows(const Shapes& k, const torch::Tensor& qkv, const torch::Tensor& pad_qkv, const SlotLayout& s,
                    const std::vector<uint8_t>& all_on_row, torch::Tensor& heads,
                    int64_t g0, int64_t g1) {
  const int64_t n = g1 - g0, w = k.w, C = k.C, d = k.d;
  auto rows_idx = s.row.slice(0, g0 * w, g1 * w);
  bool whole = true;
  for (int64_t g = g0; g < g1; ++g) whole = whole && all_on_row[g];
  // Windows whose slots are consecutive tokens (every window but the wrapped or padded ones):
  // their q, k, v are read in place and their outputs written in place, no gather or scatter.
  bool in_place = whole;
  const int64_t* idx = rows_idx.data_ptr<int64_t>();
  for (int64_t j = 1; in_place && j < n * w; ++j) in_place = idx[j] == idx[0] + j;
  torch::Tensor rows, out, on_row;
  if (in_place) {
    rows = qkv.slice(0, idx[0], idx[0] + n * w);     // (n*w, 3C), a view
    out = heads.slice(0, idx[0], idx[0] + n * w).view({n, w, C});
  } else {
    rows = qkv.index_select(0, rows_idx);  // (n*w, 3C)
    out = torch::empty({n, w, C}, qkv.options());
    if (!whole) {
      on_row = s.on_row.slice(0, g0 * w, g1 * w);
      // CoreNet numerics: window padding is the norm of a zero token; masked: never a valid key,
      // its output is dropped, so any finite row does.
      if (pad_qkv.defined()) rows.index_put_({on_row.logical_not()}, pad_qkv);
    }
  }
  auto r = rows.view({n, w, 3 * C});
  auto scores = torch::empty({n, w, w}, qkv.options());
  for (int64_t h = 0; h < k.H; ++h) {
    const auto q = r.slice(2, h * d, (h + 1) * d);                                // (n, w, d), row stride 3C
    const auto kt = r.slice(2, C + h * d, C + (h + 1) * d).transpose(1, 2);      // (n, d, w), column stride 3C
    const auto v = r.slice(2, 2 * C + h * d, 2 * C + (h + 1) * d);               // (n, w, d)
    // scores = (q k^T) / sqrt(d): MultiHeadAttention scales q first, the same up to rounding.
    batched_matmul_into(scores, q, kt, k.scale);  // (n, w, w)
    if (s.key_valid.defined()) {
      scores.masked_fill_(s.key_valid.slice(0, g0, g1).logical_not().unsqueeze(1),
                          -std::numeric_limits<double>::infinity());
    }
    // Softmax in place, per row, in the tokens' float32 or float64 (this path's dtypes).
    at::_softmax_out(scores, scores, /*dim=*/-1, /*half_to_float=*/false);
    auto o = out.slice(2, h * d, (h + 1) * d);  // (n, w, d), row stride C
    batched_matmul_into(o, scores, v, 1.0);
  }
  if (in_place) return;
  auto flat = out.view({n * w, C});
  if (whole) {
    heads.index_copy_(0, rows_idx, flat);
  } else {
    auto sel = on_row.nonzero().squeeze(1);
    heads.index_copy_(0, rows_idx.index_select(0, sel), flat.index_select(0, sel));
  }
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

  // Per window: are all its slots tokens of the row (no padding to patch, no output to drop)?
  auto whole_t = s.on_row.view({G, window}).all(1).to(torch::kUInt8).contiguous();
  std::vector<uint8_t> whole(whole_t.data_ptr<uint8_t>(), whole_t.data_ptr<uint8_t>() + G);

  torch::Tensor live;
  std::vector<int64_t> live_windows;
  if (s.key_valid.defined()) {
    // A window without a valid key: its tokens get zeros (MultiHeadAttention's rule), so it is
    // not computed at all.
    live = s.key_valid.any(1);
    auto any_c = live.to(torch::kUInt8).contiguous();
    for (int64_t g = 0; g < G; ++g)
      if (any_c.data_ptr<uint8_t>()[g]) live_windows.push_back(g);
  } else {
    live_windows.resize(G);
    for (int64_t g = 0; g < G; ++g) live_windows[g] = g;
  }
  const bool some_dead = static_cast<int64_t>(live_windows.size()) < G;
  auto heads = some_dead ? torch::zeros({B * N, C}, qkv.options()) : torch::empty({B * N, C}, qkv.options());

  // Runs of consecutive live windows, cut into chunks of a few windows (each head's scores
  // stay in cache).
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
  parallel_tasks(static_cast<int64_t>(tasks.size()), [&](int64_t t) {
    attend_windows(k, qkv, pad_qkv, s, whole, heads, tasks[t].first, tasks[t].second);
  });
  auto out = torch::empty({B * N, C}, qkv.options());  // (B*N, C)
  linear_into(out, heads, attn.out_proj->weight.contiguous(), attn.out_proj->bias, LinearEpilogue::kStore);
  if (some_dead) {
    // Tokens of windows without a valid key: zeros, not out_proj's bias.
    auto token_live = live.view({G, 1}).expand({G, window}).reshape({-1});
    auto dead_rows = s.row.masked_select(token_live.logical_not().logical_and(s.on_row));
    out.index_fill_(0, dead_rows, 0.0);
  }
  return out.view({B, N, C});
}

}  // namespace byteformer
