#include "model/cpu/train_attention.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "model/cpu/cpu_parallel.h"
#include "model/cpu/fast_linear.h"
#include "row_norm.h"
#include "small_window_attention.h"
#include "window_slots.h"

namespace byteformer {

namespace {

// Rows (window slots) per task: a (512, 3C) qkv of C = 64 is 384 KB, inside one core's L2.
constexpr int64_t kTaskRows = 512;

// The windows with a valid key (the others give their tokens zeros and cost nothing), their
// slots in order, and which task takes which.
struct TaskPlan {
  torch::Tensor rows;       // (R) int64: the token row (b * N + p) of each slot of a live window
  torch::Tensor on_row;     // (R) bool: the slot holds one of the N tokens (else window padding)
  torch::Tensor key_valid;  // (Gl, w) bool
  int64_t windows = 0;      // Gl, windows with a valid key
  int64_t per_task = 1;     // windows per task
  int64_t tasks() const { return (windows + per_task - 1) / per_task; }
};

TaskPlan plan_tasks(int64_t B, int64_t N, int64_t w, int64_t shift, const torch::Tensor& valid_len) {
  const auto s = slot_layout(B, N, w, shift, valid_len.to(torch::kCPU));
  const auto live = s.key_valid.any(1).nonzero().squeeze(1);  // (Gl)
  const auto slots = (live.unsqueeze(1) * w + torch::arange(w, live.options())).reshape({-1});  // (Gl*w)
  TaskPlan p;
  p.rows = s.row.index_select(0, slots).contiguous();
  p.on_row = s.on_row.index_select(0, slots).contiguous();
  p.key_valid = s.key_valid.index_select(0, live).contiguous();
  p.windows = live.size(0);
  p.per_task = std::max<int64_t>(1, kTaskRows / w);
  return p;
}

// Task t's windows [g0, g1) and slots [r0, r1) = [g0 w, g1 w).
struct TaskRange {
  int64_t g0, g1, r0, r1;
};

TaskRange task_range(const TaskPlan& p, int64_t w, int64_t t) {
  const int64_t g0 = t * p.per_task, g1 = std::min(p.windows, g0 + p.per_task);
  return {g0, g1, g0 * w, g1 * w};
}

// The task's slots that hold tokens (their index among the task's slots) and those tokens' rows.
struct TaskTokens {
  std::vector<int64_t> local, rows;
};

TaskTokens task_tokens(const TaskPlan& p, const TaskRange& r) {
  TaskTokens tt;
  const int64_t* rows = p.rows.data_ptr<int64_t>();
  const bool* on = p.on_row.data_ptr<bool>();
  for (int64_t i = r.r0; i < r.r1; ++i) {
    if (!on[i]) continue;
    tt.local.push_back(i - r.r0);
    tt.rows.push_back(rows[i]);
  }
  return tt;
}

// (r, C): the task's slots' rows of `src` (B*N, C) contiguous; zero rows for window padding.
// Row copies by hand: ATen's index_select / index_copy_ / index_add_ cost more in dispatch and
// setup than these few hundred rows of C floats.
torch::Tensor gather_slots(const torch::Tensor& src, const TaskTokens& tt, int64_t r) {
  const int64_t C = src.size(1), n = static_cast<int64_t>(tt.rows.size());
  auto out = n == r ? torch::empty({r, C}, src.options()) : torch::zeros({r, C}, src.options());
  AT_DISPATCH_FLOATING_TYPES(src.scalar_type(), "gather_slots", [&] {
    const scalar_t* from = src.data_ptr<scalar_t>();
    scalar_t* to = out.data_ptr<scalar_t>();
    for (int64_t i = 0; i < n; ++i) std::memcpy(to + tt.local[i] * C, from + tt.rows[i] * C, sizeof(scalar_t) * C);
  });
  return out;
}

// dst (B*N, C) contiguous: the rows of the task's tokens += their slots' rows of `slots` (r, C).
void add_to_tokens(torch::Tensor& dst, const torch::Tensor& slots_in, const TaskTokens& tt) {
  const auto slots = slots_in.contiguous();
  const int64_t C = dst.size(1), n = static_cast<int64_t>(tt.rows.size());
  AT_DISPATCH_FLOATING_TYPES(dst.scalar_type(), "add_to_tokens", [&] {
    const scalar_t* from = slots.data_ptr<scalar_t>();
    scalar_t* to = dst.data_ptr<scalar_t>();
    for (int64_t i = 0; i < n; ++i) {
      scalar_t* row = to + tt.rows[i] * C;
      const scalar_t* add = from + tt.local[i] * C;
      for (int64_t c = 0; c < C; ++c) row[c] += add[c];
    }
  });
}

// (n, H, w, C / H): the H heads of columns [first, first + C) of (n, w, >= first + C) rows.
torch::Tensor heads_of(const torch::Tensor& rows, int64_t first, int64_t C, int64_t heads) {
  return rows.slice(2, first, first + C).view({rows.size(0), rows.size(1), heads, C / heads}).permute({0, 2, 1, 3});
}

// Whether the window-heads go to the hand-written kernels (float32, windows and heads small
// enough for their stack scratch) rather than to the library's batched products.
bool small_windows(const torch::Tensor& x, int64_t w, int64_t d) {
  return x.scalar_type() == torch::kFloat && w <= kSmallWindow && d <= kSmallHead;
}

class AttentionSublayer : public torch::autograd::Function<AttentionSublayer> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& norm_w, const torch::Tensor& norm_b, const torch::Tensor& qkv_w,
                               const torch::Tensor& qkv_b, const torch::Tensor& out_w, const torch::Tensor& out_b,
                               const torch::Tensor& valid_len, int64_t window, int64_t shift, int64_t heads,
                               double eps) {
    const int64_t B = x.size(0), N = x.size(1), C = x.size(2), w = window, d = C / heads;
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    const auto plan = plan_tasks(B, N, w, shift, valid_len);
    const int64_t R = plan.windows * w;
    const auto rows = x.reshape({B * N, C}).contiguous();  // (B*N, C)
    auto y = rows.clone();
    const auto o = rows.options();
    auto hn = torch::empty({R, C}, o);                          // normalised slots, saved
    auto mean = torch::empty({R, 1}, o), rstd = torch::empty({R, 1}, o);
    auto qkv = torch::empty({R, 3 * C}, o);                     // saved, q unscaled
    auto probs = torch::empty({plan.windows, heads, w, w}, o);  // saved
    const bool small = small_windows(x, w, d);
    const bool* key_valid_p = plan.key_valid.data_ptr<bool>();
    // (Gl, 1, 1, w): 0 for a valid key, -inf for a masked one (the library products' path).
    torch::Tensor key_bias;
    if (!small)
      key_bias = torch::zeros({plan.windows, 1, 1, w}, o).masked_fill_(
          plan.key_valid.logical_not().view({plan.windows, 1, 1, w}), -std::numeric_limits<double>::infinity());
    auto att = torch::empty({R, C}, o);                         // the heads' output, saved
    const auto qkv_wc = qkv_w.contiguous(), out_wc = out_w.contiguous();
    parallel_tasks(plan.tasks(), [&](int64_t t) {
      const auto r = task_range(plan, w, t);
      const int64_t n = r.g1 - r.g0, m = r.r1 - r.r0;
      const auto tt = task_tokens(plan, r);
      const auto xs = gather_slots(rows, tt, m);  // (m, C)
      const auto h = hn.slice(0, r.r0, r.r1);  // (m, C)
      norm_rows_into(xs, norm_w, norm_b, eps, h, mean.slice(0, r.r0, r.r1), rstd.slice(0, r.r0, r.r1));
      auto qkv_t = qkv.slice(0, r.r0, r.r1);  // (m, 3C)
      linear_into(qkv_t, h, qkv_wc, qkv_b, LinearEpilogue::kStore);
      if (small) {
        // Each window-head by hand (small_window_attention.h).
        const float* qkv_p = qkv_t.data_ptr<float>();
        float* probs_p = probs.data_ptr<float>();
        float* att_p = att.data_ptr<float>() + r.r0 * C;
        for (int64_t g = r.g0; g < r.g1; ++g) {
          const int64_t row0 = (g - r.g0) * w;
          for (int64_t hd = 0; hd < heads; ++hd) {
            const float* q = qkv_p + row0 * 3 * C + hd * d;
            const SmallWindowHead head{q, q + C, q + 2 * C, 3 * C, key_valid_p + g * w, w, d, static_cast<float>(scale)};
            small_window_forward(head, probs_p + (g * heads + hd) * w * w, att_p + row0 * C + hd * d, C);
          }
        }
      } else {
        // All heads of the task's windows at once: (n, H, w, d) views of the qkv and output rows.
        const auto q3 = qkv_t.view({n, w, 3 * C});
        auto p = probs.slice(0, r.g0, r.g1);  // (n, H, w, w)
        batched_matmul_into(p, heads_of(q3, 0, C, heads), heads_of(q3, C, C, heads).transpose(2, 3), scale);
        p.add_(key_bias.slice(0, r.g0, r.g1));  // -inf at masked keys (a broadcast add: 10x masked_fill_'s speed)
        at::_softmax_out(p, p, /*dim=*/-1, /*half_to_float=*/false);
        auto a = heads_of(att.slice(0, r.r0, r.r1).view({n, w, C}), 0, C, heads);
        batched_matmul_into(a, p, heads_of(q3, 2 * C, C, heads), 1.0);
      }
      auto out = torch::empty({m, C}, o);
      linear_into(out, att.slice(0, r.r0, r.r1), out_wc, out_b, LinearEpilogue::kStore);
      add_to_tokens(y, out, tt);
    });
    ctx->save_for_backward({x, norm_w, norm_b, qkv_wc, out_wc, hn, mean, rstd, qkv, probs, att, plan.rows,
                            plan.on_row, plan.key_valid});
    ctx->saved_data["window"] = w;
    ctx->saved_data["per_task"] = plan.per_task;
    ctx->saved_data["heads"] = heads;
    return y.view({B, N, C});
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    torch::NoGradGuard no_grad;
    const auto s = ctx->get_saved_variables();
    const auto &x = s[0], &norm_w = s[1], &norm_b = s[2], &qkv_w = s[3], &out_w = s[4];
    const auto &hn = s[5], &mean = s[6], &rstd = s[7], &qkv = s[8], &probs = s[9], &att = s[10];
    TaskPlan plan;
    plan.rows = s[11];
    plan.on_row = s[12];
    plan.key_valid = s[13];
    plan.windows = plan.key_valid.size(0);
    plan.per_task = ctx->saved_data["per_task"].toInt();
    const int64_t w = ctx->saved_data["window"].toInt(), heads = ctx->saved_data["heads"].toInt();
    const int64_t B = x.size(0), N = x.size(1), C = x.size(2), d = C / heads, T = plan.tasks();
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    const bool small = small_windows(x, w, d);
    const bool* key_valid_p = plan.key_valid.data_ptr<bool>();
    const auto rows = x.reshape({B * N, C}).contiguous();
    const auto dy = grads[0].reshape({B * N, C}).contiguous();  // (B*N, C)
    auto dx = dy.clone();                                        // the residual's share
    const auto o = rows.options();
    // Per group of tasks (cpu_parallel.h): partial sums of the parameters' gradients.
    const int64_t G = task_groups(T, kMaxGradientGroups);
    auto d_qkv_w = torch::zeros({G, 3 * C, C}, o), d_qkv_b = torch::zeros({G, 3 * C}, o);
    auto d_out_w = torch::zeros({G, C, C}, o), d_out_b = torch::zeros({G, C}, o);
    auto d_norm_w = torch::zeros({G, C}, o), d_norm_b = torch::zeros({G, C}, o);
    const auto out_wt = out_w.t().contiguous(), qkv_wt = qkv_w.t().contiguous();  // (C, C), (C, 3C)
    parallel_task_groups(T, kMaxGradientGroups, [&](int64_t t, int64_t gi) {
      const auto r = task_range(plan, w, t);
      const int64_t n = r.g1 - r.g0, m = r.r1 - r.r0;
      const auto tt = task_tokens(plan, r);
      const auto dout = gather_slots(dy, tt, m);  // (m, C); window padding's outputs were dropped
      const auto att_t = att.slice(0, r.r0, r.r1);
      d_out_b[gi].add_(dout.sum(0));
      add_weight_gradient(d_out_w[gi], dout, att_t);  // dW_out += dOut^T A
      auto da = torch::empty({m, C}, o);
      linear_into(da, dout, out_wt, torch::Tensor(), LinearEpilogue::kStore);  // dA = dOut W_out
      auto dqkv = torch::empty({m, 3 * C}, o);
      if (small) {
        const float* qkv_p = qkv.data_ptr<float>() + r.r0 * 3 * C;
        const float* probs_p = probs.data_ptr<float>();
        const float* da_p = da.data_ptr<float>();
        float* dqkv_p = dqkv.data_ptr<float>();
        for (int64_t g = r.g0; g < r.g1; ++g) {
          const int64_t row0 = (g - r.g0) * w;
          for (int64_t hd = 0; hd < heads; ++hd) {
            const float* q = qkv_p + row0 * 3 * C + hd * d;
            const SmallWindowHead head{q, q + C, q + 2 * C, 3 * C, key_valid_p + g * w, w, d, static_cast<float>(scale)};
            float* dq = dqkv_p + row0 * 3 * C + hd * d;
            small_window_backward(head, probs_p + (g * heads + hd) * w * w, da_p + row0 * C + hd * d, C, dq, dq + C,
                                  dq + 2 * C, 3 * C);
          }
        }
      } else {
        const auto q3 = qkv.slice(0, r.r0, r.r1).view({n, w, 3 * C});
        auto dq3 = dqkv.view({n, w, 3 * C});
        const auto da3 = da.view({n, w, C});
        const auto p = probs.slice(0, r.g0, r.g1);  // (n, H, w, w)
        const auto q = heads_of(q3, 0, C, heads), k = heads_of(q3, C, C, heads), v = heads_of(q3, 2 * C, C, heads);
        const auto ga = heads_of(da3, 0, C, heads);  // (n, H, w, d)
        auto dq = heads_of(dq3, 0, C, heads), dk = heads_of(dq3, C, C, heads), dv = heads_of(dq3, 2 * C, C, heads);
        // The transposed left operands as copies: oneDNN's path reads its left operand by rows.
        batched_matmul_into(dv, p.transpose(2, 3).contiguous(), ga, 1.0);  // dV = P^T dA
        auto dp = torch::empty({n, heads, w, w}, o);
        batched_matmul_into(dp, ga, v.transpose(2, 3), 1.0);                    // dP = dA V^T
        const auto ds = at::_softmax_backward_data(dp, p, -1, p.scalar_type());  // P (dP - rowsum(dP P))
        batched_matmul_into(dq, ds, k, scale);                                   // dQ = s dS K
        batched_matmul_into(dk, ds.transpose(2, 3).contiguous(), q, scale);     // dK = s dS^T Q
      }
      d_qkv_b[gi].add_(dqkv.sum(0));
      add_weight_gradient(d_qkv_w[gi], dqkv, hn.slice(0, r.r0, r.r1));  // dW_qkv += dQKV^T Hn
      auto dhn = torch::empty({m, C}, o);
      linear_into(dhn, dqkv, qkv_wt, torch::Tensor(), LinearEpilogue::kStore);  // dHn = dQKV W_qkv
      const auto xs = gather_slots(rows, tt, m);
      const auto dxs = norm_rows_backward(dhn, xs, mean.slice(0, r.r0, r.r1), rstd.slice(0, r.r0, r.r1), norm_w,
                                          norm_b, d_norm_w[gi], d_norm_b[gi]);
      add_to_tokens(dx, dxs, tt);
    });
    return {dx.view({B, N, C}), d_norm_w.sum(0), d_norm_b.sum(0), d_qkv_w.sum(0), d_qkv_b.sum(0), d_out_w.sum(0),
            d_out_b.sum(0),  torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor train_attention_sublayer(const torch::Tensor& x, const torch::Tensor& valid_len, int64_t window,
                                       int64_t shift, const AttentionSublayerWeights& wt) {
  TORCH_CHECK(x.dim() == 3 && x.size(0) > 0 && x.size(1) > 0, "train_attention_sublayer: expected x (B, N, C), got ",
              x.sizes());
  const int64_t B = x.size(0), C = x.size(2);
  TORCH_CHECK(valid_len.defined() && valid_len.dim() == 1 && valid_len.size(0) == B,
              "train_attention_sublayer: expected valid_len (", B, ") (masked numerics)");
  TORCH_CHECK(window > 0 && shift >= 0 && wt.num_heads > 0 && C % wt.num_heads == 0,
              "train_attention_sublayer: window ", window, ", shift ", shift, ", ", wt.num_heads, " heads for C = ", C);
  TORCH_CHECK(wt.norm_weight.sizes() == torch::IntArrayRef({C}) && wt.norm_bias.sizes() == torch::IntArrayRef({C}) &&
                  wt.qkv_weight.sizes() == torch::IntArrayRef({3 * C, C}) &&
                  wt.qkv_bias.sizes() == torch::IntArrayRef({3 * C}) &&
                  wt.out_weight.sizes() == torch::IntArrayRef({C, C}) && wt.out_bias.sizes() == torch::IntArrayRef({C}),
              "train_attention_sublayer: parameter shapes do not match C = ", C);
  for (const auto* t : {&x, &wt.norm_weight, &wt.norm_bias, &wt.qkv_weight, &wt.qkv_bias, &wt.out_weight, &wt.out_bias})
    TORCH_CHECK(t->device().is_cpu() && t->scalar_type() == x.scalar_type() &&
                    (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble),
                "train_attention_sublayer: expected CPU tensors, all float32 or all float64");
  return AttentionSublayer::apply(x, wt.norm_weight, wt.norm_bias, wt.qkv_weight, wt.qkv_bias, wt.out_weight,
                                  wt.out_bias, valid_len, window, shift, wt.num_heads, wt.eps);
}

}  // namespace byteformer
