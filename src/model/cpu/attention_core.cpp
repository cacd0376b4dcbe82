#include "model/cpu/attention_core.h"

#include <limits>

#include "model/cpu/cpu_parallel.h"
#include "model/cpu/fast_linear.h"

namespace byteformer {

namespace {

// Runs fn(begin, end) over [0, n) window-heads in chunks (parallel_tasks).
template <typename Fn>
void over_chunks(int64_t n, int64_t chunk, const Fn& fn) {
  parallel_tasks((n + chunk - 1) / chunk, [&](int64_t t) { fn(t * chunk, std::min(n, (t + 1) * chunk)); });
}

class SoftmaxAttention : public torch::autograd::Function<SoftmaxAttention> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q_in,
                               const torch::Tensor& k_in, const torch::Tensor& v_in, const torch::Tensor& keep) {
    const int64_t G = q_in.size(0), H = q_in.size(1), w = q_in.size(2), d = q_in.size(3);
    // (G*H, w, d), contiguous: window-head i is window i / H, head i % H.
    auto q = q_in.contiguous().view({G * H, w, d});
    auto k = k_in.contiguous().view({G * H, w, d});
    auto v = v_in.contiguous().view({G * H, w, d});
    auto probs = torch::empty({G * H, w, w}, q.options());
    auto out = torch::empty({G * H, w, d}, q.options());
    torch::Tensor masked;  // (G, 1, w): keys to exclude
    if (keep.numel() > 0) masked = keep.logical_not().view({G, 1, w});
    // Chunks of whole windows (all H heads), so that a chunk's mask is a slice of `masked`.
    over_chunks(G * H, H * std::max<int64_t>(1, windows_per_task(w) / H), [&](int64_t a, int64_t b) {
      auto scores = torch::empty({b - a, w, w}, q.options());  // (b - a, w, w)
      batched_matmul_into(scores, q.slice(0, a, b), k.slice(0, a, b).transpose(1, 2), 1.0);
      if (masked.defined()) {
        scores.view({(b - a) / H, H, w, w})
            .masked_fill_(masked.slice(0, a / H, b / H).unsqueeze(1), -std::numeric_limits<double>::infinity());
      }
      auto p = probs.slice(0, a, b);
      at::_softmax_out(p, scores, -1, false);
      auto o = out.slice(0, a, b);
      batched_matmul_into(o, p, v.slice(0, a, b), 1.0);
    });
    ctx->save_for_backward({q, k, v, probs});
    ctx->saved_data["shape"] = std::vector<int64_t>{G, H, w, d};
    return out.view({G, H, w, d});
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& q = saved[0];
    const auto& k = saved[1];
    const auto& v = saved[2];
    const auto& probs = saved[3];
    const auto shape = ctx->saved_data["shape"].toIntVector();
    const int64_t GH = shape[0] * shape[1], w = shape[2], d = shape[3];
    auto dout = grads[0].contiguous().view({GH, w, d});
    auto dq = torch::empty_like(q), dk = torch::empty_like(k), dv = torch::empty_like(v);
    over_chunks(GH, windows_per_task(w), [&](int64_t a, int64_t b) {
      auto p = probs.slice(0, a, b);
      auto go = dout.slice(0, a, b);
      auto dv_c = dv.slice(0, a, b);
      // The transposed left operands as copies: batched_matmul_into's oneDNN path reads its left
      // operand by rows (a (w, w) copy is small beside the products).
      batched_matmul_into(dv_c, p.transpose(1, 2).contiguous(), go, 1.0);  // dV = P^T dO
      auto dp = torch::empty({b - a, w, w}, go.options());
      batched_matmul_into(dp, go, v.slice(0, a, b).transpose(1, 2), 1.0);  // dP = dO V^T
      auto ds = at::_softmax_backward_data(dp, p, -1, p.scalar_type());  // P * (dP - rowsum(dP * P))
      auto dq_c = dq.slice(0, a, b), dk_c = dk.slice(0, a, b);
      batched_matmul_into(dq_c, ds, k.slice(0, a, b), 1.0);                  // dQ = dS K
      batched_matmul_into(dk_c, ds.transpose(1, 2).contiguous(), q.slice(0, a, b), 1.0);  // dK = dS^T Q
    });
    const auto sizes = c10::IntArrayRef(shape);
    return {dq.view(sizes), dk.view(sizes), dv.view(sizes), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor windowed_softmax_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                         const torch::Tensor& keep) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.sizes() == q.sizes(),
              "windowed_softmax_attention: expected q, k, v of one shape (G, H, w, d), got ", q.sizes(), ", ",
              k.sizes(), ", ", v.sizes());
  TORCH_CHECK(!keep.defined() || (keep.dim() == 2 && keep.size(0) == q.size(0) && keep.size(1) == q.size(2)),
              "windowed_softmax_attention: keep mask ", keep.sizes(), " does not match windows ", q.sizes());
  // Function::apply takes no undefined tensor: "no mask" travels as an empty one.
  return SoftmaxAttention::apply(q, k, v, keep.defined() ? keep : torch::empty({0}, torch::kBool));
}

}  // namespace byteformer
