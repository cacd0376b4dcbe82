// The training table of the fused token reduction (byteformer.cpp, embed_and_reduce): the
// embedding followed by CoreNet's Conv1d (`token_reduction_net`) is linear in one-hot bytes, so
// token n is the sum of k table rows, one per kernel position j, picked by the byte there.
#pragma once
#include <torch/torch.h>

namespace byteformer {

/// The (V * k, C_out) table whose row v * k + j is E'[v] W[:, :, j]^T, for embedding (V, C_in)
/// and Conv1d weight (C_out, C_in, k), E' being E with its last row (padding) taken as zero:
/// rows by byte value, as one (V, C_in) x (C_in, k * C_out) product lays them out, so neither
/// the forward nor the backward copies the 11 MB table into another order (the quickstart
/// model: V = 257, C = 64, k = 168). With autograd: dE (the padding row zero, as the Embedding
/// it replaces gives it no gradient) and dW.
///
/// On CPU float32 the three products (the table, dE, dW) go through oneDNN when it is enabled
/// (batched_matmul_into), and W's and dW's reorders are plain 2-D transposes; elsewhere
/// (float64, CUDA, oneDNN off) the same products through LibTorch's operators.
torch::Tensor reduction_table_by_value(const torch::Tensor& embedding, const torch::Tensor& conv_weight);

}  // namespace byteformer
