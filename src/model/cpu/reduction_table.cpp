#include "model/cpu/reduction_table.h"

#include "model/cpu/fast_linear.h"

namespace byteformer {

namespace {

// W (C_out, C_in, k) as the product's right factor: w2[d][j * C_out + c] = W[c][d][j], which is
// W viewed as (C_out, C_in * k) and transposed (LibTorch copies a 2-D transpose in cache blocks).
torch::Tensor right_factor(const torch::Tensor& w) {
  const int64_t C_out = w.size(0), C_in = w.size(1), k = w.size(2);
  return w.reshape({C_out, C_in * k}).t().contiguous().view({C_in, k * C_out});  // (C_in, k * C_out)
}

// E with its padding row (the last) zero (autograd records the clone and the zeroing alike).
torch::Tensor left_factor(const torch::Tensor& e) {
  auto em = e.clone();  // (V, C_in)
  em.select(0, e.size(0) - 1).zero_();
  return em;
}

// out (M, N) = a (M, K) b (K, N) through batched_matmul_into (oneDNN for float32 when enabled).
torch::Tensor product(const torch::Tensor& a, const torch::Tensor& b) {
  auto out = torch::empty({1, a.size(0), b.size(1)}, a.options());  // (1, M, N)
  batched_matmul_into(out, a.unsqueeze(0), b.unsqueeze(0), /*alpha=*/1.0);
  return out.squeeze(0);
}

class ReductionTable : public torch::autograd::Function<ReductionTable> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& embedding,
                               const torch::Tensor& conv_weight) {
    const auto em = left_factor(embedding);     // (V, C_in)
    const auto w2 = right_factor(conv_weight);  // (C_in, k * C_out)
    ctx->saved_data["em"] = em;
    ctx->saved_data["w2"] = w2;
    return product(em, w2).view({-1, conv_weight.size(0)});  // (V * k, C_out)
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto em = ctx->saved_data["em"].toTensor();  // (V, C_in)
    const auto w2 = ctx->saved_data["w2"].toTensor();  // (C_in, k * C_out)
    const int64_t V = em.size(0), C_in = em.size(1), kC = w2.size(1);
    const auto g = grads[0].contiguous().view({V, kC});  // (V, k * C_out)
    auto d_embedding = product(g, w2.t());                // (V, C_in)
    d_embedding.select(0, V - 1).zero_();
    const auto d_w2 = product(em.t().contiguous(), g);  // (C_in, k * C_out)
    const int64_t C_out = grads[0].size(1), k = kC / C_out;
    auto d_weight = d_w2.view({C_in * k, C_out}).t().contiguous().view({C_out, C_in, k});  // (C_out, C_in, k)
    return {d_embedding, d_weight};
  }
};

}  // namespace

torch::Tensor reduction_table_by_value(const torch::Tensor& embedding, const torch::Tensor& conv_weight) {
  TORCH_CHECK(embedding.dim() == 2 && conv_weight.dim() == 3 && conv_weight.size(1) == embedding.size(1) &&
                  embedding.size(0) > 0,
              "reduction_table_by_value: expected an embedding (V, C_in) and a Conv1d weight (C_out, C_in, k), got ",
              embedding.sizes(), " and ", conv_weight.sizes());
  if (!(embedding.device().is_cpu() && conv_weight.device().is_cpu() &&
        embedding.scalar_type() == conv_weight.scalar_type() &&
        (embedding.scalar_type() == torch::kFloat || embedding.scalar_type() == torch::kDouble))) {
    // LibTorch's operators (CUDA, say): the same factors and product, autograd's backward (the
    // padding row's zeroing in place on a clone gives it no gradient).
    return torch::mm(left_factor(embedding), right_factor(conv_weight)).view({-1, conv_weight.size(0)});
  }
  return ReductionTable::apply(embedding, conv_weight);
}

}  // namespace byteformer
