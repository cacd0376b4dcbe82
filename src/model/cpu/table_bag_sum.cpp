#include "byteformer/model/cpu/table_bag_sum.h"

#include "byteformer/model/cpu/cpu_parallel.h"

namespace byteformer {

namespace {

torch::Tensor bag_sum_forward(const torch::Tensor& table, const torch::Tensor& bags, int64_t k) {
  const auto starts = torch::arange(0, bags.numel(), k, bags.options());
  return std::get<0>(torch::embedding_bag(table, bags, starts, /*scale_grad_by_freq=*/false, /*mode=*/0 /* sum */));
}

class TableBagSum : public torch::autograd::Function<TableBagSum> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& table,
                               const torch::Tensor& bags, int64_t k) {
    ctx->save_for_backward({bags});
    ctx->saved_data["k"] = k;
    ctx->saved_data["rows"] = table.size(0);
    return bag_sum_forward(table, bags, k);  // (M, C)
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto bags = ctx->get_saved_variables()[0].contiguous();
    const int64_t k = ctx->saved_data["k"].toInt();
    const int64_t rows = ctx->saved_data["rows"].toInt();
    const auto g = grads[0].contiguous();  // (M, C)
    const int64_t M = g.size(0), C = g.size(1);
    auto dtable = torch::zeros({rows, C}, g.options());  // (k*V, C)
    const int64_t* ids = bags.data_ptr<int64_t>();
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "table_bag_sum_backward", [&] {
      const scalar_t* src = g.data_ptr<scalar_t>();
      scalar_t* dst = dtable.data_ptr<scalar_t>();
      parallel_tasks(k, [&](int64_t j) {  // block j of the table belongs to this task alone
        for (int64_t m = 0; m < M; ++m) {
          scalar_t* row = dst + ids[m * k + j] * C;
          const scalar_t* from = src + m * C;
          for (int64_t c = 0; c < C; ++c) row[c] += from[c];
        }
      });
    });
    return {dtable, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor table_bag_sum(const torch::Tensor& table, const torch::Tensor& bags, int64_t k) {
  TORCH_CHECK(table.dim() == 2 && bags.dim() == 1 && k > 0 && bags.numel() % k == 0,
              "table_bag_sum: expected a (rows, C) table and k * M row ids, got ", table.sizes(), ", ", bags.sizes(),
              ", k = ", k);
  if (!torch::GradMode::is_enabled() || !table.requires_grad() || !cpu_float_outside_autocast(table))
    return bag_sum_forward(table, bags, k);
  return TableBagSum::apply(table, bags, k);
}

}  // namespace byteformer
