// Weight initialisers LibTorch's C++ API lacks.
#pragma once
#include <torch/torch.h>

namespace byteformer {

/// torch.nn.init.trunc_normal_(t, mean, std, a, b) with PyTorch's algorithm (inverse CDF of a
/// uniform draw); a and b are absolute bounds, -2 and 2 by default, as in PyTorch.
torch::Tensor& trunc_normal_(torch::Tensor& t, double std, double mean = 0.0, double a = -2.0, double b = 2.0);

}  // namespace byteformer
