#include "byteformer/model/init.h"

#include <cmath>

namespace byteformer {

torch::Tensor& trunc_normal_(torch::Tensor& t, double std, double mean, double a, double b) {
  torch::NoGradGuard no_grad;
  auto cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
  const double l = cdf((a - mean) / std), u = cdf((b - mean) / std);
  t.uniform_(2 * l - 1, 2 * u - 1);
  t.erfinv_();
  t.mul_(std * std::sqrt(2.0));
  t.add_(mean);
  t.clamp_(a, b);
  return t;
}

}  // namespace byteformer
